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
