// SequentialNet's API in detail (ts/network.ts): each check's exact message, the mode switches, the names of its
// tensors, and inference/loss against the layers applied by hand. Written for the Stryker survivors in network.ts.
import { describe, expect, it } from 'vitest';
import {
  CrossEntropy, DenseLayer, DisposedError, FlattenLayer, Identity, MeanSquaredError, ReLU, Rng, SGD, SequentialNet, ShapeError, SoftMax,
  Tanh, Tensor, wasmBytesInUse,
} from 'wasmnet';
import { messageOf, uniform } from './helpers/util.js';

/** [3] → Dense 4 (Tanh) → Dense 2 (SoftMax). */
function small(seed = 1): SequentialNet {
  const net = new SequentialNet([3], { seed });
  net.addDense(4, { afun: new Tanh() });
  net.addDense(2, { afun: new SoftMax() });
  return net;
}

describe('new SequentialNet', () => {
  it('refuses an input shape that is not a non-empty array of positive integers, naming it', () => {
    for (const shape of [[], [0], [2, -1], [1.5], 'abc', null]) {
      expect(messageOf(() => new SequentialNet(shape as never), ShapeError)).toBe(
        `SequentialNet inputShape must be a non-empty array of positive integers such as [1, 28, 28], got ${shape === null ? 'null' : Array.isArray(shape) ? `[${shape.join(', ')}]` : `"${shape}"`}`,
      );
    }
  });

  it('refuses a loss that is not a CrossEntropy or MeanSquaredError, and an unknown option', () => {
    expect(messageOf(() => new SequentialNet([3], { loss: {} as never }))).toBe('SequentialNet loss must be a CrossEntropy or MeanSquaredError, got Object');
    expect(messageOf(() => new SequentialNet([3], { seeds: 1 } as never))).toMatch(/^SequentialNet options: unknown option "seeds"/);
    expect(messageOf(() => new SequentialNet([3], { seed: -1 }))).toBe('SequentialNet seed must be an integer in [0, 4294967295], got -1');
    expect(new SequentialNet([3], { seed: 2 ** 32 - 1 }).seed).toBe(2 ** 32 - 1);
    expect(messageOf(() => new SequentialNet([3], { seed: 2 ** 32 }))).toBe('SequentialNet seed must be an integer in [0, 4294967295], got 4294967296');
  });

  it('keeps the loss it is given, whatever the last layer', () => {
    const mse = new MeanSquaredError();
    const net = new SequentialNet([3], { loss: mse });
    net.addDense(2, { afun: new SoftMax() });
    expect(net.loss).toBe(mse);
    net.dispose();
    const ce = new CrossEntropy();
    const other = new SequentialNet([3], { loss: ce });
    other.addDense(2, { afun: new Identity() });
    expect(other.loss).toBe(ce);
    other.dispose();
  });

  it('its input shape is a frozen copy', () => {
    const shape = [2, 3];
    const net = new SequentialNet(shape);
    shape[0] = 9;
    expect(net.inputShape).toEqual([2, 3]);
    expect(Object.isFrozen(net.inputShape)).toBe(true);
    expect(net.outputShape).toEqual([2, 3]);
  });
});

describe('SequentialNet training mode', () => {
  it('a network without layers is not in training mode', () => {
    expect(new SequentialNet([3]).training).toBe(false);
  });

  it('is in training mode only when every layer is', () => {
    const net = small();
    expect(net.training).toBe(false);
    net.layers[0].training = true;
    expect(net.training).toBe(false);
    net.training = true;
    expect(net.layers.map((l) => l.training)).toEqual([true, true]);
    expect(net.training).toBe(true);
    net.dispose();
  });

  it('refuses a mode that is not a boolean', () => {
    const net = small();
    expect(messageOf(() => { net.training = 1 as never; })).toBe('training must be true or false, got 1');
    net.dispose();
  });

  it('inMode sets the mode for the call and restores each layer\'s own flag after, also when the call throws', () => {
    const net = small();
    net.layers[1].training = true;
    const seen = net.inMode(true, () => net.layers.map((l) => l.training));
    expect(seen).toEqual([true, true]);
    expect(net.layers.map((l) => l.training)).toEqual([false, true]);
    expect(() => net.inMode(true, () => { throw new Error('inside'); })).toThrow('inside');
    expect(net.layers.map((l) => l.training)).toEqual([false, true]);
    expect(net.inMode(false, () => 42)).toBe(42);
    net.dispose();
  });
});

describe('SequentialNet.add', () => {
  it('refuses a disposed layer, a layer twice, and a layer of another network, naming the kind', () => {
    const net = new SequentialNet([2, 2]);
    const gone = new FlattenLayer();
    gone.dispose();
    expect(messageOf(() => net.add(gone), DisposedError)).toBe('add: this Flatten layer was disposed');
    const flat = net.add(new FlattenLayer());
    expect(messageOf(() => net.add(flat))).toBe('add: this Flatten layer is already in the network; create a new layer instead');
    const other = new SequentialNet([4]);
    const dense = other.add(new DenseLayer(4, 2));
    expect(messageOf(() => net.add(dense))).toBe('add: this Dense layer belongs to another network (which disposes it); create a new layer instead');
    expect(messageOf(() => net.add({} as never))).toMatch(/^add needs a layer \(.*Dense.*\), got Object$/);
    expect(net.layers).toHaveLength(1);
    net.dispose();
    other.dispose();
  });

  it('refuses a layer while the network trains (from a callback)', async () => {
    const net = small();
    const x = uniform([4, 3], new Rng(1));
    const y = Tensor.oneHot([0, 1, 1, 0], 2);
    let message = '';
    await net.train(x, y, {
      epochs: 1, batchSize: 4,
      onBatch: () => { message = messageOf(() => net.add(new DenseLayer(2, 2))); },
    });
    expect(message).toBe('add: the network is training; add layers before train() or after it resolves, not from its callbacks');
    expect(net.layers).toHaveLength(2);
    // After train resolves, adding works again.
    net.addDense(3);
    expect(net.layers).toHaveLength(3);
    net.dispose();
  });

  it('a layer an adder built and add refused is disposed, not leaked', async () => {
    const net = small();
    const x = uniform([4, 3], new Rng(1));
    const sizes: number[] = [];
    let message = '';
    await net.train(x, Tensor.oneHot([0, 1, 1, 0], 2), {
      epochs: 1, batchSize: 4,
      onBatch: () => {
        const before = wasmBytesInUse();
        message = messageOf(() => net.addDense(64));
        sizes.push(wasmBytesInUse() - before);
      },
    });
    expect(message).toMatch(/^add: the network is training/);
    expect(sizes).toEqual([0]);
    net.dispose();
  });

  it('refuses a second train() while one runs', async () => {
    const net = small();
    const x = uniform([4, 3], new Rng(1));
    const y = Tensor.oneHot([0, 1, 1, 0], 2);
    const first = net.train(x, y, { epochs: 1, batchSize: 4 });
    await expect(net.train(x, y)).rejects.toThrow(/^train: this network is already training; await the running train\(\) before starting another$/);
    await first;
    await expect(net.train(x, y, { epochs: 1, batchSize: 4 })).resolves.toHaveLength(1);
    net.dispose();
  });
});

describe('SequentialNet tensors and context', () => {
  it('names parameters and buffers layers.<i>.<name>', () => {
    const net = new SequentialNet([2, 4, 4], { seed: 2 });
    net.addConv2D([2, 3, 3]);
    net.addBatchNorm();
    net.addFlatten();
    net.addDense(3);
    expect(net.parameters().map((p) => p.name)).toEqual(['layers.0.f', 'layers.0.b', 'layers.1.gamma', 'layers.1.beta', 'layers.3.w', 'layers.3.b']);
    expect(net.buffers().map((b) => b.name)).toEqual(['layers.1.runningMean', 'layers.1.runningVar']);
    net.dispose();
  });

  it('buildContext gives the current shape (a copy), the seed and the next index', () => {
    const net = new SequentialNet([3], { seed: 7 });
    net.addDense(5);
    const ctx = net.buildContext();
    expect(ctx.shape).toEqual([5]);
    expect(ctx.seed).toBe(7);
    expect(ctx.index).toBe(1);
    (ctx.shape as number[])[0] = 99;
    expect(net.outputShape).toEqual([5]);
    net.dispose();
  });
});

describe('SequentialNet checks of x and y', () => {
  it('names what does not fit in x', () => {
    const net = small();
    expect(messageOf(() => net.evaluate([1, 2, 3] as never), ShapeError)).toBe('x must be a Tensor, got [1, 2, 3]');
    expect(messageOf(() => net.evaluate(new Tensor([1, 2, 3], [3])), ShapeError)).toBe("x must have shape [n, 3] to fit the network's input, got [3]");
    expect(messageOf(() => net.evaluate(new Tensor([1, 2, 3, 4], [1, 4])), ShapeError)).toBe("x must have shape [n, 3] to fit the network's input, got [1, 4]");
    expect(messageOf(() => net.evaluate(new Tensor([], [0, 3])), ShapeError)).toBe('x has no samples');
    expect(messageOf(() => net.evaluate(new Tensor([1, 2, 3, 4, NaN, 6], [2, 3])))).toBe('x must hold finite numbers, but index 4 (sample 1, offset 1) is NaN');
    net.dispose();
  });

  it('names what does not fit in y', () => {
    const net = small();
    const x = new Tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(messageOf(() => net.lossOn(x, [1] as never), ShapeError)).toBe('y must be a Tensor, got [1]');
    expect(messageOf(() => net.lossOn(x, Tensor.zeros([2, 3])), ShapeError)).toBe("y must have shape [2, 2] (the network's output is [2] per sample), got [2, 3]");
    expect(messageOf(() => net.lossOn(x, Tensor.zeros([3, 2])), ShapeError)).toBe('y must have shape [2, 2] (x has 2 samples), got [3, 2]');
    expect(messageOf(() => net.lossOn(x, new Tensor([0, 1, Infinity, 0], [2, 2])))).toBe('y must hold finite numbers, but index 2 (sample 1, offset 0) is Infinity');
    expect(messageOf(() => net.lossOn(x, new Tensor([0, 1, 1, -0.5], [2, 2])))).toBe(
      'y must hold labels ≥ 0 for cross-entropy (one-hot rows or probabilities), but index 3 is -0.5',
    );
    // Zero labels are fine; a negative one only matters to cross-entropy.
    expect(Number.isFinite(net.lossOn(x, new Tensor([0, 0, 1, 0], [2, 2])))).toBe(true);
    net.dispose();
    const mse = new SequentialNet([3], { seed: 1 });
    mse.addDense(2, { afun: new Identity() });
    expect(Number.isFinite(mse.lossOn(x, new Tensor([0, 1, 1, -0.5], [2, 2])))).toBe(true);
    mse.dispose();
  });

  it('names the options of evaluate and measure', () => {
    const net = small();
    const x = new Tensor([1, 2, 3], [1, 3]);
    const y = new Tensor([1, 0], [1, 2]);
    expect(messageOf(() => net.evaluate(x, { batch: 2 } as never))).toMatch(/^evaluate options: unknown option "batch"/);
    expect(messageOf(() => net.measure(x, y, { batch: 2 } as never))).toMatch(/^measure options: unknown option "batch"/);
    expect(messageOf(() => net.evaluate(x, { batchSize: 0 }))).toBe('batchSize must be an integer ≥ 1, got 0');
    expect(messageOf(() => net.measure(x, y, { batchSize: 0 }))).toBe('batchSize must be an integer ≥ 1, got 0');
    net.dispose();
  });
});

describe('SequentialNet inference and loss against the layers applied by hand', () => {
  /** The loss (a mean over samples) and the share of argmax hits, from the output of the layers applied one by one. */
  function byHand(net: SequentialNet, x: Tensor, y: Tensor): { out: Tensor; loss: number; accuracy: number } {
    let out = x;
    for (const layer of net.layers) out = layer.evaluate(out);
    const loss = net.loss.evaluate(out, y);
    const [p, t] = [out.argmax(), y.argmax()];
    const hits = p.filter((v, i) => v === t[i]).length;
    return { out, loss, accuracy: hits / p.length };
  }

  for (const n of [5, 300]) {
    it(`measure gives the mean loss and the accuracy over ${n} samples${n > 128 ? ' (3 chunks)' : ''}`, () => {
      const net = small(3);
      const rng = new Rng(n);
      const x = uniform([n, 3], rng, -2, 2);
      const y = Tensor.oneHot(Array.from({ length: n }, () => rng.int(2)), 2);
      const ref = byHand(net, x, y);
      const got = net.measure(x, y);
      expect(got.accuracy).toBe(ref.accuracy);
      expect(got.accuracy).toBeGreaterThan(0);
      expect(got.accuracy).toBeLessThan(1);
      expect(got.loss).toBeCloseTo(ref.loss, 5);
      expect(net.measure(x, y, { batchSize: 7 }).loss).toBeCloseTo(ref.loss, 5);
      expect(Array.from(net.evaluate(x).data)).toEqual(Array.from(ref.out.data));
      expect(net.training, 'measure leaves the mode as it was').toBe(false);
      net.dispose();
    });
  }

  it('lossOn is the loss of the whole batch in the current mode; computeGradients returns it with ∂C/∂x of x\'s shape', () => {
    const net = small(4);
    const rng = new Rng(4);
    const x = uniform([6, 3], rng, -2, 2);
    const y = Tensor.oneHot([0, 1, 1, 0, 1, 0], 2);
    const ref = byHand(net, x, y);
    expect(net.lossOn(x, y)).toBeCloseTo(ref.loss, 6);
    const { loss, inputGradient } = net.computeGradients(x, y);
    expect(loss).toBeCloseTo(ref.loss, 6);
    expect(inputGradient.shape).toEqual([6, 3]);
    expect(inputGradient.data).toHaveLength(18);
    // ∂C/∂x by central differences on one entry (float32: loose).
    const h = 1e-2;
    const at = (d: number) => { const xs = new Tensor(x.data.slice(), x.shape); xs.data[4] += d; return net.lossOn(xs, y); };
    expect(inputGradient.data[4]).toBeCloseTo((at(h) - at(-h)) / (2 * h), 3);
    net.dispose();
  });
});

describe('SequentialNet buffers handed out', () => {
  it('computeGradients\' input gradient is a copy of x\'s size, not a view the next call overwrites', () => {
    const net = small(5);
    const rng = new Rng(5);
    const big = uniform([40, 3], rng);
    net.computeGradients(big, Tensor.oneHot(new Array(40).fill(0), 2));
    const x = uniform([2, 3], rng);
    const g = net.computeGradients(x, Tensor.oneHot([0, 1], 2)).inputGradient;
    expect(g.shape).toEqual([2, 3]);
    expect(g.data).toHaveLength(6);
    const kept = Array.from(g.data);
    net.computeGradients(uniform([2, 3], rng), Tensor.oneHot([1, 0], 2));
    expect(Array.from(g.data)).toEqual(kept);
    net.dispose();
  });

  it('lossOn records nothing for backprop: a layer\'s backprop after it still needs its own evaluate', () => {
    const net = small(6);
    net.lossOn(uniform([2, 3], new Rng(6)), Tensor.oneHot([0, 1], 2));
    expect(messageOf(() => net.layers[1].backprop(Tensor.zeros([2, 2])), ShapeError)).toBe('Dense.backprop needs a preceding evaluate()');
    net.dispose();
  });

  it('names measure in the out-of-memory error of a batch too large for 4 GiB', () => {
    // 1024 filters of 98×98 outputs: 39 MB a sample, 5 GB for a chunk of 128.
    const net = new SequentialNet([1, 100, 100], { seed: 1 });
    net.addConv2D([1024, 3, 3]);
    net.addPool2D([98, 98]);
    const x = new Tensor(new Float32Array(128 * 100 * 100), [128, 1, 100, 100]);
    const y = new Tensor(new Float32Array(128 * 1024), [128, 1024, 1, 1]);
    expect(() => net.measure(x, y)).toThrow(/^measure in batches of 128 needs [\d.]+ GiB of WebAssembly memory/);
    net.dispose();
  });
});

describe('SequentialNet inference in chunks', () => {
  /** The sample counts of the network's forward passes while `run` runs. */
  function forwardSizes(net: SequentialNet, run: () => unknown): number[] {
    const sizes: number[] = [];
    const original = net.forwardBuffer;
    net.forwardBuffer = function (this: SequentialNet, input, n, ...rest) {
      sizes.push(n);
      return original.call(this, input, n, ...rest);
    } as typeof net.forwardBuffer;
    try {
      run();
    } finally {
      delete (net as unknown as Record<string, unknown>).forwardBuffer;
    }
    return sizes;
  }

  it('evaluate and measure pass batchSize samples at a time, at most 128, the last chunk the rest', () => {
    const net = small(3);
    const x = uniform([300, 3], new Rng(3));
    const y = Tensor.oneHot(Array.from({ length: 300 }, (_, i) => i % 2), 2);
    expect(forwardSizes(net, () => net.evaluate(x, { batchSize: 7 }))).toEqual([...new Array(42).fill(7), 6]);
    expect(forwardSizes(net, () => net.measure(x, y, { batchSize: 100 }))).toEqual([100, 100, 100]);
    expect(forwardSizes(net, () => net.evaluate(x, { batchSize: 1000 }))).toEqual([128, 128, 44]);
    expect(forwardSizes(net, () => net.evaluate(x))).toEqual([128, 128, 44]);
    expect(forwardSizes(net, () => net.evaluate(x.slice(0, 5)))).toEqual([5]);
    net.dispose();
  });

  it('sizes its memory for the samples it has when they are fewer than a chunk', () => {
    // 1024 filters of 98×98 outputs: 39 MB a sample; a chunk of 128 would need 5 GB, 2 samples need 80 MB.
    const net = new SequentialNet([1, 100, 100], { seed: 1 });
    net.addConv2D([1024, 3, 3]);
    net.addPool2D([98, 98]);
    const out = net.evaluate(new Tensor(new Float32Array(2 * 100 * 100).fill(1), [2, 1, 100, 100]));
    expect(out.shape).toEqual([2, 1024, 1, 1]);
    net.dispose();
  });

  it('evaluate records nothing for backprop: a layer\'s backprop after it still needs its own evaluate', () => {
    const net = small(7);
    net.evaluate(uniform([2, 3], new Rng(7)));
    expect(messageOf(() => net.layers[0].backprop(Tensor.zeros([2, 4])), ShapeError)).toBe('Dense.backprop needs a preceding evaluate()');
    net.dispose();
  });

  it('names validationData[0] and [1] in the checks of validation data', async () => {
    const net = small(8);
    const x = uniform([4, 3], new Rng(8));
    const y = Tensor.oneHot([0, 1, 0, 1], 2);
    await expect(net.train(x, y, { validationData: [uniform([4, 2], new Rng(1)), y] })).rejects.toThrow(
      new ShapeError("validationData[0] must have shape [n, 3] to fit the network's input, got [4, 2]"),
    );
    await expect(net.train(x, y, { validationData: [x, Tensor.oneHot([0, 1, 0], 2)] })).rejects.toThrow(
      new ShapeError('validationData[1] must have shape [4, 2] (validationData[0] has 4 samples), got [3, 2]'),
    );
    net.dispose();
  });
});

describe('SequentialNet training step against computeGradients', () => {
  /** One SGD step of train() on the whole batch against w − lr · ∂C/∂w from computeGradients on a copy. */
  async function oneStepAsGradients(build: () => SequentialNet, x: Tensor, y: Tensor): Promise<void> {
    const lr = 0.05;
    const net = build();
    const ref = SequentialNet.load(net.save());
    ref.computeGradients(x, y);
    await net.train(x, y, { batchSize: x.shape[0], epochs: 1, shuffle: false });
    const got = net.parameters();
    ref.parameters().forEach((p, i) => {
      const before = p.value.view();
      const grad = p.grad.view();
      const after = got[i].value.view();
      expect(grad.some((g) => g !== 0), `${p.name}: some gradient`).toBe(true);
      for (let j = 0; j < before.length; j++) expect(Math.abs(after[j] - (before[j] - lr * grad[j])), `${p.name}[${j}]`).toBeLessThan(1e-6);
    });
    net.dispose();
    ref.dispose();
  }

  it('mean squared error through every layer (∂C/∂a handed down from the output layer)', async () => {
    const build = () => {
      const net = new SequentialNet([3], { seed: 2, loss: new MeanSquaredError() });
      net.addDense(4, { afun: new Tanh(), optim: new SGD(0.05) });
      net.addDense(2, { afun: new Identity(), optim: new SGD(0.05) });
      return net;
    };
    await oneStepAsGradients(build, uniform([6, 3], new Rng(2)), uniform([6, 2], new Rng(3)));
  });

  it('two convolution-ReLU-max-pooling blocks, each fused into one kernel (the second hands ∂C/∂x to the first)', async () => {
    const build = () => {
      const net = new SequentialNet([1, 10, 10], { seed: 3 });
      net.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new SGD(0.05) });
      net.addPool2D([2, 2]);
      net.addConv2D([4, 2, 2], { afun: new ReLU(), optim: new SGD(0.05) });
      net.addPool2D([2, 2]);
      net.addFlatten();
      net.addDense(3, { afun: new SoftMax(), optim: new SGD(0.05) });
      return net;
    };
    await oneStepAsGradients(build, uniform([5, 1, 10, 10], new Rng(4), 0, 1), Tensor.oneHot([0, 1, 2, 0, 1], 3));
  });
});

describe('SequentialNet.dispose', () => {
  it('is safe twice, and every use after it throws DisposedError', () => {
    const before = wasmBytesInUse();
    const net = small();
    net.computeGradients(uniform([5, 3], new Rng(2)), Tensor.oneHot([0, 1, 0, 1, 1], 2));
    expect(net.isDisposed).toBe(false);
    net.dispose();
    net.dispose();
    expect(wasmBytesInUse()).toBe(before);
    expect(net.isDisposed).toBe(true);
    const uses: (() => unknown)[] = [
      () => { net.training = true; }, () => net.add(new FlattenLayer()), () => net.buildContext(), () => net.parameters(),
      () => net.buffers(), () => net.lossOn(Tensor.zeros([1, 3]), Tensor.zeros([1, 2])), () => net.save(),
    ];
    for (const use of uses) expect(messageOf(use, DisposedError)).toBe('this SequentialNet was disposed');
  });

  it('frees its layers, its buffers and the losses it made or was given', () => {
    const before = wasmBytesInUse();
    const net = new SequentialNet([3], { seed: 1, loss: new MeanSquaredError() });
    net.addDense(4, { afun: new Tanh() });
    net.addDense(2, { afun: new Identity() });
    const x = uniform([40, 3], new Rng(1));
    net.computeGradients(x, Tensor.zeros([40, 2]));
    net.measure(x, Tensor.zeros([40, 2]));
    expect(wasmBytesInUse()).toBeGreaterThan(before);
    net.dispose();
    expect(wasmBytesInUse()).toBe(before);
    const ce = small();
    ce.computeGradients(x, Tensor.oneHot(new Array(40).fill(1), 2));
    ce.dispose();
    expect(wasmBytesInUse()).toBe(before);
    const mse = new SequentialNet([3], { seed: 1 });
    mse.addDense(2, { afun: new Identity() });
    mse.computeGradients(x, Tensor.zeros([40, 2]));
    mse.dispose();
    expect(wasmBytesInUse()).toBe(before);
  });
});
