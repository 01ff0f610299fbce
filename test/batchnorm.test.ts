// BatchNormLayer (ts/layers/batchnorm.ts) through the public API, against test/reference/batchnorm.ts: the
// definition of PyTorch's BatchNorm2d on [n, c, h, w] and BatchNorm1d on [n, f] (biased batch variance for
// normalizing, unbiased for the running variance, running = (1 − momentum)·running + momentum·batch).
// The raw kernels have their own test in test/batchnorm-kernels.test.ts.
import { describe, expect, it } from 'vitest';
import {
  Adam,
  BatchNormLayer,
  Identity,
  ReLU,
  Rng,
  SequentialNet,
  ShapeError,
  SoftMax,
  Tanh,
  Tensor,
  ValueError,
  OutOfMemoryError,
  gradientCheck,
  wasmBytesInUse,
} from 'wasmnet';
import { type BnDims, batchNormBackward, batchNormForwardEval, batchNormForwardTrain } from './reference/batchnorm.js';
import { expectClose, values } from './helpers/util.js';

interface Case {
  name: string;
  /** Full input shape, batch axis first. */
  shape: number[];
}

// Odd sizes (no multiples of 4 or 8): BatchNorm2d-style and BatchNorm1d-style input.
const cases: Case[] = [
  { name: '4-D [n, c, h, w]', shape: [5, 3, 7, 9] },
  { name: '2-D [n, f]', shape: [6, 11] },
];

function dims(shape: number[]): BnDims {
  const [n, c, ...rest] = shape;
  return { n, c, hw: rest.reduce((a, b) => a * b, 1) };
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Input away from zero mean and unit variance, so that normalizing changes it. */
function input(shape: number[], rng: Rng): Tensor {
  return new Tensor(Float32Array.from(values(size(shape), rng), (v) => 2 * v + 0.7), shape);
}

/** A layer with random γ, β and running statistics, set through the setters. */
function randomLayer(c: number, rng: Rng, options: ConstructorParameters<typeof BatchNormLayer>[1] = {}): BatchNormLayer {
  const layer = new BatchNormLayer(c, { afun: new Identity(), ...options });
  layer.gamma = values(c, rng);
  layer.beta = values(c, rng);
  layer.runningMean = values(c, rng, 0.3);
  layer.runningVar = Float32Array.from(values(c, rng), (v) => Math.abs(v) + 0.2);
  return layer;
}

const copy = (a: ArrayLike<number>) => Float32Array.from(a);

describe('BatchNormLayer against the reference (PyTorch BatchNorm2d / BatchNorm1d)', () => {
  for (const { name, shape } of cases) {
    const d = dims(shape);

    it(`training mode, ${name} ${JSON.stringify(shape)}: output, running statistics over several passes, backprop`, () => {
      const rng = new Rng(11 + shape.length);
      const momentum = 0.3;
      const eps = 1e-4;
      const layer = randomLayer(d.c, rng, { momentum, eps });
      layer.training = true;
      const gamma = copy(layer.gamma);
      const beta = copy(layer.beta);
      let runMean: ArrayLike<number> = copy(layer.runningMean);
      let runVar: ArrayLike<number> = copy(layer.runningVar);
      for (let pass = 0; pass < 4; pass++) {
        const x = input(shape, rng);
        const ref = batchNormForwardTrain(d, x.data, gamma, beta, Math.fround(eps), Math.fround(momentum), runMean, runVar);
        const out = layer.evaluate(x);
        expect(out.shape).toEqual(shape);
        expectClose(out.data, ref.y, 1e-5, `pass ${pass}: output`);
        expectClose(layer.runningMean, ref.runningMean, 1e-5, `pass ${pass}: runningMean`);
        expectClose(layer.runningVar, ref.runningVar, 1e-5, `pass ${pass}: runningVar (unbiased)`);
        runMean = ref.runningMean;
        runVar = ref.runningVar;

        const dy = values(size(shape), rng);
        const back = batchNormBackward(d, dy, ref.xhat, gamma, ref.invstd, true);
        const dx = layer.backprop(new Tensor(dy, shape));
        expect(dx.shape).toEqual(shape);
        expectClose(layer.dgamma, back.dgamma, 1e-5, `pass ${pass}: dgamma`);
        expectClose(layer.dbeta, back.dbeta, 1e-5, `pass ${pass}: dbeta`);
        expectClose(dx.data, back.dx, 1e-5, `pass ${pass}: ∂C/∂x`);
      }
      layer.dispose();
    });

    it(`inference mode, ${name} ${JSON.stringify(shape)}: running statistics used and left alone, backprop`, () => {
      const rng = new Rng(23 + shape.length);
      const layer = randomLayer(d.c, rng);
      expect(layer.training).toBe(false);
      const [gamma, beta, rm, rv] = [layer.gamma, layer.beta, layer.runningMean, layer.runningVar].map(copy);
      const x = input(shape, rng);
      const ref = batchNormForwardEval(d, x.data, gamma, beta, rm, rv, Math.fround(1e-5));
      const out = layer.evaluate(x);
      expectClose(out.data, ref.y, 1e-5, 'output');
      expect(Array.from(layer.runningMean)).toEqual(Array.from(rm));
      expect(Array.from(layer.runningVar)).toEqual(Array.from(rv));

      const dy = values(size(shape), rng);
      const back = batchNormBackward(d, dy, ref.xhat, gamma, ref.invstd, false);
      const dx = layer.backprop(new Tensor(dy, shape));
      expectClose(layer.dgamma, back.dgamma, 1e-5, 'dgamma');
      expectClose(layer.dbeta, back.dbeta, 1e-5, 'dbeta');
      expectClose(dx.data, back.dx, 1e-5, '∂C/∂x');
      layer.dispose();
    });
  }

  it('default momentum 0.1 and eps 1e-5, running statistics start at 0 and 1', () => {
    const rng = new Rng(3);
    const shape = [7, 5];
    const layer = new BatchNormLayer(5, { afun: new Identity() });
    expect([layer.momentum, layer.eps]).toEqual([0.1, 1e-5]);
    expect(Array.from(layer.runningMean)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(layer.runningVar)).toEqual([1, 1, 1, 1, 1]);
    layer.training = true;
    const x = input(shape, rng);
    const ref = batchNormForwardTrain(dims(shape), x.data, [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], Math.fround(1e-5), Math.fround(0.1), [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]);
    expectClose(layer.evaluate(x).data, ref.y, 1e-5, 'output');
    expectClose(layer.runningMean, ref.runningMean, 1e-6, 'runningMean');
    expectClose(layer.runningVar, ref.runningVar, 1e-6, 'runningVar');
    layer.dispose();
  });

  it('applies its activation to γ·x̂ + β (ReLU)', () => {
    const rng = new Rng(4);
    const shape = [5, 3, 7, 9];
    const layer = randomLayer(3, rng, { afun: new ReLU() });
    layer.training = true;
    const [gamma, beta, rm, rv] = [layer.gamma, layer.beta, layer.runningMean, layer.runningVar].map(copy);
    const x = input(shape, rng);
    const ref = batchNormForwardTrain(dims(shape), x.data, gamma, beta, Math.fround(1e-5), Math.fround(0.1), rm, rv);
    expectClose(layer.evaluate(x).data, ref.y.map((v) => Math.max(0, v)), 1e-5, 'ReLU(output)');
    layer.dispose();
  });
});

describe('BatchNormLayer gradient checks', () => {
  // The 4-D case is smaller than [5, 3, 7, 9]: in training mode nudging one input moves every output of
  // its channel, and C = Σ r ⊙ output then carries the float32 rounding of all of them — on 315 values
  // per channel that noise alone reaches ~2e-3 at ε = 1e-3 (it falls as 1/ε; the exact comparison with
  // the float64 reference above is the precise test). γ ~ 1 + 0.3·N(0, 1), around its initial value.
  const afuns = [
    { afun: () => new Identity(), tol: 1e-3 },
    { afun: () => new Tanh(), tol: 1e-3 },
    { afun: () => new ReLU(), tol: 1e-2 },
  ];
  for (const training of [true, false]) {
    for (const shape of [[3, 2, 5, 3], [6, 11]]) {
      for (const { afun, tol } of afuns) {
        const name = afun().name;
        it(`${training ? 'training' : 'inference'} mode, ${name}, ${JSON.stringify(shape)}: < ${tol}, running statistics unchanged`, () => {
          const rng = new Rng(shape.length * 10 + name.length);
          const d = dims(shape);
          const layer = randomLayer(d.c, rng, { afun: afun() });
          layer.gamma = Float32Array.from(values(d.c, rng), (v) => 1 + 0.3 * v);
          layer.training = training;
          const [rm, rv] = [layer.runningMean, layer.runningVar].map(copy);
          const x = new Tensor(values(size(shape), rng), shape);
          const r = gradientCheck(layer, x);
          expect(r.maxError, JSON.stringify(r.errors)).toBeLessThan(tol);
          expect(Object.keys(r.errors).sort()).toEqual(['beta', 'gamma', 'input']);
          expect(Array.from(layer.runningMean)).toEqual(Array.from(rm));
          expect(Array.from(layer.runningVar)).toEqual(Array.from(rv));
          expect(layer.training).toBe(training);
          layer.dispose();
        });
      }
    }
  }
});

/** conv → batch norm (ReLU) → dense (SoftMax): the network the brief describes. */
function convBnNet(seed: number, inputShape = [2, 6, 7]): SequentialNet {
  const net = new SequentialNet(inputShape, { seed });
  net.addConv2D([4, 3, 3], { afun: new Identity() });
  net.addBatchNorm({ afun: new ReLU() });
  net.addFlatten();
  net.addDense(5, { afun: new SoftMax() });
  return net;
}

function oneHot(n: number, k: number, rng: Rng): Tensor {
  const y = new Float32Array(n * k);
  for (let i = 0; i < n; i++) y[i * k + rng.int(k)] = 1;
  return new Tensor(y, [n, k]);
}

function bnOf(net: SequentialNet): BatchNormLayer {
  const bn = net.layers.find((l): l is BatchNormLayer => l instanceof BatchNormLayer);
  if (!bn) throw new Error('no BatchNorm layer');
  return bn;
}

function snapshot(net: SequentialNet): Float32Array[] {
  return [...net.parameters().map((p) => p.value.toArray()), ...net.buffers().map((b) => b.value.toArray())];
}

describe('BatchNormLayer in a network', () => {
  it('gradient check of conv → BatchNorm(ReLU) → dense, with batch statistics and with running statistics (< 1e-2)', () => {
    const rng = new Rng(8);
    const net = convBnNet(8);
    const bn = bnOf(net);
    bn.gamma = Float32Array.from(values(4, rng), (v) => 1 + 0.3 * v);
    bn.beta = values(4, rng, 0.3);
    bn.runningMean = values(4, rng, 0.3);
    bn.runningVar = Float32Array.from(values(4, rng), (v) => Math.abs(v) + 0.5);
    const x = new Tensor(values(6 * 2 * 6 * 7, rng), [6, 2, 6, 7]);
    const y = oneHot(6, 5, rng);
    for (const training of [true, false]) {
      net.training = training;
      const before = snapshot(net);
      const r = gradientCheck(net, x, y);
      expect(r.maxError, `training = ${training}: ${JSON.stringify(r.errors)}`).toBeLessThan(1e-2);
      expect(r.errors).toHaveProperty('layers.1.gamma');
      expect(snapshot(net), 'gradientCheck leaves weights and running statistics as they were').toEqual(before);
    }
    net.dispose();
  });

  it('gradient check of dense → BatchNorm1d(Tanh) → dense with batch statistics (< 1e-2)', () => {
    const rng = new Rng(9);
    const net = new SequentialNet([7], { seed: 9 });
    net.addDense(9, { afun: new Identity() });
    net.addBatchNorm({ afun: new Tanh() });
    net.addDense(3, { afun: new SoftMax() });
    net.training = true;
    const r = gradientCheck(net, new Tensor(values(10 * 7, rng), [10, 7]), oneHot(10, 3, rng));
    expect(r.maxError, JSON.stringify(r.errors)).toBeLessThan(1e-2);
    net.dispose();
  });

  it('the statistics are over the whole mini-batch, whatever the shards: train() on 150 samples = computeGradients + update, to float32 rounding', async () => {
    const rng = new Rng(150);
    const n = 150; // 5 shards of 32 (the last 22): each shard's sums are combined (train/together.ts)
    const x = new Tensor(values(n * 2 * 6 * 7, rng), [n, 2, 6, 7]);
    const y = oneHot(n, 5, rng);
    const trained = convBnNet(21);
    const manual = convBnNet(21);
    expect(snapshot(trained)).toEqual(snapshot(manual));

    await trained.train(x, y, { batchSize: n, epochs: 1, shuffle: false });
    manual.training = true;
    manual.computeGradients(x, y);
    for (const l of manual.layers) l.update();
    manual.training = false;

    const [a, b] = [snapshot(trained), snapshot(manual)];
    expect(a.length).toBe(b.length);
    // Sums over shards, combined in f64, round differently from one pass over the batch: agreement to float32.
    a.forEach((t, i) => t.forEach((v, j) => expect(Math.abs(v - b[i][j]), `tensor ${i}[${j}]`).toBeLessThan(2e-6 * Math.max(1, Math.abs(b[i][j])))));
    // and the running statistics did move (one update with momentum 0.1 from 0 and 1)
    expect(Array.from(bnOf(trained).runningMean).some((v) => v !== 0)).toBe(true);
    expect(Array.from(bnOf(trained).runningVar).some((v) => v !== 1)).toBe(true);
    // the whole batch's statistics, not the last 22 samples' (what a 64-sample chunking would leave)
    const partial = convBnNet(21);
    partial.training = true;
    partial.computeGradients(new Tensor(x.data.slice(128 * 84), [22, 2, 6, 7]), new Tensor(y.data.slice(128 * 5), [22, 5]));
    expect(Array.from(bnOf(partial).runningMean)).not.toEqual(Array.from(bnOf(trained).runningMean));
    for (const net of [trained, manual, partial]) net.dispose();
  });

  it('evaluate() runs in inference mode even with training = true, and keeps the flag', () => {
    const rng = new Rng(12);
    const net = convBnNet(12);
    const bn = bnOf(net);
    bn.runningMean = values(4, rng, 0.3);
    bn.runningVar = Float32Array.from(values(4, rng), (v) => Math.abs(v) + 0.5);
    const x = new Tensor(values(9 * 2 * 6 * 7, rng), [9, 2, 6, 7]);
    const y = oneHot(9, 5, rng);
    const stats = [copy(bn.runningMean), copy(bn.runningVar)];
    const inference = net.evaluate(x);
    net.training = true;
    const evaluated = net.evaluate(x);
    expect(net.training).toBe(true);
    expect(net.layers.every((l) => l.training)).toBe(true);
    expect(evaluated.data).toEqual(inference.data);
    expect(net.measure(x, y)).toEqual((net.training = false, net.measure(x, y)));
    expect([copy(bn.runningMean), copy(bn.runningVar)]).toEqual(stats);
    // while the batch statistics give something else
    net.training = true;
    const trainingLoss = net.lossOn(x, y);
    net.training = false;
    expect(trainingLoss).not.toBe(net.lossOn(x, y));
    net.dispose();
  });

  it('train() sets training on every layer for its duration and restores each layer its own flag', async () => {
    const rng = new Rng(13);
    const net = convBnNet(13);
    const x = new Tensor(values(8 * 2 * 6 * 7, rng), [8, 2, 6, 7]);
    const y = oneHot(8, 5, rng);
    const own = [false, true, false, true];
    net.layers.forEach((l, i) => (l.training = own[i]));
    const seen: boolean[][] = [];
    await net.train(x, y, { batchSize: 4, epochs: 1, onBatch: () => seen.push(net.layers.map((l) => l.training)) });
    expect(seen).toEqual([
      [true, true, true, true],
      [true, true, true, true],
    ]);
    expect(net.layers.map((l) => l.training)).toEqual(own);
    // also when training fails part-way
    net.layers.forEach((l, i) => (l.training = own[i]));
    await expect(
      net.train(x, y, {
        batchSize: 4,
        onBatch: () => {
          throw new Error('stop');
        },
      }),
    ).rejects.toThrow('stop');
    expect(net.layers.map((l) => l.training)).toEqual(own);
    net.dispose();
  });

  it('save → load keeps γ, β, runningMean and runningVar exactly; predictions identical', async () => {
    const rng = new Rng(14);
    const net = new SequentialNet([2, 6, 7], { seed: 14 });
    net.addConv2D([4, 3, 3], { afun: new Identity(), optim: new Adam(0.01) });
    net.addBatchNorm({ afun: new ReLU(), momentum: 0.25, eps: 1e-3, optim: new Adam(0.01) });
    net.addFlatten();
    net.addDense(5, { afun: new SoftMax() });
    const x = new Tensor(values(40 * 2 * 6 * 7, rng), [40, 2, 6, 7]);
    await net.train(x, oneHot(40, 5, rng), { batchSize: 10, epochs: 2 });
    const bn = bnOf(net);
    for (const options of [{}, { trainingState: false }]) {
      const loaded = SequentialNet.load(net.save(options));
      const lbn = bnOf(loaded);
      expect([lbn.momentum, lbn.eps, lbn.afun.name, lbn.numFeatures]).toEqual([0.25, 1e-3, 'ReLU', 4]);
      expect(lbn.gamma).toEqual(bn.gamma);
      expect(lbn.beta).toEqual(bn.beta);
      expect(lbn.runningMean).toEqual(bn.runningMean);
      expect(lbn.runningVar).toEqual(bn.runningVar);
      expect(Array.from(bn.runningVar).some((v) => v !== 1)).toBe(true);
      expect(loaded.evaluate(x).data).toEqual(net.evaluate(x).data);
      loaded.dispose();
    }
    net.dispose();
  });
});

describe('BatchNormLayer errors', () => {
  it('refuses input of the wrong rank or feature count, naming BatchNorm', () => {
    const layer = new BatchNormLayer(3);
    expect(() => layer.evaluate(new Tensor(new Float32Array(2 * 3 * 4), [2, 3, 4]))).toThrow(ShapeError);
    expect(() => layer.evaluate(new Tensor(new Float32Array(2 * 3 * 4), [2, 3, 4]))).toThrow(/BatchNorm/);
    expect(() => layer.evaluate(new Tensor(new Float32Array(2 * 4 * 5 * 5), [2, 4, 5, 5]))).toThrow(/BatchNorm of 3 features.*\[4, 5, 5\]/);
    expect(() => layer.evaluate(new Tensor(new Float32Array(2 * 4), [2, 4]))).toThrow(ShapeError);
    layer.dispose();
    const net = new SequentialNet([3, 4]);
    expect(() => net.addBatchNorm()).toThrow(ShapeError);
    expect(() => net.addBatchNorm()).toThrow(/BatchNorm/);
    expect(net.layers.length).toBe(0);
    net.dispose();
  });

  it('refuses numFeatures 0, momentum 2, eps 0 and an unknown option, naming them', () => {
    expect(() => new BatchNormLayer(0)).toThrow(ValueError);
    expect(() => new BatchNormLayer(0)).toThrow(/numFeatures.*0/);
    expect(() => new BatchNormLayer(2.5)).toThrow(/numFeatures/);
    expect(() => new BatchNormLayer(3, { momentum: 2 })).toThrow(ValueError);
    expect(() => new BatchNormLayer(3, { momentum: 2 })).toThrow(/momentum.*2/);
    expect(() => new BatchNormLayer(3, { momentum: NaN })).toThrow(/momentum/);
    expect(() => new BatchNormLayer(3, { eps: 0 })).toThrow(ValueError);
    expect(() => new BatchNormLayer(3, { eps: 0 })).toThrow(/eps.*0/);
    expect(() => new BatchNormLayer(3, { eps: -1 })).toThrow(/eps/);
    // @ts-expect-error an unknown option
    expect(() => new BatchNormLayer(3, { momentun: 0.1 })).toThrow(ValueError);
    // @ts-expect-error an unknown option
    expect(() => new BatchNormLayer(3, { momentun: 0.1 })).toThrow(/momentun/);
    const net = new SequentialNet([4]);
    // @ts-expect-error an unknown option
    expect(() => net.addBatchNorm({ momentun: 0.1 })).toThrow(/momentun/);
    net.dispose();
  });

  it('refuses training on a single value per channel (n = 1 on [n, f]) as PyTorch does, but infers on it', () => {
    const layer = new BatchNormLayer(4);
    const x = new Tensor(Float32Array.of(1, 2, 3, 4), [1, 4]);
    expect(layer.evaluate(x).shape).toEqual([1, 4]);
    layer.training = true;
    expect(() => layer.evaluate(x)).toThrow(ShapeError);
    expect(() => layer.evaluate(x)).toThrow(/more than 1 value per channel/);
    expect(Array.from(layer.runningMean)).toEqual([0, 0, 0, 0]);
    // a refused pass leaves the last good one in place: backprop still belongs to it, not to a 1-sample batch
    const rng = new Rng(15);
    const x5 = input([5, 4], rng);
    layer.evaluate(x5);
    expect(() => layer.evaluate(x)).toThrow(/more than 1 value per channel/);
    expect(() => layer.backprop(new Tensor(Float32Array.of(1, 1, 1, 1), [1, 4]))).toThrow(/\[5, 4\]/);
    expect(layer.backprop(new Tensor(values(20, rng), [5, 4])).shape).toEqual([5, 4]);
    // one sample of [c, h, w] has h·w values per channel: fine
    const conv = new BatchNormLayer(2);
    conv.training = true;
    expect(conv.evaluate(new Tensor(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 9), [1, 2, 2, 2])).shape).toEqual([1, 2, 2, 2]);
    for (const l of [layer, conv]) l.dispose();
  });

  it('refuses γ, β and running statistics of the wrong length or with non-finite values', () => {
    const layer = new BatchNormLayer(3);
    expect(() => (layer.gamma = [1, 2])).toThrow(/gamma.*3 values.*2/);
    expect(() => (layer.runningVar = [1, NaN, 1])).toThrow(/runningVar/);
    layer.dispose();
  });
});

// Each of these was written for a Stryker survivor in ts/layers/batchnorm.ts (docs/mutation/layers3-2026-12-01.md),
// applied by hand and seen failing.
describe('BatchNormLayer details', () => {
  it('names itself in every refusal of its options, with the whole message', () => {
    // @ts-expect-error an unknown option
    expect(() => new BatchNormLayer(3, { momentun: 0.1 })).toThrow(/^BatchNorm options: unknown option "momentun".* \(known: afun, optim, momentum, eps\)$/);
    expect(() => new BatchNormLayer(3, { momentum: 2 })).toThrow(new ValueError('BatchNorm momentum must be a number in [0, 1], got 2'));
    expect(() => new BatchNormLayer(3, { eps: 0 })).toThrow(new ValueError('BatchNorm eps must be a finite number > 0, got 0'));
    expect(() => new BatchNormLayer(0)).toThrow(new ValueError('BatchNorm numFeatures must be an integer ≥ 1, got 0'));
    expect(() => new BatchNormLayer(3, { afun: 5 as never })).toThrow(new ValueError('BatchNorm afun must be an Activation (ReLU, SoftMax, …), got 5'));
  });

  it('momentum: 0 and 1 are taken; below 0, above 1 and a number in a string are refused', () => {
    for (const momentum of [0, 1]) {
      const layer = new BatchNormLayer(2, { momentum });
      expect(layer.momentum).toBe(momentum);
      layer.dispose();
    }
    for (const momentum of [-0.1, 1.5, '0.5']) expect(() => new BatchNormLayer(2, { momentum: momentum as number }), String(momentum)).toThrow(/BatchNorm momentum/);
  });

  it('defaults to Identity and keeps the optimizer it is given', () => {
    const optim = new Adam(0.01);
    const layer = new BatchNormLayer(2, { optim });
    expect(layer.afun.name).toBe('Identity');
    expect(layer.optim).toBe(optim);
    layer.dispose();
  });

  it('a layer too large for wasm memory is refused before anything is allocated, by its size', () => {
    const before = wasmBytesInUse();
    // 2·f parameters with gradients and Adam's two moments, 3·f statistics: 44 bytes a feature
    const attempt = () => new BatchNormLayer(2 ** 27, { optim: new Adam() });
    expect(attempt).toThrow(OutOfMemoryError);
    expect(attempt).toThrow(/^BatchNorm of 134217728 features needs 5\.50 GiB of WebAssembly memory/);
    expect(wasmBytesInUse()).toBe(before);
  });

  it('its setters name the tensor they refuse', () => {
    const layer = new BatchNormLayer(3);
    expect(() => (layer.beta = [1, 2])).toThrow(new ShapeError('BatchNorm.beta must get 3 values, got 2'));
    expect(() => (layer.runningMean = [1, 2])).toThrow(new ShapeError('BatchNorm.runningMean must get 3 values, got 2'));
    expect(() => (layer.runningVar = [1, 2])).toThrow(new ShapeError('BatchNorm.runningVar must get 3 values, got 2'));
    expect(() => (layer.runningVar = null as never)).toThrow(new ShapeError('BatchNorm.runningVar must get 3 values, got null'));
    expect(layer.parameters().map((p) => p.name)).toEqual(['gamma', 'beta']);
    layer.dispose();
  });

  it('runningVar takes 0 and refuses a negative variance at any index, naming it', () => {
    const layer = new BatchNormLayer(3);
    layer.runningVar = [0, 0, 0];
    expect(Array.from(layer.runningVar)).toEqual([0, 0, 0]);
    expect(() => (layer.runningVar = [-0.5, 1, 1])).toThrow(new ValueError('BatchNorm.runningVar must hold variances ≥ 0, but index 0 is -0.5'));
    expect(() => (layer.runningVar = [1, 1, -2])).toThrow(new ValueError('BatchNorm.runningVar must hold variances ≥ 0, but index 2 is -2'));
    expect(Array.from(layer.runningVar)).toEqual([0, 0, 0]);
    layer.dispose();
  });

  it('its gradient-check cases: both modes on [3, 5, 4] and [6] samples, batches of 4, away from the defaults', () => {
    const cases = BatchNormLayer.gradcheckCases();
    expect(cases.map(({ label, input, smooth, batch, training, tolerance }) => ({ label, input, smooth, batch, training, tolerance }))).toEqual([
      { label: '[c, h, w], training (batch statistics), Tanh', input: [3, 5, 4], smooth: true, batch: 4, training: true, tolerance: 1e-2 },
      { label: '[c, h, w], inference (running statistics), Tanh', input: [3, 5, 4], smooth: true, batch: 4, training: false, tolerance: undefined },
      { label: '[f], training, Identity', input: [6], smooth: true, batch: 4, training: true, tolerance: 1e-2 },
      { label: '[f], inference, Tanh', input: [6], smooth: true, batch: 4, training: false, tolerance: undefined },
    ]);
    const built = cases.map((c) => c.build() as BatchNormLayer);
    expect(built.map((l) => [l.numFeatures, l.afun.name])).toEqual([
      [3, 'Tanh'],
      [3, 'Tanh'],
      [6, 'Identity'],
      [6, 'Tanh'],
    ]);
    const six = built[2];
    const f32 = (a: number[]) => Array.from(Float32Array.from(a));
    expect(Array.from(six.gamma)).toEqual(f32([0.5, 0.75, 1, 1.25, 1.5, 1.75]));
    expect(Array.from(six.beta)).toEqual(f32([-0.2, -0.1, 0, 0.1, 0.2, 0.3].map((_, i) => 0.1 * i - 0.2)));
    expect(Array.from(six.runningMean)).toEqual(f32([0, 1, 2, 3, 4, 5].map((i) => 0.2 * i - 0.3)));
    expect(Array.from(six.runningVar)).toEqual(f32([0, 1, 2, 3, 4, 5].map((i) => 0.5 + 0.3 * i)));
    for (const l of built) l.dispose();
  });

  it('toSpec gives its kind, features, momentum, eps, activation and optimizer; fromSpec builds it on the output so far', () => {
    const layer = new BatchNormLayer(4, { momentum: 0.25, eps: 1e-3, afun: new Tanh(), optim: new Adam(0.01) });
    const spec = layer.toSpec();
    expect(spec).toEqual({ kind: 'BatchNorm', numFeatures: 4, momentum: 0.25, eps: 1e-3, afun: 'Tanh', optim: new Adam(0.01).config() });
    const back = BatchNormLayer.fromSpec(spec, { shape: [4, 2, 2], rng: new Rng(1), seed: 1, index: 0 });
    expect([back.numFeatures, back.momentum, back.eps, back.afun.name, back.optim.config()]).toEqual([4, 0.25, 1e-3, 'Tanh', new Adam(0.01).config()]);
    for (const l of [layer, back]) l.dispose();
  });

  it('addBatchNorm takes [c, h, w] and [f] output, and names the shape it refuses', () => {
    for (const shape of [[2, 3, 3], [5]]) {
      const net = new SequentialNet(shape);
      net.addBatchNorm();
      expect((net.layers[0] as BatchNormLayer).numFeatures).toBe(shape[0]);
      net.dispose();
    }
    const net = new SequentialNet([3, 4]);
    expect(() => net.addBatchNorm()).toThrow(
      new ShapeError("addBatchNorm needs [c, h, w] or [f] samples (PyTorch's BatchNorm2d or BatchNorm1d), but the network's output so far has shape [3, 4]"),
    );
    net.dispose();
  });

  it('build names the shape it refuses; SoftMax only on [f] samples', () => {
    const layer = new BatchNormLayer(3);
    expect(() => layer.build([4, 5, 5])).toThrow(new ShapeError('BatchNorm of 3 features expects input samples of shape [3, h, w] or [3], got [4, 5, 5]'));
    expect(() => layer.build([3, 5])).toThrow(ShapeError);
    expect(() => layer.build([3, 5, 5, 1])).toThrow(ShapeError);
    expect(layer.build([3, 5, 5])).toEqual([3, 5, 5]);
    expect(layer.build([3])).toEqual([3]);
    layer.dispose();
    const soft = new BatchNormLayer(3, { afun: new SoftMax() });
    expect(() => soft.build([3, 2, 2])).toThrow(new ValueError('BatchNorm afun on [c, h, w] samples must be elementwise (ReLU, Sigmoid, Tanh, Identity); SoftMax belongs on a dense output'));
    expect(soft.build([3])).toEqual([3]);
    // on [f] samples, SoftMax over each sample's features (of x/√(1 + ε): the running statistics at first)
    const out = soft.evaluate(new Tensor(Float32Array.of(1, 2, 3, 0, 0, 0), [2, 3]));
    const inv = 1 / Math.sqrt(1 + 1e-5);
    expectClose(out.data, [...softmax([inv, 2 * inv, 3 * inv]), 1 / 3, 1 / 3, 1 / 3], 1e-6, 'softmax');
    soft.dispose();
  });

  it('on its own, follows the shape of each input with its features (another h, w rebuilds it)', () => {
    const layer = new BatchNormLayer(2);
    expect(layer.evaluate(new Tensor(new Float32Array(2 * 2 * 3 * 3), [2, 2, 3, 3])).shape).toEqual([2, 2, 3, 3]);
    expect(layer.evaluate(new Tensor(new Float32Array(2 * 2 * 2 * 4), [2, 2, 2, 4])).shape).toEqual([2, 2, 2, 4]);
    layer.dispose();
  });

  it('training takes 2 values per channel (a batch of 2 on [f]); a batch of 1 is refused with its shape', () => {
    const layer = new BatchNormLayer(3);
    layer.training = true;
    const out = layer.evaluate(new Tensor(Float32Array.of(1, 2, 3, 3, 6, 9), [2, 3]));
    expectClose(out.data, [-1, -1, -1, 1, 1, 1], 1e-4, 'normalized');
    expect(() => layer.evaluate(new Tensor(Float32Array.of(1, 2, 3), [1, 3]))).toThrow(
      new ShapeError('BatchNorm in training mode needs more than 1 value per channel, got input of shape [1, 3] (as PyTorch)'),
    );
    layer.dispose();
  });

  it('train() takes batches of 2 samples on [f], and refuses a last batch of 1 with the whole hint', async () => {
    const rng = new Rng(8);
    const net = new SequentialNet([3], { seed: 2 });
    net.addBatchNorm();
    net.addDense(2, { afun: new SoftMax() });
    const x = new Tensor(values(12, rng), [4, 3]);
    const y = new Tensor(Float32Array.of(1, 0, 0, 1, 1, 0, 0, 1), [4, 2]);
    await net.train(x, y, { batchSize: 2, epochs: 1 });
    await expect(net.train(new Tensor(values(9, rng), [3, 3]), new Tensor(Float32Array.of(1, 0, 0, 1, 1, 0), [3, 2]), { batchSize: 2, epochs: 1 })).rejects.toThrow(
      new ShapeError(
        'BatchNorm in training mode needs more than 1 value per channel, but a batch of 1 gives 1 (as PyTorch); ' +
          'choose a batchSize that leaves no batch of 1 sample (the last batch of an epoch holds the remainder)',
      ),
    );
    net.dispose();
  });

  it('backprop sets ∂C/∂γ and ∂C/∂β afresh each time (no accumulation)', () => {
    const rng = new Rng(9);
    const layer = randomLayer(3, rng);
    layer.training = true;
    const x = input([4, 3], rng);
    layer.evaluate(x);
    const delta = new Tensor(values(12, rng), [4, 3]);
    layer.backprop(delta);
    const [dg, db] = [copy(layer.dgamma), copy(layer.dbeta)];
    layer.backprop(delta);
    expect(copy(layer.dgamma)).toEqual(dg);
    expect(copy(layer.dbeta)).toEqual(db);
    layer.dispose();
  });

  it('batch buffers: z, φ(z), ∂C/∂z, ∂C/∂input and x̂, 4 bytes a value', () => {
    const layer = new BatchNormLayer(2, { afun: new Tanh() });
    layer.build([2, 3, 3]);
    expect(layer.batchBytes(5)).toBe(4 * 5 * (3 * 18 + 18 + 18));
    layer.dispose();
  });

  it('dispose frees the wasm memory of its parameters, statistics and passes', () => {
    const before = wasmBytesInUse();
    const layer = new BatchNormLayer(3, { afun: new Tanh() });
    layer.training = true;
    const out = layer.evaluate(new Tensor(values(4 * 3 * 4 * 4, new Rng(1)), [4, 3, 4, 4]));
    layer.backprop(new Tensor(new Float32Array(out.size).fill(1), out.shape));
    layer.dispose();
    expect(wasmBytesInUse()).toBe(before);
  });
});

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
