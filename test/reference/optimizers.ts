/**
 * Reference optimizer steps in float64, written from PyTorch's documented
 * algorithms (torch.optim.SGD, Adam, AdamW; one parameter group, dampening 0,
 * no amsgrad/maximize): several steps of one parameter tensor.
 */

export interface SgdReferenceOptions {
  nesterov?: boolean;
  weightDecay?: number;
}

/**
 * torch.optim.SGD: g ← g + λθ; if μ ≠ 0: b ← g on the first step, else b ← μb + g;
 * g ← g + μb (Nesterov) or g ← b; θ ← θ − γg.
 */
export function sgdSteps(
  p0: ArrayLike<number>, grads: ArrayLike<number>[], lr: number, momentum: number, options: SgdReferenceOptions = {},
): Float64Array {
  const { nesterov = false, weightDecay = 0 } = options;
  const p = Float64Array.from(p0 as ArrayLike<number>);
  const b = new Float64Array(p.length);
  grads.forEach((grad, t) => {
    for (let i = 0; i < p.length; i++) {
      let g = grad[i];
      if (weightDecay !== 0) g += weightDecay * p[i];
      if (momentum !== 0) {
        b[i] = t === 0 ? g : momentum * b[i] + g;
        g = nesterov ? g + momentum * b[i] : b[i];
      }
      p[i] -= lr * g;
    }
  });
  return p;
}

export interface AdamReferenceOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW: θ ← θ − γλθ before the step, instead of Adam's g ← g + λθ. */
  decoupled?: boolean;
}

/**
 * torch.optim.Adam / AdamW: (Adam) g ← g + λθ or (AdamW) θ ← θ − γλθ;
 * m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; m̂ = m/(1−β1^t); v̂ = v/(1−β2^t); θ ← θ − γ m̂/(√v̂ + ε).
 */
export function adamWithOptions(p0: ArrayLike<number>, grads: ArrayLike<number>[], lr: number, options: AdamReferenceOptions = {}): Float64Array {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, decoupled = false } = options;
  const p = Float64Array.from(p0 as ArrayLike<number>);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((grad, step) => {
    const t = step + 1;
    for (let i = 0; i < p.length; i++) {
      let g = grad[i];
      if (decoupled) p[i] -= lr * weightDecay * p[i];
      else g += weightDecay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const mhat = m[i] / (1 - beta1 ** t);
      const vhat = v[i] / (1 - beta2 ** t);
      p[i] -= (lr * mhat) / (Math.sqrt(vhat) + eps);
    }
  });
  return p;
}

export function adamSteps(p0: ArrayLike<number>, grads: ArrayLike<number>[], lr: number, beta1 = 0.9, beta2 = 0.999, eps = 1e-8): Float64Array {
  return adamWithOptions(p0, grads, lr, { beta1, beta2, eps });
}

/** The smallest normal float32, 2⁻¹²⁶: optimizer state below it is flushed (crate/src/optim.rs). */
export const MIN_NORMAL = 1.1754943508222875e-38;

/** The kernels' flush: a subnormal (or −0) becomes +0; NaN, ±∞ and normal numbers stay. */
export function flushSubnormal(x: number): number {
  return Math.abs(x) < MIN_NORMAL ? 0 : x;
}

// The kernels' own float32 arithmetic, one rounding per operation (a double result rounded by Math.fround is the
// float32 result for + − × ÷ √), to compare bit for bit — unlike the float64 references above. In place, one step.
const f = Math.fround;

/** One step of wn_adam (lr 0.01, defaults otherwise, no decay) on p, m, v; `flushing`: m flushed as the kernel does. */
export function adamStepFloat32(p: Float64Array, m: Float64Array, v: Float64Array, g: ArrayLike<number>, t: number, flushing: boolean): void {
  const [b1, b2, lr, eps] = [f(0.9), f(0.999), f(0.01), f(1e-8)];
  const [c1, c2] = [f(1 - b1), f(1 - b2)];
  const step = f(lr / f(1 - Math.pow(0.9, t)));
  const inv = f(1 / f(Math.sqrt(f(1 - Math.pow(0.999, t)))));
  for (let i = 0; i < p.length; i++) {
    const mi = f(f(b1 * m[i]) + f(c1 * g[i]));
    m[i] = flushing ? flushSubnormal(mi) : mi;
    v[i] = f(f(b2 * v[i]) + f(c2 * f(g[i] * g[i])));
    const denom = f(f(f(Math.sqrt(v[i])) * inv) + eps);
    p[i] = f(p[i] - f(f(step * m[i]) / denom));
  }
}

/** One step of wn_sgd with momentum 0.9 (lr 0.01) on p and its velocity; `flushing`: the velocity flushed as the kernel does. */
export function sgdMomentumStepFloat32(p: Float64Array, velocity: Float64Array, g: ArrayLike<number>, flushing: boolean): void {
  const [mu, lr] = [f(0.9), f(0.01)];
  for (let i = 0; i < p.length; i++) {
    const vi = f(f(mu * velocity[i]) + g[i]);
    velocity[i] = flushing ? flushSubnormal(vi) : vi;
    p[i] = f(p[i] - f(lr * velocity[i]));
  }
}
