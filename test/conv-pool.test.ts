// The network's fused passes for a ReLU layer followed by max pooling: a ReLU convolution's and the pooling's
// forward passes in one kernel, and their backward passes in another, image by image
// (Conv2DLayer.forwardThroughPool and backwardThroughPool, crate/src/conv_pool.rs), and any ReLU layer's backward
// folded into the pooling's (Pool2DLayer.backwardThroughReLU). Each must give the same floats, bit for bit, as the
// separate passes, and leave the pooling the same winners to show.
import { describe, expect, it } from 'vitest';
import { BatchNormLayer, Conv2DLayer, DenseLayer, Identity, type Pool2DLayer, ReLU, Rng, SequentialNet, SoftMax, Tanh, Tensor, gradientCheck } from 'wasmnet';
import { uniform } from './helpers/util.js';

interface Case {
  name: string;
  input: [number, number, number];
  conv: [number, number, number];
  padding?: 'same';
  area: [number, number];
  stride?: [number, number];
}

const CASES: Case[] = [
  { name: 'the course: 3×3 conv, 2×2 tiling, cropped', input: [1, 9, 10], conv: [4, 3, 3], area: [2, 2] },
  { name: "the course's own shape: 32 filters, 13 windows a row", input: [1, 28, 28], conv: [32, 3, 3], area: [2, 2] },
  { name: "'same' padding, 2×2 tiling, two input channels", input: [2, 10, 11], conv: [8, 3, 3], padding: 'same', area: [2, 2] },
  { name: '2×2 tiling over 6 filters (not whole groups of 4: inference through z too)', input: [1, 9, 10], conv: [6, 3, 3], area: [2, 2] },
  { name: "'same' padding, 3×2 tiling", input: [2, 8, 9], conv: [3, 3, 3], padding: 'same', area: [3, 2] },
  { name: 'overlapping 3×3 windows, stride 2', input: [1, 11, 9], conv: [5, 2, 2], area: [3, 3], stride: [2, 2] },
  { name: 'stride larger than the window (gaps)', input: [1, 12, 12], conv: [2, 3, 3], area: [2, 2], stride: [3, 3] },
];

function build(c: Case, strict: boolean): SequentialNet {
  const net = new SequentialNet(c.input, { seed: 5 });
  net.addConv2D(c.conv, { afun: new ReLU(), ...(c.padding ? { padding: c.padding } : {}) });
  net.addPool2D(c.area, { strict, ...(c.stride ? { stride: c.stride } : {}) });
  net.addFlatten();
  net.addDense(6, { afun: new SoftMax() });
  return net;
}

type Mode = 'one kernel' | 'pool through ReLU' | 'separate';

/** Hides the fusions a mode does not use, for one call. */
function withMode<T>(layer: object, mode: Mode, run: () => T): T {
  const hidden = mode === 'one kernel' ? [] : mode === 'pool through ReLU' ? ['outputIsFusedReLU'] : ['outputIsFusedReLU', 'outputIsReLU'];
  for (const name of hidden) Object.defineProperty(layer, name, { get: () => false, configurable: true });
  try {
    return run();
  } finally {
    for (const name of hidden) delete (layer as Record<string, unknown>)[name];
  }
}

/** Counts the calls of `conv`'s one-kernel passes while `run` runs. */
function countingFusedCalls<T>(conv: Conv2DLayer, run: () => T): { result: T; calls: number } {
  let calls = 0;
  const names = ['forwardThroughPool', 'backwardThroughPool'] as const;
  const originals = names.map((name) => conv[name]);
  names.forEach((name, i) => {
    (conv as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls++;
      return (originals[i] as (...a: unknown[]) => unknown).apply(conv, args);
    };
  });
  try {
    return { result: run(), calls };
  } finally {
    for (const name of names) delete (conv as unknown as Record<string, unknown>)[name];
  }
}

/** The predictions, the pooling's winners, the conv gradients, the dense layer's and ∂C/∂x of one pass in `mode`. */
function gradients(net: SequentialNet, x: Tensor, y: Tensor, mode: Mode) {
  const conv = net.layers[0] as Conv2DLayer;
  const { result, calls } = countingFusedCalls(conv, () =>
    withMode(conv, mode, () => ({ predicted: net.evaluate(x).data.slice(), ...net.computeGradients(x, y) })),
  );
  const { loss, inputGradient, predicted } = result;
  // evaluate: the forward pass; computeGradients: the forward and the backward pass.
  expect(calls, mode).toBe(mode === 'one kernel' ? 3 : 0);
  const mask = (net.layers[1] as Pool2DLayer).mask!;
  return { loss, predicted, mask, df: conv.df.slice(), db: conv.db.slice(), dx: inputGradient.data.slice(), dense: (net.layers[3] as DenseLayer).dw.slice() };
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function oneHot(n: number, classes: number, seed: number): Tensor {
  const y = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) y[i * classes + ((i * 7 + seed) % classes)] = 1;
  return new Tensor(y, [n, classes]);
}

describe('ReLU + max pooling forward and backward in one pass', () => {
  for (const c of CASES) {
    for (const strict of [false, true]) {
      it(`${c.name}${strict ? ', strict ties' : ''}: bit-identical to the two passes`, () => {
        const net = build(c, strict);
        const n = 5;
        // Integer levels make ties (and all-zero windows after the ReLU) common.
        const u = uniform([n, ...c.input], new Rng(11));
        const x = new Tensor(u.data.map((v) => Math.round(v * 3)), u.shape);
        const y = oneHot(n, 6, 3);
        const fused = gradients(net, x, y, 'one kernel');
        for (const mode of ['pool through ReLU', 'separate'] as const) {
          const other = gradients(net, x, y, mode);
          expect(fused.loss).toBe(other.loss);
          expect(Array.from(fused.mask), mode).toEqual(Array.from(other.mask));
          for (const key of ['predicted', 'df', 'db', 'dx', 'dense'] as const) expect(bytes(fused[key]), `${key}, ${mode}`).toEqual(bytes(other[key]));
        }
        // The gate did something: some windows were not positive, and their gradient is gone.
        expect(fused.df.some((v) => v !== 0)).toBe(true);
        net.dispose();
      });
    }
  }

  it('batch norm with a ReLU, then max pooling: the ReLU folded into the pooling gives the separate passes\' bits', () => {
    const net = new SequentialNet([2, 9, 8], { seed: 4 });
    net.addConv2D([3, 3, 3], { afun: new Identity() });
    net.addBatchNorm({ afun: new ReLU() });
    net.addPool2D([2, 2], { strict: true });
    net.addFlatten();
    net.addDense(5, { afun: new SoftMax() });
    const u = uniform([6, 2, 9, 8], new Rng(3));
    const x = new Tensor(u.data.map((v) => Math.round(v * 3)), u.shape);
    const y = oneHot(6, 5, 1);
    const bn = net.layers[1] as BatchNormLayer;
    expect(bn.outputIsReLU).toBe(true);
    const run = (mode: Mode) => {
      const { inputGradient } = withMode(bn, mode, () => net.computeGradients(x, y));
      return [inputGradient.data.slice(), ...net.parameters().map((p) => p.grad.toArray())];
    };
    const fused = run('pool through ReLU');
    const separate = run('separate');
    expect(fused.map(bytes)).toEqual(separate.map(bytes));
    net.dispose();
  });

  it('takes the fused path only after a fused ReLU (a Tanh convolution keeps its own backward)', () => {
    const net = new SequentialNet([1, 8, 8], { seed: 2 });
    net.addConv2D([3, 3, 3], { afun: new Tanh() });
    net.addPool2D([2, 2]);
    net.addFlatten();
    net.addDense(4, { afun: new SoftMax() });
    expect((net.layers[0] as Conv2DLayer).outputIsFusedReLU).toBe(false);
    const relu = build(CASES[0], false);
    expect((relu.layers[0] as Conv2DLayer).outputIsFusedReLU).toBe(true);
    net.dispose();
    relu.dispose();
  });
});

// A first layer whose input rows fill whole vectors of ∂C/∂z (w = 4·⌈zw/4⌉: 12 = 4·⌈10/4⌉, the course's 28) with 3×3
// filters takes its filter gradient from ∂C/∂z laid out at the input's row stride (crate/src/conv/direct.rs,
// filter_gradient_wide): written so by the pooling's backward in a training step (no ∂C/∂x wanted), copied so
// elsewhere (computeGradients, a convolution alone). These run it in the built .wasm.
describe('the filter gradient from ∂C/∂z at the input\'s row stride, through the built wasm', () => {
  const wide = (seed: number) => {
    const net = new SequentialNet([1, 12, 12], { seed });
    net.addConv2D([5, 3, 3], { afun: new ReLU() });
    net.addPool2D([2, 2]);
    net.addFlatten();
    net.addDense(6, { afun: new SoftMax() });
    return net;
  };

  it('agrees with central differences: a Tanh convolution alone and the course-shaped network', () => {
    const conv = new Conv2DLayer([1, 12, 12], [5, 3, 3], { afun: new Tanh(), seed: 8 });
    const alone = gradientCheck(conv, uniform([3, 1, 12, 12], new Rng(8)));
    for (const [name, error] of Object.entries(alone.errors)) expect(error, name).toBeLessThan(1e-2);
    const net = wide(9);
    const x = uniform([4, 1, 12, 12], new Rng(9));
    const result = gradientCheck(net, x, oneHot(4, 6, 2));
    for (const [name, error] of Object.entries(result.errors)) expect(error, name).toBeLessThan(1e-2);
    conv.dispose();
    net.dispose();
  });

  it("a training step's gradient (∂C/∂z written at the row stride by the pooling) is computeGradients' (copied), bit for bit", async () => {
    const n = 5;
    const u = uniform([n, 1, 12, 12], new Rng(10));
    const x = new Tensor(u.data.map((v) => Math.round(v * 3)), u.shape);
    const y = oneHot(n, 6, 4);
    const trained = wide(11);
    const reference = wide(11);
    // One batch of 5 (one shard): the gradient stays in the layers after the update, which moves only the weights.
    await trained.train(x, y, { batchSize: n, epochs: 1, shuffle: false, workers: 1 });
    const { loss } = reference.computeGradients(x, y);
    expect(Number.isFinite(loss)).toBe(true);
    const [a, b] = [trained.layers[0] as Conv2DLayer, reference.layers[0] as Conv2DLayer];
    expect(a.df.some((v) => v !== 0)).toBe(true);
    expect(bytes(a.df)).toEqual(bytes(b.df));
    expect(bytes(a.db)).toEqual(bytes(b.db));
    trained.dispose();
    reference.dispose();
  });
});
