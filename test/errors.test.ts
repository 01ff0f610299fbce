// Every bad input gets a clear error: the class, and a message naming the argument, the expected and the given value.
// The README's table of bad inputs is this list.
import { describe, expect, it } from 'vitest';
import {
  Adam, Conv2DLayer, Identity, DenseLayer, DisposedError, FlattenLayer, OutOfMemoryError, Pool2DLayer, SGD, SequentialNet, ShapeError,
  SoftMax, Tensor, ValueError, WasmnetError, activationByName, courseCnn, gradientCheck, lossByName, readIdx, wasmBytesInUse, CosineAnnealing,
} from 'wasmnet';

const x4 = (n: number) => new Tensor(new Float32Array(n * 784).fill(0.5), [n, 1, 28, 28]);
const y10 = (n: number) => Tensor.oneHot(new Array(n).fill(3), 10);

type Case = [what: string, run: () => unknown, cls: typeof WasmnetError, message: RegExp];

const cases: Case[] = [
  ['data length ≠ product of the shape', () => new Tensor(new Float32Array(5), [2, 3]), ShapeError, /data has 5 values but shape \[2, 3\] needs 6/],
  ['a negative dimension', () => new Tensor([], [2, -1]), ShapeError, /shape must be a non-empty array of non-negative integers, got \[2, -1\]/],
  ['a label out of range', () => Tensor.oneHot([1, 10], 10), ValueError, /labels\[1\] must be an integer in \[0, 9\], got 10/],
  ['a filter larger than its input', () => new Conv2DLayer([1, 4, 4], [8, 5, 5]), ShapeError, /a 5×5 filter does not fit the 4×4 input/],
  ['a non-integer filter count', () => new Conv2DLayer([1, 28, 28], [2.5, 3, 3]), ShapeError, /Conv2D fshape must be the filter bank shape \[m, fh, fw\].*got \[2.5, 3, 3\]/],
  ['a pooling area larger than its input', () => new SequentialNet([1, 3, 3]).addPool2D([4, 4]), ShapeError, /Pool2D area \[4, 4\] is larger than its 3×3 input/],
  ['a non-positive pooling area', () => new Pool2DLayer([0, 2]), ShapeError, /Pool2D area must be the pooling area \[ph, pw\].*got \[0, 2\]/],
  ['a bad pooling stride', () => new Pool2DLayer([2, 2], { stride: 0 }), ValueError, /Pool2D stride must be a positive integer or \[sh, sw\], got 0/],
  ['a dense layer on 4-D input without flatten', () => new SequentialNet([1, 28, 28]).addDense(10), ShapeError, /addDense needs a flat input, but the network's output so far has shape \[1, 28, 28\]: call addFlatten\(\) first/],
  ['a dense layer of size 0', () => new DenseLayer(4, 0), ValueError, /Dense outputSize must be an integer ≥ 1, got 0/],
  ['input that does not match the network', () => courseCnn().evaluate(new Tensor(new Float32Array(2 * 784), [2, 784])), ShapeError, /x must have shape \[n, 1, 28, 28\] to fit the network's input, got \[2, 784\]/],
  ['label width ≠ output width', () => courseCnn().lossOn(x4(2), Tensor.oneHot([1, 2], 3)), ShapeError, /y must have shape \[2, 10\] \(the network's output is \[10\] per sample\), got \[2, 3\]/],
  ['x and y sample counts differ', () => courseCnn().train(x4(3), y10(2)), ShapeError, /y must have shape \[3, 10\] \(x has 3 samples\), got \[2, 10\]/],
  ['NaN in training data', () => { const x = x4(2); x.data[800] = NaN; return courseCnn().train(x, y10(2)); }, ValueError, /x must hold finite numbers, but index 800 \(sample 1, offset 16\) is NaN/],
  ['Infinity in labels', () => { const y = y10(2); y.data[3] = Infinity; return courseCnn().train(x4(2), y); }, ValueError, /y must hold finite numbers, but index 3 \(sample 0, offset 3\) is Infinity/],
  ['negative labels for cross-entropy', () => { const y = y10(2); y.data[0] = -1; return courseCnn().train(x4(2), y); }, ValueError, /y must hold labels ≥ 0 for cross-entropy/],
  ['batch size 0', () => courseCnn().train(x4(2), y10(2), { batchSize: 0 }), ValueError, /batchSize must be an integer ≥ 1, got 0/],
  ['fractional epochs', () => courseCnn().train(x4(2), y10(2), { epochs: 2.5 }), ValueError, /epochs must be an integer ≥ 1, got 2.5/],
  ['a learning rate of 0', () => new Adam(0), ValueError, /Adam lr must be a finite number > 0, got 0/],
  ['a learning rate of NaN', () => new SGD(NaN), ValueError, /SGD lr must be a finite number > 0, got NaN/],
  ['a learning rate changed to Infinity', () => { const o = new SGD(); o.lr = Infinity; o.update([]); }, ValueError, /SGD lr must be a finite number ≥ 0, got Infinity/],
  ['momentum ≥ 1', () => new SGD(0.1, { momentum: 1 }), ValueError, /SGD momentum must be a number in \[0, 1\), got 1/],
  ['a misspelt option', () => new SGD(0.1, { momentun: 0.9 } as never), ValueError, /SGD options: unknown option "momentun", did you mean "momentum"\? \(known: momentum, nesterov, weightDecay\)/],
  ['Nesterov without momentum', () => new SGD(0.1, { nesterov: true }), ValueError, /SGD nesterov needs momentum > 0/],
  ['negative weight decay', () => new SGD(0.1, { weightDecay: -1 }), ValueError, /SGD weightDecay must be a finite number ≥ 0, got -1/],
  ['SoftMax on a convolution', () => new Conv2DLayer([1, 5, 5], [2, 3, 3], { afun: new SoftMax() }), ValueError, /Conv2D afun must be elementwise/],
  ['an afun that is not an activation', () => new DenseLayer(3, 2, { afun: 'relu' as never }), ValueError, /Dense afun must be an Activation \(ReLU, SoftMax, …\), got "relu"/],
  ['an unknown activation name', () => activationByName('Relu'), ValueError, /unknown activation "Relu": expected Identity, ReLU, Sigmoid, Tanh or SoftMax/],
  ['an unknown loss name', () => lossByName('MSE'), ValueError, /unknown loss "MSE": expected CrossEntropy or MeanSquaredError/],
  ['options that are not an object', () => new SequentialNet([1, 28, 28], 42 as never), ValueError, /SequentialNet options must be an options object, got 42/],
  ['a callback that is not a function', () => courseCnn().train(x4(1), y10(1), { onBatch: 'log' as never }), ValueError, /onBatch must be a function, got "log"/],
  ['an onEpoch that is not a function', () => courseCnn().train(x4(1), y10(1), { onEpoch: 42 as never }), ValueError, /^onEpoch must be a function, got 42$/],
  ['shuffle that is not a boolean', () => courseCnn().train(x4(1), y10(1), { shuffle: 'no' as never }), ValueError, /^shuffle must be true or false, got "no"$/],
  ['validationData that is one tensor', () => courseCnn().train(x4(1), y10(1), { validationData: x4(1) as never }), ValueError, /^validationData must be \[x, y\], got Tensor$/],
  ['validationData without its labels', () => courseCnn().train(x4(1), y10(1), { validationData: [x4(1)] as never }), ValueError, /^validationData must be \[x, y\], got \[Tensor\]$/],
  ['validationData that only looks like a pair', () => courseCnn().train(x4(1), y10(1), { validationData: { 0: x4(1), 1: y10(1), length: 2 } as never }), ValueError, /^validationData must be \[x, y\], got Object$/],
  ['validationData labels of another width', () => courseCnn().train(x4(1), y10(1), { validationData: [x4(2), Tensor.oneHot([1, 2], 3)] }), ShapeError, /^validationData\[1\] must have shape \[2, 10\] \(the network's output is \[10\] per sample\), got \[2, 3\]$/],
  ['weights of the wrong length', () => { new DenseLayer(3, 2).w = [1, 2]; }, ShapeError, /Dense.w must get 6 values, got 2/],
  ['NaN weights', () => { new DenseLayer(1, 2).w = [1, NaN]; }, ValueError, /Dense.w must hold finite numbers, but index 1 is NaN/],
  ['something that is not a layer', () => new SequentialNet([3]).add({} as never), ValueError, /add needs a layer .* got Object/],
  ['a network with no layers', () => new SequentialNet([3]).evaluate(new Tensor([1, 2, 3], [1, 3])), ShapeError, /the network has no layers/],
  ['use after dispose', () => { const n = courseCnn(); n.dispose(); return n.evaluate(x4(1)); }, DisposedError, /this SequentialNet was disposed/],
  ['a layer used after dispose', () => { const l = new FlattenLayer(); l.dispose(); return l.evaluate(x4(1)); }, DisposedError, /this Flatten layer was disposed/],
  ['a layer too large for 4 GiB', () => new DenseLayer(200_000, 10_000, { optim: new Adam() }), OutOfMemoryError, /Dense 200000 → 10000 needs 29.80 GiB of WebAssembly memory, but only .* are free/],
  ['gradientCheck of something else', () => gradientCheck({} as never, x4(1)), ValueError, /gradientCheck needs a SequentialNet, a layer, an activation or a loss, got Object/],
  ['a truncated IDX file', () => readIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]), 'labels.idx'), ValueError, /labels.idx: truncated: dimensions \[9\] need 17 bytes, the file has 10/],
  ['a model file that is not one', () => SequentialNet.load(new TextEncoder().encode('GIF89a...')), ValueError, /not a wasmnet model file/],
  ['a misspelt layer option', () => new Conv2DLayer([1, 8, 8], [2, 3, 3], { stirde: 2 } as never), ValueError, /Conv2D options: unknown option "stirde", did you mean "stride"\? \(known: afun, optim, initializer, seed, rng, padding, stride\)/],
  ['a misspelt train option', () => courseCnn().train(x4(2), y10(2), { epoch: 2 } as never), ValueError, /train options: unknown option "epoch", did you mean "epochs"\?/],
  ['a negative padding', () => new Conv2DLayer([1, 8, 8], [2, 3, 3], { padding: -1 }), ValueError, /Conv2D padding must be a non-negative integer, \[ph, pw\], 'valid' or 'same', got -1/],
  ['a convolution stride of 0', () => new Conv2DLayer([1, 8, 8], [2, 3, 3], { stride: 0 }), ValueError, /Conv2D stride must be a positive integer or \[sh, sw\], got 0/],
  ['a dropout rate of 1', () => new SequentialNet([4]).addDropout(1), ValueError, /Dropout rate must be a number in \[0, 1\)/],
  ['batch norm on a 3-D tensor', () => new SequentialNet([4, 5]).addBatchNorm(), ShapeError, /addBatchNorm needs \[c, h, w\] or \[f\] samples .* got|so far has shape \[4, 5\]/],
  ['SoftMax after batch norm on [c, h, w]', () => new SequentialNet([2, 4, 4]).addBatchNorm({ afun: new SoftMax() }), ValueError, /BatchNorm afun on \[c, h, w\] samples must be elementwise/],
  ['batch norm whose last batch has 1 sample', () => { const n = new SequentialNet([3]); n.addBatchNorm(); n.addDense(2); return n.train(new Tensor(new Float32Array(15), [5, 3]), new Tensor(new Float32Array(10), [5, 2]), { batchSize: 2 }); }, ShapeError, /BatchNorm in training mode needs more than 1 value per channel, but a batch of 1 gives 1/],
  ['a schedule class without new', () => courseCnn().train(x4(2), y10(2), { lrSchedule: CosineAnnealing as never }), ValueError, /lrSchedule must be a schedule object such as new CosineAnnealing/],
  ['a layer added to a second network', () => { const l = new FlattenLayer(); new SequentialNet([2, 2]).add(l); new SequentialNet([2, 2]).add(l); }, ValueError, /belongs to another network/],
  ['parameters of a disposed network', () => { const n = courseCnn(); n.dispose(); n.parameters(); }, DisposedError, /this SequentialNet was disposed/],
];

describe('bad inputs', () => {
  for (const [what, run, cls, message] of cases) {
    it(`${what} → ${cls.name}`, async () => {
      const before = wasmBytesInUse();
      let error: unknown;
      try {
        await run();
      } catch (e) {
        error = e;
      }
      expect(error, 'no error was thrown').toBeInstanceOf(cls);
      expect(error).toBeInstanceOf(WasmnetError);
      expect((error as Error).message).toMatch(message);
      if (cls === OutOfMemoryError) expect(wasmBytesInUse()).toBe(before);
    });
  }

  it('a batch too large for 4 GiB → OutOfMemoryError, before anything is allocated', () => {
    const net = new SequentialNet([1, 1000, 1000], { seed: 1 });
    net.addConv2D([64, 3, 3]);
    const x = new Tensor(new Float32Array(20e6), [20, 1, 1000, 1000]);
    const before = wasmBytesInUse();
    expect(() => net.evaluate(x, { batchSize: 20 })).toThrow(/evaluate in batches of 20 needs 19.15 GiB of WebAssembly memory/);
    expect(wasmBytesInUse()).toBe(before);
    net.dispose();
  });
});

describe('a failed load leaves nothing behind', () => {
  it('a model whose layers do not fit together is refused and its partial network freed', () => {
    const net = courseCnn({ seed: 1 });
    const bytes = net.save();
    net.dispose();
    // Rewrite the header so the dense layer expects another width: same length, valid checksum recomputed.
    const text = new TextDecoder().decode(bytes);
    const broken = new TextEncoder().encode(text.replace('"outputSize":100', '"outputSize":101'));
    const before = wasmBytesInUse();
    expect(() => SequentialNet.load(broken)).toThrow(ValueError);
    expect(wasmBytesInUse()).toBe(before);
  });
});

describe('nothing lost when training fails', () => {
  it('a non-finite gradient stops training and leaves the weights as before the batch', async () => {
    const net = new SequentialNet([2], { seed: 1 });
    const layer = net.addDense(2, { afun: new Identity(), optim: new SGD(0.1) });
    const x = new Tensor([1e30, 1e30, 1, 1], [2, 2]);
    const y = new Tensor([1, 0, 0, 1], [2, 2]);
    // The loss is finite in float64, but dw = aᵀ·δ ≈ 1e30 · 1e30 overflows float32.
    const w = Array.from(layer.w);
    await expect(net.train(x, y, { batchSize: 2 })).rejects.toThrow(/training stopped: the (loss|gradient of layers\.0\.w) is .* at epoch 1, batch 1 of 1; the network keeps the weights/);
    expect(Array.from(layer.w)).toEqual(w);
    net.dispose();
  });

  // Batches of several shards: their gradient is checked as the gradient tree's last add writes it (2 shards: the
  // root's right child in place; 3: an add into the gradients), and Adam checks the parameters as it writes them.
  // With 2 shards, the dense layer's w has its root sum made by the second shard's backward pass, which checks
  // nothing: the checkpoint looks at it, whichever shard held the bad sample.
  for (const [batchSize, bad] of [[64, 59], [64, 3], [96, 91]]) {
    it(`batch ${batchSize} (several shards): a non-finite gradient in sample ${bad} is found and named, the weights kept`, async () => {
      const net = new SequentialNet([2], { seed: 1 });
      const layer = net.addDense(2, { afun: new Identity(), optim: new Adam(0.01) });
      const x = new Tensor(Float32Array.from({ length: 2 * batchSize }, (_, i) => (i >> 1 === bad ? 1e30 : 1)), [batchSize, 2]);
      const y = Tensor.oneHot(Array.from({ length: batchSize }, (_, i) => i % 2), 2);
      const w = Array.from(layer.w);
      await expect(net.train(x, y, { batchSize, shuffle: false })).rejects.toThrow(/training stopped: the gradient of layers\.0\.w is not finite at epoch 1, batch 1 of 1; the network keeps the weights/);
      expect(Array.from(layer.w)).toEqual(w);
      net.dispose();
    });

  }

  /** Trains one batch whose last layer's Adam update overflows (lr / (1 − β1) past float32 at the first step); every tensor must come back. */
  async function expectUndone(inputs: number, hidden: number, batchSize: number): Promise<void> {
    const net = new SequentialNet([inputs], { seed: 3 });
    const first = net.addDense(hidden, { afun: new Identity(), optim: new Adam(0.01) });
    net.addDense(2, { afun: new Identity(), optim: new Adam(1e38) });
    const x = new Tensor(Float32Array.from({ length: inputs * batchSize }, (_, i) => ((i * 7919) % 13) / 13 - 0.5), [batchSize, inputs]);
    const y = Tensor.oneHot(Array.from({ length: batchSize }, (_, i) => i % 2), 2);
    const before = net.parameters().map((p) => Array.from(p.value.view()));
    await expect(net.train(x, y, { batchSize })).rejects.toThrow(/the update made layers\.1\.(w|b) overflow at epoch 1, batch 1 of 1; the network keeps the weights/);
    expect(net.parameters().map((p) => Array.from(p.value.view()))).toEqual(before);
    expect(first.w.length).toBe(inputs * hidden);
    net.dispose();
  }

  for (const batchSize of [64, 96]) {
    it(`batch ${batchSize} (several shards): an Adam update that overflows is found and named, and undone`, () => expectUndone(2, 3, batchSize));
  }

  it('an update undone from the packed weights of a dense layer past one GEMM block each way (300 × 600: KC 256, NC 512) gives them back bit for bit', () => expectUndone(300, 600, 96));

  it('an update that overflows is undone', async () => {
    const net = new SequentialNet([1], { seed: 1 });
    const layer = net.addDense(1, { afun: new Identity(), optim: new SGD(1e38) });
    layer.w = [1];
    const w = Array.from(layer.w);
    const b = Array.from(layer.b);
    // dw = 100 and db = 10 are finite; 1 − 1e38·100 is not.
    await expect(net.train(new Tensor([10], [1, 1]), new Tensor([0], [1, 1]))).rejects.toThrow(/the update made layers\.0\.(w|b) overflow at epoch 1, batch 1 of 1/);
    expect(Array.from(layer.w)).toEqual(w);
    expect(Array.from(layer.b)).toEqual(b);
    net.dispose();
  });
});
