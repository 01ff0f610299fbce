/**
 * Gradient checking: backpropagation against central differences
 * (C(p + ε) − C(p − ε)) / 2ε, for every parameter tensor and the input.
 *
 * For a network, C is its loss on (x, y). For a layer or an activation on its
 * own, C = Σ r ⊙ output with fixed random weights r (or `y`, if given): then
 * ∂C/∂output = r is the delta fed to `backprop`. For a loss, C = loss(x, y).
 *
 * The error of a tensor is max_i |g_i − ĝ_i| / max(max_i |g_i|, max_i |ĝ_i|):
 * the worst entry, relative to the tensor's largest gradient (an entrywise
 * relative error is meaningless where a gradient is 0). The arithmetic is
 * float32, so with ε = 1e-3 expect errors around 1e-4 to 1e-3; a wrong
 * formula gives errors near 1.
 *
 * Kinks: where ReLU or max pooling is not differentiable within ε of the
 * point, the difference quotient measures the kink, not the gradient. So the
 * one-sided quotients at +ε and −ε are compared first: where they differ by
 * more than 1 % of the tensor's gradient scale, the entry is skipped and
 * counted in `skipped`. A wrong backprop formula is still caught: where the
 * function is smooth both sides agree with each other, and not with it.
 *
 * Noise: a tensor whose largest gradient is below what float32 resolves in a
 * difference quotient of C (64 rounding units of C's scale, over ε) has no
 * signal to check — e.g. a bias right before batch norm in training mode,
 * whose gradient is exactly 0 — and its entries count as skipped.
 */
import { Activation } from './activations.js';
import { ValueError, checkInt, checkPositive, optionsObject, show } from './core/errors.js';
import { Rng } from './core/rng.js';
import { Tensor } from './core/tensor.js';
import { Layer } from './layers/layer.js';
import { Loss } from './losses.js';
import { SequentialNet } from './network.js';

/** Options of `gradientCheck`. */
export interface GradientCheckOptions {
  /** Step ε of the central difference (default 1e-3). */
  eps?: number;
  /** Entries checked per tensor, chosen at random when the tensor is larger (default 30). */
  samples?: number;
  /** Seed for choosing entries and for the weights r (default 1). */
  seed?: number;
}

/** The check of one tensor. */
export interface TensorCheck {
  /** The tensor: a parameter name (`f`, `b`, `w`, …, `layers.0.f` in a network) or `input`. */
  name: string;
  /** The relative error described above. */
  error: number;
  /** max_i |g_i − ĝ_i|. */
  maxAbsError: number;
  /** Entries compared. */
  checked: number;
  /** Entries left out because a kink lies within ε (the slopes at +ε and −ε disagree). */
  skipped: number;
}

/** Disagreement of the one-sided slopes, relative to the gradient scale, that marks a kink. */
const KINK = 1e-2;

/** Rounding errors (in float32 units of C's magnitude) a difference quotient may carry before it says nothing. */
const NOISE_ULPS = 64;

/** What `gradientCheck` found. */
export interface GradientCheckResult {
  /** Error per tensor name (`layers.0.f`, `w`, `input`, …). */
  errors: Record<string, number>;
  /** The largest of `errors`. */
  maxError: number;
  /** The check of each tensor, in order. */
  tensors: TensorCheck[];
}

type Checkable = SequentialNet | Layer | Activation | Loss;

interface Probe {
  /** C at the current values. */
  cost(): number;
  /** The scale of C's rounding: √Σ(r ⊙ output)² for a layer, |C| for a loss or a network. */
  magnitude(): number;
  /** Tensors to check: their live values, and backprop's gradient (computed once, up front). */
  tensors: { name: string; values: () => Float32Array; grad: Float32Array }[];
}

/**
 * Backpropagation against central differences for every parameter tensor of `target` and the
 * input `x`, on `(x, y)` for a network or a loss, and on C = Σ r ⊙ output (r random, or `y`) for
 * a layer or an activation alone. See the module comment above and [docs/numerics.md](../docs/numerics.md).
 */
export function gradientCheck(target: Checkable, x: Tensor, y?: Tensor, options: GradientCheckOptions = {}): GradientCheckResult {
  const o = optionsObject('gradientCheck options', options, ['eps', 'samples', 'seed']);
  const eps = checkPositive('gradientCheck eps', o.eps ?? 1e-3);
  const samples = checkInt('gradientCheck samples', o.samples ?? 30);
  const rng = new Rng(checkInt('gradientCheck seed', o.seed ?? 1, 0, 2 ** 32 - 1));
  if (!(target instanceof SequentialNet || target instanceof Layer || target instanceof Activation || target instanceof Loss)) {
    throw new ValueError(`gradientCheck needs a SequentialNet, a layer, an activation or a loss, got ${show(target)}`);
  }
  if (!(x instanceof Tensor)) throw new ValueError(`gradientCheck x must be a Tensor, got ${show(x)}`);
  if (y !== undefined && !(y instanceof Tensor)) throw new ValueError(`gradientCheck y must be a Tensor or undefined, got ${show(y)}`);
  // Batch norm in training mode updates its running statistics on every forward pass: put them back afterwards.
  const buffers = target instanceof SequentialNet ? target.buffers() : target instanceof Layer ? target.buffers() : [];
  const savedBuffers = buffers.map((b) => b.value.toArray());
  try {
    return check(target, x, y, eps, samples, rng);
  } finally {
    buffers.forEach((b, i) => b.value.set(savedBuffers[i]));
  }
}

function check(target: Checkable, x: Tensor, y: Tensor | undefined, eps: number, samples: number, rng: Rng): GradientCheckResult {
  const probe = makeProbe(target, new Tensor(x.data.slice(), x.shape), y, rng);
  const tensors: TensorCheck[] = [];
  // What float32 can resolve in a difference quotient of C: its terms' rounding, magnified by 1/ε.
  const noiseFloor = (NOISE_ULPS * 2 ** -24 * probe.magnitude()) / eps;
  for (const t of probe.tensors) {
    const n = t.grad.length;
    const idx = n <= samples ? [...Array(n).keys()] : pickDistinct(n, samples, rng);
    // One-sided quotients at ±ε; their mean is the central difference.
    // The steps are the float32 values actually stored (x ± ε rounds), not ε itself.
    const sided = (i: number): [number, number] => {
      const base = probe.cost();
      const values = t.values();
      const original = values[i];
      values[i] = original + eps;
      const up = t.values()[i] - original;
      const plus = probe.cost();
      t.values()[i] = original - eps;
      const down = original - t.values()[i];
      const minus = probe.cost();
      t.values()[i] = original;
      return [(plus - base) / up, (base - minus) / down];
    };
    const quotients = idx.map(sided);
    let scale = 0;
    idx.forEach((i, q) => (scale = Math.max(scale, Math.abs(quotients[q][0]), Math.abs(quotients[q][1]), Math.abs(t.grad[i]))));
    // A tensor whose whole gradient is below what float32 can resolve in C (a bias right before
    // batch norm in training mode, whose gradient is exactly 0) has nothing to check: its
    // entries count as skipped rather than as a relative error of rounding noise over itself.
    if (scale < noiseFloor) {
      tensors.push({ name: t.name, error: 0, maxAbsError: 0, checked: 0, skipped: idx.length });
      continue;
    }
    let maxAbs = 0;
    let skipped = 0;
    idx.forEach((i, q) => {
      const [right, left] = quotients[q];
      // A kink within ε (ReLU at 0, a change of max-pooling winner) makes the slopes on
      // either side differ by the jump; the central difference then measures the kink.
      if (Math.abs(right - left) > KINK * scale) {
        skipped++;
        return;
      }
      maxAbs = Math.max(maxAbs, Math.abs((right + left) / 2 - t.grad[i]));
    });
    tensors.push({ name: t.name, error: scale === 0 ? 0 : maxAbs / scale, maxAbsError: maxAbs, checked: idx.length - skipped, skipped });
  }
  const errors = Object.fromEntries(tensors.map((t) => [t.name, t.error]));
  return { errors, maxError: Math.max(0, ...tensors.map((t) => t.error)), tensors };
}

function makeProbe(target: Checkable, x: Tensor, y: Tensor | undefined, rng: Rng): Probe {
  if (target instanceof SequentialNet) {
    if (!y) throw new ValueError('gradientCheck of a network needs labels y');
    const { inputGradient } = target.computeGradients(x, y);
    return {
      cost: () => target.lossOn(x, y),
      magnitude: () => Math.abs(target.lossOn(x, y)),
      tensors: [
        ...target.parameters().map((p) => ({ name: p.name, values: () => p.value.view(), grad: p.grad.toArray() })),
        { name: 'input', values: () => x.data, grad: inputGradient.data.slice() },
      ],
    };
  }
  if (target instanceof Loss) {
    if (!y) throw new ValueError('gradientCheck of a loss needs labels y');
    return {
      cost: () => target.evaluate(x, y),
      magnitude: () => Math.abs(target.evaluate(x, y)),
      tensors: [{ name: 'input', values: () => x.data, grad: target.gradient(x, y).data.slice() }],
    };
  }
  // A layer or an activation: C = Σ r ⊙ output.
  const out = target.evaluate(x);
  const r = y ?? new Tensor(Float32Array.from({ length: out.size }, () => rng.normal()), out.shape);
  if (r.shape.join() !== out.shape.join()) {
    throw new ValueError(`gradientCheck: y (the weights r) must have the output's shape ${show(out.shape)}, got ${show(r.shape)}`);
  }
  const inputGrad = target.backprop(r).data.slice();
  const params = target instanceof Layer ? target.parameters() : [];
  return {
    cost: () => dot(target.evaluate(x).data, r.data),
    magnitude: () => {
      // Independent roundings of the terms add up like a random walk: the root of their squares.
      const out = target.evaluate(x).data;
      let s = 0;
      for (let i = 0; i < out.length; i++) s += (out[i] * r.data[i]) ** 2;
      return Math.sqrt(s);
    },
    tensors: [
      ...params.map((p) => ({ name: p.name, values: () => p.value.view(), grad: p.grad.toArray() })),
      { name: 'input', values: () => x.data, grad: inputGrad },
    ],
  };
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function pickDistinct(n: number, k: number, rng: Rng): number[] {
  const chosen = new Set<number>();
  while (chosen.size < k) chosen.add(rng.int(n));
  return [...chosen].sort((a, b) => a - b);
}
