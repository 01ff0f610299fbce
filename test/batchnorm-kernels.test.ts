// The raw batch-norm kernels (crate/src/batchnorm.rs) against test/reference/batchnorm.ts (PyTorch's BatchNorm2d).
// These call the export table directly; the BatchNormLayer tests will build on them.
import { describe, expect, it } from 'vitest';
import { Rng, init } from 'wasmnet';
import { type F32Array, allocF32, load } from 'wasmnet/internal';
import { batchNormBackward, batchNormForwardEval, batchNormForwardTrain, type BnDims } from './reference/batchnorm.js';
import { expectClose, values } from './helpers/util.js';

await init();
const k = await load();

/** A wasm buffer holding `v`. */
function buffer(v: ArrayLike<number>): F32Array {
  const a = allocF32(v.length);
  a.set(v);
  return a;
}

// Sizes that are not multiples of 4 or 8; more than 64 channels cross the kernel's channel blocks; hw = 1 is BatchNorm1d.
const shapes: BnDims[] = [
  { n: 5, c: 3, hw: 7 * 9 },
  { n: 2, c: 7, hw: 1 },
  { n: 13, c: 70, hw: 1 },
  { n: 3, c: 66, hw: 5 },
  { n: 1, c: 4, hw: 11 },
  { n: 6, c: 5, hw: 3 },
];
const eps = Math.fround(1e-5);
const momentum = Math.fround(0.1);

function inputs(d: BnDims, seed: number) {
  const rng = new Rng(seed);
  const len = d.n * d.c * d.hw;
  return {
    x: Float32Array.from(values(len, rng), (v) => 2 * v + 0.7),
    gamma: values(d.c, rng),
    beta: values(d.c, rng),
    runningMean: values(d.c, rng, 0.3),
    runningVar: Float32Array.from(values(d.c, rng), (v) => Math.abs(v) + 0.2),
    dy: values(len, rng),
  };
}

describe('wn_batchnorm_* against the reference (PyTorch BatchNorm2d; tolerance 1e-5 of the data scale)', () => {
  for (const d of shapes) {
    const len = d.n * d.c * d.hw;

    it(`training forward, running statistics and backward for ${JSON.stringify(d)}`, () => {
      const v = inputs(d, d.n * 100 + d.c * 10 + d.hw);
      const [x, gamma, beta, rm, rv, y, xhat, invstd] = [v.x, v.gamma, v.beta, v.runningMean, v.runningVar, len, len, d.c].map((s) =>
        typeof s === 'number' ? allocF32(s) : buffer(s),
      );
      k.wn_batchnorm_forward_train(d.n, d.c, d.hw, x.ptr, gamma.ptr, beta.ptr, eps, momentum, rm.ptr, rv.ptr, y.ptr, xhat.ptr, invstd.ptr);
      const ref = batchNormForwardTrain(d, v.x, v.gamma, v.beta, eps, momentum, v.runningMean, v.runningVar);
      expectClose(y.toArray(), ref.y, 1e-5, 'y');
      expectClose(xhat.toArray(), ref.xhat, 1e-5, 'xhat');
      expectClose(invstd.toArray(), ref.invstd, 1e-5, 'invstd');
      expectClose(rm.toArray(), ref.runningMean, 1e-5, 'running_mean');
      expectClose(rv.toArray(), ref.runningVar, 1e-5, 'running_var');

      const [dy, dx, dgamma, dbeta] = [buffer(v.dy), allocF32(len), allocF32(d.c), allocF32(d.c)];
      k.wn_batchnorm_backward(d.n, d.c, d.hw, dy.ptr, xhat.ptr, gamma.ptr, invstd.ptr, 1, dx.ptr, dgamma.ptr, dbeta.ptr, 0);
      const g = batchNormBackward(d, v.dy, ref.xhat, v.gamma, ref.invstd, true);
      expectClose(dx.toArray(), g.dx, 1e-5, 'dx');
      expectClose(dgamma.toArray(), g.dgamma, 1e-5, 'dgamma');
      expectClose(dbeta.toArray(), g.dbeta, 1e-5, 'dbeta');

      // accumulate = 1 adds to the parameter gradients; dx = 0 (null) is skipped.
      const dxBefore = dx.toArray();
      k.wn_batchnorm_backward(d.n, d.c, d.hw, dy.ptr, xhat.ptr, gamma.ptr, invstd.ptr, 1, 0, dgamma.ptr, dbeta.ptr, 1);
      expectClose(dgamma.toArray(), g.dgamma.map((t) => 2 * t), 1e-5, 'dgamma accumulated');
      expectClose(dbeta.toArray(), g.dbeta.map((t) => 2 * t), 1e-5, 'dbeta accumulated');
      expect(Array.from(dx.toArray())).toEqual(Array.from(dxBefore));
      for (const b of [x, gamma, beta, rm, rv, y, xhat, invstd, dy, dx, dgamma, dbeta]) b.free();
    });

    it(`evaluation forward and backward (statistics constant) for ${JSON.stringify(d)}`, () => {
      const v = inputs(d, d.n * 7 + d.c * 3 + d.hw);
      const [x, gamma, beta, rm, rv, y, xhat, invstd] = [v.x, v.gamma, v.beta, v.runningMean, v.runningVar, len, len, d.c].map((s) =>
        typeof s === 'number' ? allocF32(s) : buffer(s),
      );
      k.wn_batchnorm_forward_eval(d.n, d.c, d.hw, x.ptr, gamma.ptr, beta.ptr, rm.ptr, rv.ptr, eps, y.ptr, xhat.ptr, invstd.ptr);
      const ref = batchNormForwardEval(d, v.x, v.gamma, v.beta, v.runningMean, v.runningVar, eps);
      expectClose(y.toArray(), ref.y, 1e-5, 'y');
      expectClose(xhat.toArray(), ref.xhat, 1e-5, 'xhat');
      expectClose(invstd.toArray(), ref.invstd, 1e-5, 'invstd');
      expect(Array.from(rm.toArray())).toEqual(Array.from(v.runningMean));
      expect(Array.from(rv.toArray())).toEqual(Array.from(v.runningVar));

      const [dy, dx, dgamma, dbeta] = [buffer(v.dy), allocF32(len), allocF32(d.c), allocF32(d.c)];
      k.wn_batchnorm_backward(d.n, d.c, d.hw, dy.ptr, xhat.ptr, gamma.ptr, invstd.ptr, 0, dx.ptr, dgamma.ptr, dbeta.ptr, 0);
      const g = batchNormBackward(d, v.dy, ref.xhat, v.gamma, ref.invstd, false);
      expectClose(dx.toArray(), g.dx, 1e-5, 'dx');
      expectClose(dgamma.toArray(), g.dgamma, 1e-5, 'dgamma');
      expectClose(dbeta.toArray(), g.dbeta, 1e-5, 'dbeta');
      for (const b of [x, gamma, beta, rm, rv, y, xhat, invstd, dy, dx, dgamma, dbeta]) b.free();
    });
  }

  it('training statistics are exact for a channel whose spread is tiny next to its mean', () => {
    // 1000 + small offsets: f32 sums would lose the variance; the kernel sums in f64.
    const d = { n: 9, c: 2, hw: 13 };
    const rng = new Rng(5);
    const xs = Float32Array.from({ length: d.n * d.c * d.hw }, () => 1000 + 0.01 * rng.normal());
    const ones = new Float32Array(d.c).fill(1);
    const [x, gamma, beta, rm, rv, y, xhat, invstd] = [xs, ones, new Float32Array(d.c), new Float32Array(d.c), ones, xs.length, xs.length, d.c].map((s) =>
      typeof s === 'number' ? allocF32(s) : buffer(s),
    );
    k.wn_batchnorm_forward_train(d.n, d.c, d.hw, x.ptr, gamma.ptr, beta.ptr, eps, momentum, rm.ptr, rv.ptr, y.ptr, xhat.ptr, invstd.ptr);
    const ref = batchNormForwardTrain(d, xs, ones, new Float32Array(d.c), eps, momentum, new Float32Array(d.c), ones);
    expectClose(invstd.toArray(), ref.invstd, 1e-5, 'invstd');
    expectClose(rv.toArray(), ref.runningVar, 1e-5, 'running_var');
    // x itself is only known to ulp(1000) ≈ 6e-5, i.e. 6e-3 standard deviations; xhat is as good as that.
    expectClose(xhat.toArray(), ref.xhat, 1e-2, 'xhat');
    for (const b of [x, gamma, beta, rm, rv, y, xhat, invstd]) b.free();
  });
});

describe('the batch-norm reference against central differences of itself (float64, h = 1e-6, tolerance 1e-6)', () => {
  const d = { n: 3, c: 2, hw: 5 };
  const v = inputs(d, 42);
  const x = Float64Array.from(v.x);
  const loss = (xs: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, training: boolean) => {
    const f = training
      ? batchNormForwardTrain(d, xs, gamma, beta, eps, momentum, v.runningMean, v.runningVar)
      : batchNormForwardEval(d, xs, gamma, beta, v.runningMean, v.runningVar, eps);
    return f.y.reduce((s, y, i) => s + y * v.dy[i], 0);
  };
  const central = (f: (h: number) => number) => (f(1e-6) - f(-1e-6)) / 2e-6;
  const bump = (a: ArrayLike<number>, i: number, h: number) => {
    const b = Float64Array.from(a);
    b[i] += h;
    return b;
  };

  for (const training of [true, false]) {
    it(`dx, dgamma, dbeta in ${training ? 'training' : 'evaluation'} mode`, () => {
      const f = training
        ? batchNormForwardTrain(d, x, v.gamma, v.beta, eps, momentum, v.runningMean, v.runningVar)
        : batchNormForwardEval(d, x, v.gamma, v.beta, v.runningMean, v.runningVar, eps);
      const g = batchNormBackward(d, v.dy, f.xhat, v.gamma, f.invstd, training);
      expectClose(g.dx, Array.from(x, (_, i) => central((h) => loss(bump(x, i, h), v.gamma, v.beta, training))), 1e-6, 'dx');
      expectClose(g.dgamma, Array.from(v.gamma, (_, i) => central((h) => loss(x, bump(v.gamma, i, h), v.beta, training))), 1e-6, 'dgamma');
      expectClose(g.dbeta, Array.from(v.beta, (_, i) => central((h) => loss(x, v.gamma, bump(v.beta, i, h), training))), 1e-6, 'dbeta');
    });
  }
});
