// The raw batch-norm kernels (crate/src/batchnorm.rs) against test/reference/batchnorm.ts (PyTorch's BatchNorm2d).
// These call the export table directly; the BatchNormLayer tests will build on them.
import { describe, expect, it } from 'vitest';
import { BatchNormLayer, Identity, Rng, SoftMax, Tensor, init } from 'wasmnet';
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

describe('a batch in shards (wn_batchnorm_shard_stats, _normalize, _shard_grad_sums, _combine) against the reference on the whole batch', () => {
  // Shards of 1, 2 and the rest of the images: each hands over its sums, which are combined in shard order.
  for (const d of shapes.filter((s) => s.n >= 4 || (s.n >= 2 && s.c >= 7))) {
    it(`forward and backward for ${JSON.stringify(d)}`, () => {
      const v = inputs(d, d.n * 31 + d.c * 5 + d.hw);
      const plane = d.c * d.hw;
      const cuts = [0, 1, Math.min(3, d.n - 1), d.n].filter((c, i, all) => i === 0 || c > all[i - 1]);
      const shards = cuts.slice(1).map((end, i) => ({ from: cuts[i], rows: end - cuts[i] }));
      const layer = new BatchNormLayer(d.c, { afun: new Identity(), momentum: 0.1, eps: 1e-5 });
      layer.build(d.hw === 1 ? [d.c] : [d.c, d.hw, 1]);
      layer.training = true;
      layer.gamma = v.gamma;
      layer.beta = v.beta;
      layer.runningMean = v.runningMean;
      layer.runningVar = v.runningVar;
      const slice = (a: Float32Array, s: { from: number; rows: number }) => buffer(a.subarray(s.from * plane, (s.from + s.rows) * plane));
      const xs = shards.map((s) => slice(v.x, s));
      const dys = shards.map((s) => slice(v.dy, s));
      const stats = layer.combineStats(
        shards.map((s, i) => layer.shardStats(xs[i], s.rows)),
        shards.map((s) => s.rows),
      );
      layer.acceptStats(stats);
      const ref = batchNormForwardTrain(d, v.x, v.gamma, v.beta, eps, momentum, v.runningMean, v.runningVar);
      expectClose(layer.runningMean, ref.runningMean, 1e-5, 'running_mean');
      expectClose(layer.runningVar, ref.runningVar, 1e-5, 'running_var');
      // Forward each shard with the batch's statistics; its ∂C/∂z (Identity: ∂C/∂a) gives its sums.
      const y: number[] = [];
      const own = shards.map((s, i) => {
        y.push(...layer.forwardWithStats(xs[i], s.rows, stats).view().subarray(0, s.rows * plane));
        layer.deltaZFrom(dys[i]);
        return layer.shardGradSums();
      });
      expectClose(Float32Array.from(y), ref.y, 1e-5, 'y');
      const sums = layer.combineGradSums(own);
      const g = batchNormBackward(d, v.dy, ref.xhat, v.gamma, ref.invstd, true);
      const dx: number[] = [];
      const dgamma = new Float64Array(d.c);
      const dbeta = new Float64Array(d.c);
      shards.forEach((s, i) => {
        layer.forwardWithStats(xs[i], s.rows, stats);
        layer.deltaZFrom(dys[i]);
        dx.push(...layer.backwardWithSums(own[i], sums, true)!.view().subarray(0, s.rows * plane));
        // Each shard's ∂C/∂γ, ∂C/∂β are its share: they add up to the batch's.
        layer.dgamma.forEach((t, ch) => (dgamma[ch] += t));
        layer.dbeta.forEach((t, ch) => (dbeta[ch] += t));
      });
      expectClose(Float32Array.from(dx), g.dx, 1e-5, 'dx');
      expectClose(Float32Array.from(dgamma), g.dgamma, 1e-5, 'dgamma');
      expectClose(Float32Array.from(dbeta), g.dbeta, 1e-5, 'dbeta');
      expect(layer.backwardWithSums(own[0], sums, false), 'no input gradient asked for').toBeNull();
      for (const b of [...xs, ...dys]) b.free();
      layer.dispose();
    });
  }
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

// Written for Stryker survivors in batchnorm.ts's shard passes (docs/mutation/layers3-2026-12-01.md), each applied
// by hand and seen failing: the pass must record (backprop needs it), use the batch's statistics, and give SoftMax
// the sample's width.
describe('a shard forward pass is a training pass', () => {
  it('one shard holding the whole batch: the same output as evaluate in training mode, and backprop through the batch statistics (SoftMax on [f])', () => {
    const rng = new Rng(21);
    const [n, c] = [6, 4];
    const x = Float32Array.from(values(n * c, rng), (t) => 2 * t + 0.5);
    const dy = Float32Array.from(values(n * c, rng));
    const make = () => {
      const layer = new BatchNormLayer(c, { afun: new SoftMax() });
      layer.build([c]);
      layer.training = true;
      layer.gamma = [0.5, 1, 1.5, 2];
      layer.beta = [0.1, -0.2, 0.3, 0];
      return layer;
    };
    const whole = make();
    const y = whole.evaluate(new Tensor(x, [n, c])).data;
    const dx = whole.backprop(new Tensor(dy, [n, c])).data;
    const shard = make();
    const xb = buffer(x);
    const stats = shard.combineStats([shard.shardStats(xb, n)], [n]);
    const out = Float32Array.from(shard.forwardWithStats(xb, n, stats).view().subarray(0, n * c));
    expectClose(out, y, 1e-6, 'output');
    for (let i = 0; i < n; i++) expect(Math.abs(out.subarray(i * c, (i + 1) * c).reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-6);
    expectClose(shard.backprop(new Tensor(dy, [n, c])).data, dx, 1e-5, 'input gradient');
    expectClose(shard.dgamma, whole.dgamma, 1e-5, 'dgamma');
    xb.free();
    whole.dispose();
    shard.dispose();
  });
});
