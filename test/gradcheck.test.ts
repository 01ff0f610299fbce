// gradientCheck (ts/gradcheck.ts) must fail when backprop is wrong, or it proves nothing.
import { describe, expect, it } from 'vitest';
import { Activation, DenseLayer, Identity, MeanSquaredError, ReLU, Rng, SequentialNet, Tanh, Tensor, gradientCheck } from 'wasmnet';
import type { F32Array } from 'wasmnet/internal';
import { messageOf, uniform } from './helpers/util.js';

/** A dense layer with a classic bug: the weight gradient is transposed-indexed wrongly (scaled rows). */
class BuggyDense extends DenseLayer {
  override backwardFromDeltaZ(wantInputGrad: boolean): F32Array | null {
    const da = super.backwardFromDeltaZ(wantInputGrad);
    const dw = this.dw;
    for (let i = 0; i < dw.length; i += 2) dw[i] *= 1.1; // 10 % off on half the entries
    return da;
  }
}

/** A dense layer that forgets the activation's derivative in its input gradient. */
class ForgetfulDense extends DenseLayer {
  override backwardBuffer(delta: F32Array, wantInputGrad: boolean): F32Array | null {
    this.deltaZBuffer().set(delta.view().subarray(0, this.deltaZBuffer().length));
    return this.backwardFromDeltaZ(wantInputGrad);
  }
}

describe('gradientCheck catches wrong gradients', () => {
  it('flags a weight gradient that is 10 % off', () => {
    const layer = new BuggyDense(6, 4, { afun: new Identity(), seed: 1 });
    const result = gradientCheck(layer, uniform([3, 6], new Rng(1)));
    expect(result.errors.w).toBeGreaterThan(0.05);
    expect(result.errors.b).toBeLessThan(1e-3);
    layer.dispose();
  });

  it('flags a missing activation derivative', () => {
    const layer = new ForgetfulDense(5, 4, { afun: new Tanh(), seed: 2 });
    const result = gradientCheck(layer, uniform([3, 5], new Rng(2), -2, 2));
    expect(result.errors.input).toBeGreaterThan(0.05);
    expect(result.errors.w).toBeGreaterThan(0.05);
    layer.dispose();
  });

  it('skips entries at a ReLU kink instead of reporting them, and counts them', () => {
    const layer = new DenseLayer(1, 1, { afun: new ReLU(), seed: 3 });
    layer.w = [1];
    layer.b = [0];
    // z = x exactly at the kink for the first sample
    const result = gradientCheck(layer, uniform([1, 1], new Rng(0), 0, 0), undefined, { samples: 1 });
    expect(result.tensors.find((t) => t.name === 'input')!.skipped).toBe(1);
    layer.dispose();
  });

  it('samples at most `samples` entries per tensor', () => {
    const layer = new DenseLayer(50, 20, { afun: new Identity(), seed: 4 });
    const result = gradientCheck(layer, uniform([2, 50], new Rng(4)), undefined, { samples: 7 });
    expect(result.tensors.map((t) => [t.name, t.checked + t.skipped])).toEqual([['w', 7], ['b', 7], ['input', 7]]);
    layer.dispose();
  });
});

/**
 * An activation computed in JavaScript: its function `f` and the gradient it reports are the test's, so every number
 * gradientCheck derives (the one-sided quotients, the scale, the error) is exact and known in advance. The inputs and
 * steps are multiples of 1/128, whose squares float32 and float64 hold exactly.
 */
class Scripted extends Activation {
  readonly id = 0;
  readonly name = 'Identity' as const;
  readonly factor = 1;
  private z: Float32Array = new Float32Array(0);
  constructor(private readonly f: (z: number) => number, private readonly reported: (z: number, i: number) => number) {
    super();
  }
  override evaluate(z: Tensor): Tensor {
    this.z = z.data.slice();
    return new Tensor(Float32Array.from(z.data, (v) => this.f(v)), z.shape);
  }
  override backprop(delta: Tensor): Tensor {
    return new Tensor(Float32Array.from(this.z, (v, i) => this.reported(v, i) * delta.data[i]), delta.shape);
  }
}

const eps = 1 / 128;
const square = (z: number) => z * z;
/** x = [0.5, −3, 1.5, 2]: C = Σ x² (r = 1), whose true gradient is 2x = [1, −6, 3, 4]; the quotients are 2x ± ε. */
const x4 = () => new Tensor([0.5, -3, 1.5, 2], [1, 4]);
const ones4 = () => new Tensor([1, 1, 1, 1], [1, 4]);
function checkWith(f: (z: number) => number, reported: (z: number, i: number) => number, x = x4(), r = ones4(), epsilon = eps) {
  return gradientCheck(new Scripted(f, reported), x, r, { eps: epsilon });
}

describe('gradientCheck computes exactly what its comment says', () => {
  it('error = max |central difference − backprop| / the largest gradient or one-sided quotient (a backprop gradient dominates)', () => {
    // Backprop reports 2x + [0.25, −1, −0.5, 0.125]: the worst entry is 1 off, the scale is |−7|.
    const off = [0.25, -1, -0.5, 0.125];
    const result = checkWith(square, (z, i) => 2 * z + off[i]);
    expect(result.tensors).toEqual([{ name: 'input', error: 1 / 7, maxAbsError: 1, checked: 4, skipped: 0 }]);
    expect(result.errors).toEqual({ input: 1 / 7 });
    expect(result.maxError).toBe(1 / 7);
  });

  it('the scale takes the one-sided quotients too (a negative quotient dominates)', () => {
    // At x = −3 the quotient from the left is −6 − ε, larger in size than anything backprop reports (−5.5 there).
    const off = [0.25, 0.5, -0.5, 0.125];
    const result = checkWith(square, (z, i) => 2 * z + off[i]);
    expect(result.tensors).toEqual([{ name: 'input', error: 0.5 / (6 + eps), maxAbsError: 0.5, checked: 4, skipped: 0 }]);
  });

  it('compares the mean of the quotients at +ε and −ε with backprop (exact: 0 error for the true gradient)', () => {
    const result = checkWith(square, (z) => 2 * z);
    expect(result.tensors).toEqual([{ name: 'input', error: 0, maxAbsError: 0, checked: 4, skipped: 0 }]);
    // Backprop reporting either one-sided quotient instead is ε off.
    expect(checkWith(square, (z) => 2 * z + eps).tensors[0].maxAbsError).toBe(eps);
    expect(checkWith(square, (z) => 2 * z - eps).tensors[0].maxAbsError).toBe(eps);
  });

  it('weights the output by r: C = Σ r ⊙ f(x)', () => {
    const r = new Tensor([2, -1, 0.5, 3], [1, 4]);
    const result = checkWith(square, (z) => 2 * z, x4(), r);
    expect(result.tensors[0]).toEqual({ name: 'input', error: 0, maxAbsError: 0, checked: 4, skipped: 0 });
    // Backprop 1 off at x = −3 (where r = −1): the scale is the largest |r · 2x| = |3 · 4| = 12, or the quotient there.
    const off = checkWith(square, (z) => 2 * z + (z === -3 ? 1 : 0), x4(), r);
    expect(off.tensors[0]).toEqual({ name: 'input', error: 1 / (12 + 3 * eps), maxAbsError: 1, checked: 4, skipped: 0 });
  });

  it('a slope change of exactly 1 % of the scale is not a kink; more than that is', () => {
    // f(z) = 100 z for z ≥ 0, 99 z below, at z = 0: the quotients are 100 and 99, |100 − 99| = 0.01 · 100.
    const bent = (slope: number) => (z: number) => (z >= 0 ? 100 * z : slope * z);
    const x = new Tensor([0], [1, 1]);
    const r = new Tensor([1], [1, 1]);
    const atLimit = checkWith(bent(99), () => 99.5, x, r);
    expect(atLimit.tensors[0]).toEqual({ name: 'input', error: 0, maxAbsError: 0, checked: 1, skipped: 0 });
    const beyond = checkWith(bent(98), () => 99, x, r);
    expect(beyond.tensors[0]).toEqual({ name: 'input', error: 0, maxAbsError: 0, checked: 0, skipped: 1 });
  });

  it('skips a tensor whose gradient float32 cannot resolve in C, and only that', () => {
    // C ≈ 4000 (f = 1000 + z/2²⁰ rounds to 1000): the quotients are 0 and the floor is 64 · 2⁻²⁴ · 2000 / 1e-3 ≈ 7.6;
    // a reported gradient of 1e-3 is below it: nothing to check, not an error of 1.
    const flat = (z: number) => 1000 + z / 2 ** 20;
    const below = checkWith(flat, () => 1e-3, x4(), ones4(), 1e-3);
    expect(below.tensors[0]).toEqual({ name: 'input', error: 0, maxAbsError: 0, checked: 0, skipped: 4 });
    // The floor follows C's terms r ⊙ f(x): with r = 2 it is ≈ 15.3, and a reported 5 (10 after r) is below it.
    const twos = new Tensor([2, 2, 2, 2], [1, 4]);
    expect(checkWith(flat, () => 5, x4(), twos, 1e-3).tensors[0]).toEqual({ name: 'input', error: 0, maxAbsError: 0, checked: 0, skipped: 4 });
    // A gradient of 10 is above the floor: compared, and wrong.
    const above = checkWith(flat, () => 10, x4(), ones4(), 1e-3);
    expect(above.tensors[0]).toEqual({ name: 'input', error: 1, maxAbsError: 10, checked: 4, skipped: 0 });
  });

  it('a function that is 0 everywhere, with gradient 0, is checked (not skipped) with error 0', () => {
    // The scale and the noise floor are both 0: every entry is compared, and 0 / 0 is not reported as NaN.
    const result = checkWith(() => 0, () => 0);
    expect(result.tensors[0]).toEqual({ name: 'input', error: 0, maxAbsError: 0, checked: 4, skipped: 0 });
    expect(result.maxError).toBe(0);
  });
});

describe('gradientCheck arguments', () => {
  const layer = () => new DenseLayer(3, 2, { afun: new Identity(), seed: 5 });
  const x = () => new Tensor([0.5, -0.25, 1, 0.75, 0, -1], [2, 3]);

  it('names each option it refuses', () => {
    const l = layer();
    expect(messageOf(() => gradientCheck(l, x(), undefined, { eps: 0 }))).toBe('gradientCheck eps must be a finite number > 0, got 0');
    expect(messageOf(() => gradientCheck(l, x(), undefined, { samples: 0 }))).toBe('gradientCheck samples must be an integer ≥ 1, got 0');
    expect(messageOf(() => gradientCheck(l, x(), undefined, { seed: -1 }))).toBe('gradientCheck seed must be an integer in [0, 4294967295], got -1');
    expect(messageOf(() => gradientCheck(l, x(), undefined, { seed: 2 ** 32 }))).toMatch(/^gradientCheck seed must be an integer in \[0, 4294967295\]/);
    expect(messageOf(() => gradientCheck(l, x(), undefined, { sample: 3 } as never))).toMatch(/^gradientCheck options/);
    expect(gradientCheck(l, x(), undefined, { seed: 2 ** 32 - 1 }).maxError).toBeLessThan(1e-3);
    l.dispose();
  });

  it('refuses an x or a y that is not a Tensor, and a network or a loss without y', () => {
    const l = layer();
    expect(messageOf(() => gradientCheck(l, [1, 2, 3] as never))).toBe('gradientCheck x must be a Tensor, got [1, 2, 3]');
    expect(messageOf(() => gradientCheck(l, x(), [1] as never))).toBe('gradientCheck y must be a Tensor or undefined, got [1]');
    expect(messageOf(() => gradientCheck(l, x(), new Tensor([1, 2, 3], [1, 3])))).toBe(
      "gradientCheck: y (the weights r) must have the output's shape [2, 2], got [1, 3]",
    );
    l.dispose();
    const net = new SequentialNet([3], { seed: 1 });
    net.addDense(2, { afun: new Identity() });
    expect(messageOf(() => gradientCheck(net, x()))).toBe('gradientCheck of a network needs labels y');
    net.dispose();
    const loss = new MeanSquaredError();
    expect(messageOf(() => gradientCheck(loss, x()))).toBe('gradientCheck of a loss needs labels y');
    loss.dispose();
  });

  it('checks 30 entries per tensor unless told, from seed 1 unless told', () => {
    const big = new DenseLayer(8, 6, { afun: new Tanh(), seed: 6 });
    const input = uniform([5, 8], new Rng(6));
    const result = gradientCheck(big, input);
    expect(result.tensors.map((t) => [t.name, t.checked + t.skipped])).toEqual([['w', 30], ['b', 6], ['input', 30]]);
    expect(gradientCheck(big, input, undefined, { seed: 1, samples: 30, eps: 1e-3 })).toEqual(result);
    big.dispose();
  });
});
