// SequentialNet (ts/network.ts): the course's network end to end on the built .wasm.
import { describe, expect, it } from 'vitest';
import {
  Adam, Conv2DLayer, CrossEntropy, DenseLayer, DisposedError, FlattenLayer, Identity, MeanSquaredError, Pool2DLayer,
  ReLU, Rng, SequentialNet, SGD, ShapeError, SoftMax, Tanh, Tensor, ValueError, gradientCheck,
} from 'wasmnet';
import { expectClose, uniform } from './helpers/util.js';

/** The course's exercise-4 network, on a small input so a gradient check is quick. */
function courseNet(seed: number, input: [number, number, number] = [1, 12, 12], strict = false): SequentialNet {
  const net = new SequentialNet(input, { seed });
  net.addConv2D([4, 3, 3], { afun: new ReLU(), optim: new Adam(0.001) });
  net.addPool2D([2, 2], { strict });
  net.addFlatten();
  net.addDense(12, { afun: new ReLU(), optim: new Adam(0.001) });
  net.addDense(10, { afun: new SoftMax(), optim: new Adam(0.001) });
  return net;
}

function labels(n: number, rng: Rng): Tensor {
  return Tensor.oneHot(Array.from({ length: n }, () => rng.int(10)), 10);
}

describe('SequentialNet shapes', () => {
  it('infers each layer\'s output shape, as the course\'s network on MNIST', () => {
    const net = courseNet(1, [1, 28, 28]);
    expect(net.layers.map((l) => l.outputShape)).toEqual([[32 / 8, 26, 26], [4, 13, 13], [676], [12], [10]]);
    expect(net.layers.map((l) => l.kind)).toEqual(['Conv2D', 'Pool2D', 'Flatten', 'Dense', 'Dense']);
    expect(net.loss).toBeInstanceOf(CrossEntropy);
    net.dispose();
  });

  it('uses mean squared error when the output is not SoftMax', () => {
    const net = new SequentialNet([3]);
    net.addDense(2, { afun: new Identity() });
    expect(net.loss).toBeInstanceOf(MeanSquaredError);
    net.dispose();
  });

  it('reports a mismatch when a layer is added, not when it runs', () => {
    const net = new SequentialNet([1, 5, 5]);
    expect(() => net.addDense(3)).toThrow(/addDense needs a flat input.*\[1, 5, 5\].*addFlatten/);
    expect(() => net.addConv2D([2, 6, 6])).toThrow(/6×6 filter does not fit the 5×5 input/);
    net.addFlatten();
    expect(() => net.addConv2D([2, 3, 3])).toThrow(/addConv2D needs a \[c, h, w\] input.*\[25\]/);
    expect(() => net.add(new Pool2DLayer([2, 2]))).toThrow(/Pool2D expects input samples of shape \[c, h, w\], got \[25\]/);
    expect(() => net.add(new DenseLayer(24, 2))).toThrow(/Dense expects input samples of shape \[24\], got \[25\]/);
    net.dispose();
  });

  it('accepts layers built by hand through add()', () => {
    const net = new SequentialNet([2, 6, 6], { seed: 3 });
    net.add(new Conv2DLayer([2, 6, 6], [3, 3, 3], { afun: new Tanh() }));
    net.add(new FlattenLayer());
    net.add(new DenseLayer(48, 4, { afun: new SoftMax() }));
    expect(net.evaluate(Tensor.zeros([5, 2, 6, 6])).shape).toEqual([5, 4]);
    net.dispose();
  });

  it('rejects data that does not fit', () => {
    const net = courseNet(1);
    const rng = new Rng(1);
    expect(() => net.evaluate(uniform([2, 1, 12, 11], rng))).toThrow(/x must have shape \[n, 1, 12, 12\].*got \[2, 1, 12, 11\]/);
    expect(() => net.lossOn(uniform([2, 1, 12, 12], rng), labels(3, rng))).toThrow(/y must have shape \[2, 10\] \(x has 2 samples\)/);
    expect(() => net.lossOn(uniform([2, 1, 12, 12], rng), Tensor.zeros([2, 9]))).toThrow(ShapeError);
    net.dispose();
  });
});

describe('SequentialNet gradient check (the course\'s conv → pool → flatten → dense → dense)', () => {
  // Random inputs: no ties in pooling (see design.md, "Ties in max pooling").
  for (const strict of [false, true]) {
    it(`every parameter tensor and the input within 1e-2, strict = ${strict}`, () => {
      const net = courseNet(7, [1, 12, 12], strict);
      const rng = new Rng(8);
      const result = gradientCheck(net, uniform([4, 1, 12, 12], rng, 0, 1), labels(4, rng));
      expect(Object.keys(result.errors)).toEqual(['layers.0.f', 'layers.0.b', 'layers.3.w', 'layers.3.b', 'layers.4.w', 'layers.4.b', 'input']);
      for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-2);
      net.dispose();
    });
  }

  it('with smooth activations and two channels, within 1e-3', () => {
    const net = new SequentialNet([2, 9, 8], { seed: 5 });
    net.addConv2D([3, 2, 3], { afun: new Tanh() });
    net.addConv2D([2, 3, 2], { afun: new Tanh() });
    net.addPool2D([2, 3]);
    net.addFlatten();
    net.addDense(6, { afun: new Tanh() });
    net.addDense(3, { afun: new SoftMax() });
    const rng = new Rng(6);
    const y = Tensor.oneHot([0, 2, 1], 3);
    const result = gradientCheck(net, uniform([3, 2, 9, 8], rng), y);
    for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-3);
    net.dispose();
  });

  it('with soft (non one-hot) targets, for cross-entropy and mean squared error, within 1e-3', () => {
    const net = new SequentialNet([5], { seed: 2 });
    net.addDense(4, { afun: new Tanh() });
    net.addDense(3, { afun: new SoftMax() });
    const rng = new Rng(3);
    // Rows that do not sum to 1: the SoftMax + cross-entropy shortcut must not be taken.
    const y = uniform([4, 3], rng, 0, 1);
    const softmaxNet = new SequentialNet([5], { seed: 2, loss: new CrossEntropy() });
    softmaxNet.addDense(3, { afun: new SoftMax() });
    expect(gradientCheck(softmaxNet, uniform([4, 5], rng), y).maxError).toBeLessThan(1e-3);
    softmaxNet.dispose();
    const result = gradientCheck(net, uniform([4, 5], rng), y);
    expect(result.maxError).toBeLessThan(1e-3);
    net.dispose();
  });
});

describe('SequentialNet training', () => {
  it('lowers the loss on a small task and reports per-epoch history', async () => {
    const rng = new Rng(4);
    // Class = quadrant of the brightest pixel: learnable by the course's network.
    const n = 200;
    const x = new Float32Array(n * 144);
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const q = rng.int(4);
      ids.push(q);
      for (let p = 0; p < 144; p++) x[i * 144 + p] = 0.1 * rng.uniform();
      const [r0, c0] = [(q >> 1) * 6, (q & 1) * 6];
      for (let p = 0; p < 9; p++) x[i * 144 + (r0 + 1 + Math.floor(p / 3)) * 12 + c0 + 1 + (p % 3)] = 1;
    }
    const net = new SequentialNet([1, 12, 12], { seed: 9 });
    net.addConv2D([4, 3, 3], { optim: new Adam(0.01) });
    net.addPool2D([2, 2]);
    net.addFlatten();
    net.addDense(4, { afun: new SoftMax(), optim: new Adam(0.01) });
    const batches: number[] = [];
    const history = await net.train(new Tensor(x, [n, 1, 12, 12]), Tensor.oneHot(ids, 4), {
      batchSize: 32, epochs: 8, onBatch: (b) => batches.push(b.size),
    });
    expect(history).toHaveLength(8);
    expect(batches.slice(0, 7)).toEqual([32, 32, 32, 32, 32, 32, 8]);
    expect(history[7].loss).toBeLessThan(history[0].loss / 3);
    expect(history[7].accuracy).toBeGreaterThan(0.9);
    net.dispose();
  });

  it('gives bit-identical weights and predictions for the same seed', async () => {
    const rng = new Rng(10);
    const x = uniform([50, 1, 12, 12], rng, 0, 1);
    const y = labels(50, rng);
    const run = async () => {
      const net = courseNet(123);
      await net.train(x, y, { batchSize: 16, epochs: 2 });
      const weights = net.parameters().map((p) => Array.from(p.value.view()));
      const out = Array.from(net.evaluate(x).data);
      net.dispose();
      return { weights, out };
    };
    const [a, b] = [await run(), await run()];
    expect(b.weights).toEqual(a.weights);
    expect(b.out).toEqual(a.out);
    const other = courseNet(124);
    expect(Array.from(other.parameters()[0].value.view())).not.toEqual(a.weights[0]);
    other.dispose();
  });

  it('a batch larger than the training chunk (64) takes the same step as its whole-batch gradient', async () => {
    // 150 samples = chunks of 64 + 64 + 22 whose gradients add up inside train().
    const rng = new Rng(21);
    const x = uniform([150, 1, 12, 12], rng, 0, 1);
    const y = labels(150, rng);
    const lr = 0.05;
    const net = new SequentialNet([1, 12, 12], { seed: 4 });
    net.addConv2D([3, 3, 3], { afun: new Tanh(), optim: new SGD(lr) });
    net.addPool2D([2, 2]);
    net.addFlatten();
    net.addDense(10, { afun: new SoftMax(), optim: new SGD(lr) });
    const before = net.parameters().map((p) => p.value.toArray());
    net.computeGradients(x, y); // one pass over all 150
    const grads = net.parameters().map((p) => p.grad.toArray());
    await net.train(x, y, { batchSize: 150, epochs: 1, shuffle: false });
    net.parameters().forEach((p, i) => {
      const expected = before[i].map((v, j) => v - lr * grads[i][j]);
      expectClose(p.value.view(), expected, 1e-5, p.name);
    });
    net.dispose();
  });

  it('inference (no pooling winners, chunks of 128) equals the layers applied one by one', () => {
    const net = courseNet(5);
    const x = uniform([300, 1, 12, 12], new Rng(6), 0, 1);
    let t = x;
    for (const layer of net.layers) t = layer.evaluate(t);
    expect(Array.from(net.evaluate(x).data)).toEqual(Array.from(t.data));
    net.dispose();
  });

  it('evaluates the same in any batch size', () => {
    const net = courseNet(3);
    const x = uniform([23, 1, 12, 12], new Rng(2), 0, 1);
    const whole = net.evaluate(x, { batchSize: 1000 }).data;
    const pieces = net.evaluate(x, { batchSize: 5 }).data;
    expect(Array.from(pieces)).toEqual(Array.from(whole));
    net.dispose();
  });

  it('stops with a clear error when the loss is not finite', async () => {
    const net = new SequentialNet([2], { seed: 1 });
    const layer = net.addDense(2, { afun: new Identity(), optim: new SGD(0.1) });
    const x = new Tensor([1, 1, 2, 2], [2, 2]);
    layer.w[0] = NaN; // through the live view: assigning layer.w refuses NaN
    await expect(net.train(x, x, { batchSize: 2 })).rejects.toThrow(/training stopped: the loss is NaN at epoch 1, batch 1 of 1/);
    net.dispose();
  });

  it('validates its options', async () => {
    const net = courseNet(1);
    const rng = new Rng(1);
    const x = uniform([4, 1, 12, 12], rng);
    const y = labels(4, rng);
    await expect(net.train(x, y, { batchSize: 0 })).rejects.toThrow(/batchSize must be an integer ≥ 1, got 0/);
    await expect(net.train(x, y, { epochs: 1.5 })).rejects.toThrow(ValueError);
    net.dispose();
    await expect(net.train(x, y)).rejects.toThrow(DisposedError);
  });
});
