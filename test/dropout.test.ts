// DropoutLayer (ts/layers/dropout.ts) through the public API, against test/reference/dropout.ts: PyTorch's
// Dropout (inverted dropout — kept values scaled by 1/(1 − rate), identity in inference), with the mask the
// kernel documents (crate/src/dropout.rs). The raw kernels have their own test in test/dropout-kernels.test.ts.
import { describe, expect, it } from 'vitest';
import { Adam, DropoutLayer, ReLU, Rng, SGD, SequentialNet, ShapeError, SoftMax, Tanh, Tensor, ValueError, gradientCheck, wasmBytesInUse } from 'wasmnet';
import { dropoutBackward, dropoutForward, dropoutMask } from './reference/dropout.js';
import { expectClose, values } from './helpers/util.js';

/** Values in ±[0.5, 1.5): no zeros, so a zero output means a dropped value. */
function nonzero(shape: number[], rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1) * (0.5 + rng.uniform())), shape);
}

/** The factor kept values get, as the kernel computes it: 1/(1 − f32(rate)) rounded to f32. */
const f32Scale = (rate: number) => Math.fround(1 / (1 - Math.fround(rate)));

function oneHot(n: number, k: number, rng: Rng): Tensor {
  const y = new Float32Array(n * k);
  for (let i = 0; i < n; i++) y[i * k + rng.int(k)] = 1;
  return new Tensor(y, [n, k]);
}

function dropoutOf(net: SequentialNet): DropoutLayer {
  const d = net.layers.find((l): l is DropoutLayer => l instanceof DropoutLayer);
  if (!d) throw new Error('no Dropout layer');
  return d;
}

function weights(net: SequentialNet): Float32Array[] {
  return net.parameters().map((p) => p.value.toArray());
}

/** max_i |a_i − b_i| / max_i |a_i| over tensors of the same shapes, the worst tensor. */
function relDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((t, k) => {
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < t.length; i++) {
      scale = Math.max(scale, Math.abs(t[i]));
      diff = Math.max(diff, Math.abs(t[i] - b[k][i]));
    }
    worst = Math.max(worst, scale === 0 ? diff : diff / scale);
  });
  return worst;
}

describe('DropoutLayer in inference mode (the default): the identity', () => {
  it('passes values and gradients through bit for bit, and has no mask', () => {
    const rng = new Rng(1);
    const layer = new DropoutLayer(0.4, { seed: 3 });
    expect(layer.training).toBe(false);
    const x = new Tensor(values(5 * 3 * 7, rng), [5, 3, 7]);
    const out = layer.evaluate(x);
    expect(out.shape).toEqual(x.shape);
    expect(out.data).toEqual(x.data);
    expect(layer.mask).toBeNull();
    const delta = new Tensor(values(out.size, rng), out.shape);
    const back = layer.backprop(delta);
    expect(back.shape).toEqual(x.shape);
    expect(back.data).toEqual(delta.data);
    expect(layer.parameters()).toEqual([]);
    layer.dispose();
  });
});

describe('DropoutLayer in training mode against the reference (PyTorch Dropout, inverted)', () => {
  for (const { rate, shape } of [
    { rate: 0.3, shape: [5, 3, 7, 9] },
    { rate: 0.5, shape: [7, 13] },
    { rate: 0.85, shape: [3, 2, 11] },
  ]) {
    it(`rate ${rate}, ${JSON.stringify(shape)}: outputs are 0 or x·scale, the mask is the kernel's, backprop uses it`, () => {
      const rng = new Rng(Math.round(rate * 100));
      const seed = 1234 + shape.length;
      const layer = new DropoutLayer(rate, { seed });
      layer.training = true;
      const x = nonzero(shape, rng);
      const out = layer.evaluate(x);
      const scale = f32Scale(rate);
      const mask = layer.mask!;
      expect(mask).not.toBeNull();
      expect(mask.length).toBe(x.size);
      for (let i = 0; i < x.size; i++) {
        const kept = out.data[i] !== 0;
        if (mask[i] !== (kept ? 1 : 0)) expect.fail(`mask[${i}] = ${mask[i]} but output ${out.data[i]}`);
        if (kept && out.data[i] !== Math.fround(x.data[i] * scale)) expect.fail(`out[${i}] = ${out.data[i]}, expected f32(${x.data[i]} · ${scale})`);
      }
      // the documented mask: step 0, the whole batch from row 0, cols = values per sample
      const cols = x.size / shape[0];
      expect(Array.from(mask)).toEqual(Array.from(dropoutMask(seed, 0, 0, shape[0], cols, Math.fround(rate))));
      expectClose(out.data, dropoutForward(x.data, mask, rate), 1e-6, 'forward');

      const delta = new Tensor(values(x.size, rng), shape);
      const back = layer.backprop(delta);
      expectClose(back.data, dropoutBackward(delta.data, mask, rate), 1e-6, 'backward');
      for (let i = 0; i < x.size; i++) {
        const want = mask[i] ? Math.fround(delta.data[i] * scale) : 0;
        if (back.data[i] !== want) expect.fail(`backprop[${i}] = ${back.data[i]}, expected ${want} (same mask and scale as forward)`);
      }
      layer.dispose();
    });
  }

  it('keeps a fraction 1 − rate of ~10^5 values, within 4σ', () => {
    for (const rate of [0.1, 0.5, 0.7]) {
      const layer = new DropoutLayer(rate, { seed: 99 });
      layer.training = true;
      const n = 100;
      const cols = 1003;
      layer.evaluate(new Tensor(new Float32Array(n * cols).fill(1), [n, cols]));
      const kept = layer.mask!.reduce((s, v) => s + v, 0);
      const N = n * cols;
      const p = 1 - rate;
      const sigma = Math.sqrt((p * (1 - p)) / N);
      expect(Math.abs(kept / N - p), `rate ${rate}: kept ${kept} of ${N}`).toBeLessThan(4 * sigma);
      layer.dispose();
    }
  });

  it('keeps its mask between evaluate calls until update(), then draws a new one', () => {
    const rng = new Rng(2);
    const layer = new DropoutLayer(0.5, { seed: 17 });
    layer.training = true;
    const x = nonzero([6, 40], rng);
    const first = layer.evaluate(x).data;
    const mask0 = Uint8Array.from(layer.mask!);
    expect(layer.evaluate(x).data).toEqual(first);
    expect(Array.from(layer.mask!)).toEqual(Array.from(mask0));
    expect(layer.step).toBe(0);
    layer.update();
    expect(layer.step).toBe(1);
    layer.evaluate(x);
    const mask1 = Uint8Array.from(layer.mask!);
    expect(Array.from(mask1)).not.toEqual(Array.from(mask0));
    expect(Array.from(mask1)).toEqual(Array.from(dropoutMask(17, 1, 0, 6, 40, 0.5)));
    // an inference pass in between is the identity and does not disturb the step
    layer.training = false;
    expect(layer.evaluate(x).data).toEqual(x.data);
    layer.training = true;
    layer.evaluate(x);
    expect(Array.from(layer.mask!)).toEqual(Array.from(mask1));
    layer.dispose();
  });

  it('rate 0 is the identity even in training mode', () => {
    const rng = new Rng(4);
    const layer = new DropoutLayer(0, { seed: 5 });
    layer.training = true;
    const x = new Tensor(values(4 * 9, rng), [4, 9]);
    expect(layer.evaluate(x).data).toEqual(x.data);
    const delta = new Tensor(values(4 * 9, rng), [4, 9]);
    expect(layer.backprop(delta).data).toEqual(delta.data);
    layer.dispose();
  });

  it('different seeds give different masks; the same seed the same', () => {
    const x = new Tensor(new Float32Array(8 * 50).fill(1), [8, 50]);
    const masks = [1, 2, 1].map((seed) => {
      const layer = new DropoutLayer(0.5, { seed });
      layer.training = true;
      layer.evaluate(x);
      const m = Array.from(layer.mask!);
      layer.dispose();
      return m;
    });
    expect(masks[0]).not.toEqual(masks[1]);
    expect(masks[0]).toEqual(masks[2]);
  });
});

describe('DropoutLayer gradient checks', () => {
  it('of the layer alone in training mode (< 1e-3)', () => {
    for (const rate of [0.2, 0.6]) {
      const rng = new Rng(7);
      const layer = new DropoutLayer(rate, { seed: 8 });
      layer.training = true;
      const r = gradientCheck(layer, new Tensor(values(5 * 3 * 7, rng), [5, 3, 7]));
      expect(r.maxError, `rate ${rate}: ${JSON.stringify(r.errors)}`).toBeLessThan(1e-3);
      expect(layer.step, 'gradientCheck does not advance the mask').toBe(0);
      layer.dispose();
    }
  });

  it('of dense → dropout → dense with net.training = true (< 1e-3)', () => {
    const rng = new Rng(9);
    const net = new SequentialNet([9], { seed: 9 });
    net.addDense(13, { afun: new Tanh() });
    net.addDropout(0.4);
    net.addDense(4, { afun: new SoftMax() });
    net.training = true;
    const x = new Tensor(values(7 * 9, rng), [7, 9]);
    const y = oneHot(7, 4, rng);
    const r = gradientCheck(net, x, y);
    expect(r.maxError, JSON.stringify(r.errors)).toBeLessThan(1e-3);
    // and the dropout really was on: the loss differs from inference's
    const trainingLoss = net.lossOn(x, y);
    net.training = false;
    expect(net.lossOn(x, y)).not.toBe(trainingLoss);
    net.dispose();
  });
});

describe('DropoutLayer in a network', () => {
  const inputs = 10;
  const classes = 4;
  /** dense → dropout → dense, SGD with a large step so that the masks show in the weights. */
  function denseDropoutNet(seed: number, dropoutSeed?: number): SequentialNet {
    const net = new SequentialNet([inputs], { seed });
    net.addDense(24, { afun: new ReLU(), optim: new SGD(0.5) });
    net.addDropout(0.5, dropoutSeed === undefined ? {} : { seed: dropoutSeed });
    net.addDense(classes, { afun: new SoftMax(), optim: new SGD(0.5) });
    return net;
  }

  it('the same seed gives the same masks however a batch is split: train() (4 shards of 32, then 22) = computeGradients on 150 + update', async () => {
    const rng = new Rng(150);
    const n = 150;
    const x = new Tensor(values(n * inputs, rng), [n, inputs]);
    const y = oneHot(n, classes, rng);
    const trained = denseDropoutNet(31);
    const whole = denseDropoutNet(31);
    const otherMask = denseDropoutNet(31, dropoutOf(trained).seed + 1);
    expect(weights(whole)).toEqual(weights(trained));
    expect(weights(otherMask)).toEqual(weights(trained));

    await trained.train(x, y, { batchSize: n, epochs: 1, shuffle: false });
    for (const net of [whole, otherMask]) {
      net.training = true;
      net.computeGradients(x, y);
      for (const l of net.layers) l.update();
      net.training = false;
    }

    // the last shard's mask (rows 128…149, drawn at offset 128) is those rows of the whole batch's mask
    const cols = 24;
    const chunkMask = Array.from(dropoutOf(trained).mask!);
    expect(chunkMask.length).toBe(22 * cols);
    expect(chunkMask).toEqual(Array.from(dropoutOf(whole).mask!.subarray(128 * cols)));
    expect(chunkMask).toEqual(Array.from(dropoutMask(dropoutOf(trained).seed, 0, 128, 22, cols, 0.5)));
    expect(dropoutOf(trained).step).toBe(1);

    // shard gradients add up in another float order: not bitwise, but within float32 rounding ...
    const tol = 1e-6;
    const same = relDiff(weights(trained), weights(whole));
    expect(same).toBeLessThan(tol);
    const grads = (net: SequentialNet) => net.parameters().map((p) => p.grad.toArray());
    expect(relDiff(grads(trained), grads(whole))).toBeLessThan(1e-5);
    // ... while another mask moves the weights by far more than the tolerance
    expect(relDiff(weights(otherMask), weights(whole))).toBeGreaterThan(1000 * tol);
    for (const net of [trained, whole, otherMask]) net.dispose();
  });

  it('same seed → the same trained weights bit for bit; another network seed → other dropout masks', async () => {
    const rng = new Rng(5);
    const x = new Tensor(values(90 * inputs, rng), [90, inputs]);
    const y = oneHot(90, classes, rng);
    const nets = [7, 7, 8].map((s) => denseDropoutNet(s));
    for (const net of nets) await net.train(x, y, { batchSize: 16, epochs: 2 });
    expect(weights(nets[1])).toEqual(weights(nets[0]));
    expect(dropoutOf(nets[0]).seed).toBe(dropoutOf(nets[1]).seed);
    expect(dropoutOf(nets[2]).seed).not.toBe(dropoutOf(nets[0]).seed);
    const masks = nets.map((net) => {
      const d = dropoutOf(net);
      d.training = true;
      d.evaluate(new Tensor(new Float32Array(6 * 24).fill(1), [6, 24]));
      return Array.from(d.mask!);
    });
    expect(masks[1]).toEqual(masks[0]);
    expect(masks[2]).not.toEqual(masks[0]);
    // two dropout layers in one network get different seeds
    const two = new SequentialNet([inputs], { seed: 7 });
    two.addDropout(0.5);
    two.addDense(8);
    two.addDropout(0.5);
    expect((two.layers[0] as DropoutLayer).seed).not.toBe((two.layers[2] as DropoutLayer).seed);
    for (const net of [...nets, two]) net.dispose();
  });

  /** dense → dropout → dense with Adam: a training state of optimizer moments, the shuffling stream and the dropout step. */
  function adamDropoutNet(): SequentialNet {
    const net = new SequentialNet([inputs], { seed: 12 });
    net.addDense(16, { afun: new ReLU(), optim: new Adam(0.01) });
    net.addDropout(0.35);
    net.addDense(classes, { afun: new SoftMax(), optim: new Adam(0.01) });
    return net;
  }

  async function resumeMatchesStraight(shuffle: boolean): Promise<void> {
    const rng = new Rng(6);
    const x = new Tensor(values(60 * inputs, rng), [60, inputs]);
    const y = oneHot(60, classes, rng);
    const straight = adamDropoutNet();
    await straight.train(x, y, { batchSize: 16, epochs: 2, shuffle });
    const half = adamDropoutNet();
    await half.train(x, y, { batchSize: 16, epochs: 1, shuffle });
    const resumed = SequentialNet.load(half.save());
    const d = dropoutOf(resumed);
    expect([d.rate, d.seed, d.step]).toEqual([0.35, dropoutOf(half).seed, 4]);
    expect(resumed.evaluate(x).data).toEqual(half.evaluate(x).data);
    await resumed.train(x, y, { batchSize: 16, epochs: 1, shuffle });
    expect(dropoutOf(resumed).step).toBe(dropoutOf(straight).step);
    expect(weights(resumed)).toEqual(weights(straight));

    // the restored step matters: from step 0 the masks, and so the weights, come out otherwise
    const restarted = SequentialNet.load(half.save());
    dropoutOf(restarted).step = 0;
    await restarted.train(x, y, { batchSize: 16, epochs: 1, shuffle });
    expect(relDiff(weights(restarted), weights(straight))).toBeGreaterThan(1e-4);

    // without the training state: the same rate and seed, the masks start again
    const fresh = SequentialNet.load(half.save({ trainingState: false }));
    expect([dropoutOf(fresh).rate, dropoutOf(fresh).seed, dropoutOf(fresh).step]).toEqual([0.35, dropoutOf(half).seed, 0]);
    for (const net of [straight, half, resumed, restarted, fresh]) net.dispose();
  }

  it('save → load keeps rate, seed and (with the training state) the step: 1 epoch → save → load → 1 epoch = 2 epochs, bit for bit (Adam, no shuffling)', async () => {
    await resumeMatchesStraight(false);
  });

  it('save → load → 1 more epoch = 2 epochs in one go, bit for bit, with shuffling on (the sample order is part of the training state)', async () => {
    await resumeMatchesStraight(true);
  });
});

describe('DropoutLayer errors', () => {
  it('refuses rate 1, −0.1, NaN, a rate that is 1 as a 32-bit float, and an unknown option', () => {
    for (const rate of [1, -0.1, NaN, Infinity, 1 - 1e-9, '0.5']) {
      expect(() => new DropoutLayer(rate as number), String(rate)).toThrow(ValueError);
      expect(() => new DropoutLayer(rate as number), String(rate)).toThrow(/Dropout rate/);
    }
    expect(new DropoutLayer(1 - 1e-7).rate).toBe(1 - 1e-7); // still below 1 as a float32
    // @ts-expect-error an unknown option
    expect(() => new DropoutLayer(0.5, { sead: 1 })).toThrow(/sead/);
    expect(() => new DropoutLayer(0.5, { seed: -1 })).toThrow(/seed/);
    const net = new SequentialNet([4]);
    expect(() => net.addDropout(1)).toThrow(/Dropout rate/);
    // @ts-expect-error an unknown option
    expect(() => net.addDropout(0.5, { sead: 1 })).toThrow(/sead/);
    expect(net.layers.length).toBe(0);
    net.dispose();
  });

  it('a rate just below 1 trains without trapping in the kernel', () => {
    const layer = new DropoutLayer(1 - 1e-7, { seed: 1 });
    layer.training = true;
    const out = layer.evaluate(new Tensor(new Float32Array(64).fill(1), [4, 16]));
    expect(out.data.every((v) => v === 0 || v === f32Scale(1 - 1e-7))).toBe(true);
    layer.dispose();
  });
});

// Each of these was written for a Stryker survivor in ts/layers/dropout.ts (docs/mutation/layers3-2026-12-01.md),
// applied by hand and seen failing.
describe('DropoutLayer details', () => {
  it('names itself in every refusal, with the whole message', () => {
    expect(() => new DropoutLayer(1)).toThrow(new ValueError('Dropout rate must be a number in [0, 1) (also as a 32-bit float), got 1'));
    // @ts-expect-error an unknown option
    expect(() => new DropoutLayer(0.5, { sead: 1 })).toThrow(/^Dropout options: unknown option "sead".* \(known: seed\)$/);
    expect(() => new DropoutLayer(0.5, { seed: -1 })).toThrow(new ValueError('Dropout seed must be an integer in [0, 4294967295], got -1'));
    const net = new SequentialNet([4]);
    // @ts-expect-error an unknown option
    expect(() => net.addDropout(0.5, { sead: 1 })).toThrow(/^addDropout options: unknown option "sead".* \(known: seed\)$/);
    net.dispose();
    const layer = new DropoutLayer(0.5, { seed: 1 });
    expect(() => layer.setTrainingState({ step: -1 })).toThrow(new ValueError('Dropout step must be an integer in [0, 4294967295], got -1'));
    layer.dispose();
  });

  it('a seed and a step are 32-bit: 2³² − 1 is taken, 2³² refused', () => {
    const layer = new DropoutLayer(0.5, { seed: 2 ** 32 - 1 });
    expect(layer.seed).toBe(2 ** 32 - 1);
    expect(() => new DropoutLayer(0.5, { seed: 2 ** 32 })).toThrow(/Dropout seed/);
    layer.setTrainingState({ step: 2 ** 32 - 1 });
    expect(layer.trainingState()).toEqual({ step: 2 ** 32 - 1 });
    expect(() => layer.setTrainingState({ step: 2 ** 32 })).toThrow(/Dropout step/);
    layer.update(); // wraps around
    expect(layer.step).toBe(0);
    layer.dispose();
  });

  it('NaN is no rate, even where the other checks would let it through', () => {
    expect(() => new DropoutLayer(NaN)).toThrow(new ValueError('Dropout rate must be a number in [0, 1) (also as a 32-bit float), got NaN'));
  });

  it('in a network, its seed comes from the network seed and its position', () => {
    const net = new SequentialNet([6], { seed: 1234 });
    net.addDropout(0.2);
    net.addDense(5);
    net.addDropout(0.3);
    const [first, , second] = net.layers as DropoutLayer[];
    expect(first.seed).toBe((Math.imul(1234 ^ 0x2545f491, 0x9e3779b1) + 0) >>> 0);
    expect(second.seed).toBe((Math.imul(1234 ^ 0x2545f491, 0x9e3779b1) + 2) >>> 0);
    net.addDropout(0.1, { seed: 77 });
    expect((net.layers[3] as DropoutLayer).seed).toBe(77);
    net.dispose();
  });

  it('toSpec gives its kind, rate and seed; fromSpec makes the same layer; the training state is the step', () => {
    const layer = new DropoutLayer(0.25, { seed: 9 });
    expect(layer.toSpec()).toEqual({ kind: 'Dropout', rate: 0.25, seed: 9 });
    const back = DropoutLayer.fromSpec({ kind: 'Dropout', rate: 0.25, seed: 9 }, null as never);
    expect([back.rate, back.seed]).toEqual([0.25, 9]);
    layer.update();
    layer.update();
    expect(layer.trainingState()).toEqual({ step: 2 });
    back.setTrainingState({ step: 5 });
    expect(back.step).toBe(5);
    for (const l of [layer, back]) l.dispose();
  });

  it('its gradient-check cases: rate 0.3, seed 3, on [4, 5] samples, in training and in inference', () => {
    const cases = DropoutLayer.gradcheckCases();
    expect(cases.map(({ label, input, smooth, batch, training, tolerance }) => ({ label, input, smooth, batch, training, tolerance }))).toEqual([
      { label: 'rate 0.3, training', input: [4, 5], smooth: true, batch: undefined, training: true, tolerance: undefined },
      { label: 'rate 0.3, inference', input: [4, 5], smooth: true, batch: undefined, training: undefined, tolerance: undefined },
    ]);
    const built = cases.map((c) => c.build() as DropoutLayer);
    expect(built.map((l) => [l.rate, l.seed])).toEqual([
      [0.3, 3],
      [0.3, 3],
    ]);
    for (const l of built) l.dispose();
  });

  it('mask: null before any pass, after build alone and after an inference pass; one entry per value after a training pass', () => {
    const layer = new DropoutLayer(0.5, { seed: 4 });
    expect(layer.mask).toBeNull();
    layer.build([5]);
    expect(layer.mask).toBeNull();
    const x = new Tensor(new Float32Array(3 * 5).fill(1), [3, 5]);
    layer.evaluate(x);
    expect(layer.mask).toBeNull();
    layer.training = true;
    layer.evaluate(x);
    expect(layer.mask!.length).toBe(15);
    expect(Array.from(layer.mask!)).toEqual(Array.from(dropoutMask(4, 0, 0, 3, 5, 0.5)));
    layer.dispose();
  });

  it('refuses samples with no dimensions, or a dimension that is 0 or fractional', () => {
    const layer = new DropoutLayer(0.5, { seed: 1 });
    expect(() => layer.build([])).toThrow(new ShapeError('Dropout expects input samples with positive dimensions, got []'));
    expect(() => layer.build([3, 0])).toThrow(new ShapeError('Dropout expects input samples with positive dimensions, got [3, 0]'));
    expect(() => layer.build([2.5])).toThrow(ShapeError);
    expect(() => layer.build([-2, 3])).toThrow(ShapeError);
    expect(layer.build([2, 3])).toEqual([2, 3]);
    layer.dispose();
  });

  it('on its own, follows the shape of each input (another shape rebuilds it)', () => {
    const layer = new DropoutLayer(0.5, { seed: 6 });
    layer.training = true;
    const a = nonzero([2, 5], new Rng(1));
    expect(layer.evaluate(a).shape).toEqual([2, 5]);
    const b = nonzero([3, 2, 4], new Rng(2));
    const out = layer.evaluate(b);
    expect(out.shape).toEqual([3, 2, 4]);
    expect(Array.from(out.data)).toEqual(Array.from(dropoutForward(b.data, dropoutMask(6, 0, 0, 3, 8, 0.5), 0.5))); // × 2: exact
    layer.dispose();
  });

  it('rate 0 in training mode passes its input through: no mask, as in inference', () => {
    const layer = new DropoutLayer(0, { seed: 5 });
    layer.training = true;
    const x = new Tensor(Float32Array.of(1, -2, 3, 4), [2, 2]);
    expect(Array.from(layer.evaluate(x).data)).toEqual([1, -2, 3, 4]);
    expect(layer.mask).toBeNull();
    layer.dispose();
  });

  it('batch buffers: output, mask (1 byte) and ∂C/∂input per value', () => {
    const layer = new DropoutLayer(0.5, { seed: 1 });
    layer.build([3, 4]);
    expect(layer.batchBytes(5)).toBe(9 * 5 * 12);
    layer.dispose();
  });

  it('dispose frees the wasm memory its passes took', () => {
    const before = wasmBytesInUse();
    const layer = new DropoutLayer(0.5, { seed: 1 });
    layer.training = true;
    const out = layer.evaluate(new Tensor(new Float32Array(4 * 64).fill(1), [4, 64]));
    layer.backprop(new Tensor(new Float32Array(out.size).fill(1), out.shape));
    expect(wasmBytesInUse()).toBeGreaterThan(before);
    layer.dispose();
    expect(wasmBytesInUse()).toBe(before);
  });
});
