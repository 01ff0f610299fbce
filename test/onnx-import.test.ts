/**
 * fromOnnx on graphs written node by node (test/helpers/onnx-build.ts): each form another exporter may write is
 * read as the network ONNX Runtime computes (within 1e-5 of the output's scale), and each layer gets the options
 * the file says. The refusals are in test/onnx-refusals.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Adam, type Conv2DLayer, type DenseLayer, Rng, type SequentialNet } from 'wasmnet';
import { fromOnnx } from 'wasmnet/onnx';
import { attr, f32, i64, node, onnxModel, DT } from './helpers/onnx-build.js';
import { expectRelClose, runOrt } from './helpers/onnx.js';
import { uniform, values } from './helpers/util.js';

const w = (n: number, seed: number) => Array.from(values(n, new Rng(seed)));

/** The layers' specs without their optimizers, as `fromOnnx` built them. */
function specs(net: SequentialNet): object[] {
  return net.layers.map((l) => {
    const { optim: _optim, ...spec } = l.toSpec() as unknown as Record<string, unknown>;
    return spec;
  });
}

/** Imports `bytes`, checks its output against ONNX Runtime's on a batch of 3, and hands back the network. */
async function importedAsOrtComputes(bytes: Uint8Array, sample: number[], n = 3): Promise<SequentialNet> {
  const net = fromOnnx(bytes);
  const x = uniform([n, ...sample], new Rng(17));
  const ours = net.evaluate(x);
  const theirs = await runOrt(bytes, x.data, x.shape);
  expect(ours.shape).toEqual([...theirs.dims]);
  expectRelClose(ours.data, theirs.data, 1e-5, 'output');
  return net;
}

describe('fromOnnx reads the forms other exporters write, as ONNX Runtime computes them', () => {
  it("Conv with auto_pad SAME_UPPER and an even kernel (wasmnet's 'same'), its bias an Add of [1, m, 1, 1], then Relu", async () => {
    const bytes = onnxModel({
      input: ['N', 2, 6, 5],
      nodes: [
        node('Conv', ['x', 'W'], ['c'], [attr.string('auto_pad', 'SAME_UPPER')]),
        node('Add', ['c', 'B'], ['cb']),
        node('Relu', ['cb'], ['y']),
      ],
      initializers: [f32('W', [3, 2, 2, 2], w(24, 1), true), f32('B', [1, 3, 1, 1], [0.5, -0.25, 0.125])],
    });
    const net = await importedAsOrtComputes(bytes, [2, 6, 5]);
    expect(specs(net)).toEqual([{ kind: 'Conv2D', fshape: [3, 2, 2], afun: 'ReLU', padding: 'same' }]);
    expect(Array.from((net.layers[0] as Conv2DLayer).b)).toEqual([0.5, -0.25, 0.125]);
    net.dispose();
  });

  it('Conv with its own bias, SAME_LOWER and an odd kernel, another Add of [m, 1, 1]; MaxPool with ceil_mode where ceil and floor agree, then Sigmoid', async () => {
    const bytes = onnxModel({
      input: ['N', 1, 6, 6],
      nodes: [
        node('Conv', ['x', 'W', 'B'], ['c'], [attr.string('auto_pad', 'SAME_LOWER'), attr.ints('kernel_shape', [3, 3])]),
        node('Add', ['c', 'B2'], ['cb']),
        node('MaxPool', ['cb'], ['p'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2]), attr.int('ceil_mode', 1)]),
        node('Sigmoid', ['p'], ['y']),
      ],
      initializers: [f32('W', [2, 1, 3, 3], w(18, 2)), f32('B', [2], [0.25, 1]), f32('B2', [2, 1, 1], [1, -0.5])],
    });
    const net = await importedAsOrtComputes(bytes, [1, 6, 6]);
    expect(specs(net)).toEqual([
      { kind: 'Conv2D', fshape: [2, 3, 3], afun: 'Sigmoid', padding: [1, 1] },
      { kind: 'Pool2D', area: [2, 2], strict: false },
    ]);
    // The Add's bias is added to the Conv's own.
    expect(Array.from((net.layers[0] as Conv2DLayer).b)).toEqual([1.25, 0.5]);
    net.dispose();
  });

  it('Conv with VALID, strides [2, 1] and pads written out as zeros; AveragePool with strides [1, 2]; Flatten with axis −3; Gemm with alpha, beta and a one-value C', async () => {
    const bytes = onnxModel({
      input: ['N', 1, 9, 8],
      nodes: [
        node('Conv', ['x', 'W', 'B'], ['c'], [attr.string('auto_pad', 'VALID'), attr.ints('strides', [2, 1]), attr.ints('dilations', [1, 1]), attr.int('group', 1)]),
        node('AveragePool', ['c'], ['p'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [1, 2]), attr.string('auto_pad', 'VALID')]),
        node('Flatten', ['p'], ['f'], [attr.int('axis', -3)]),
        node('Gemm', ['f', 'G', 'C'], ['y'], [attr.float('alpha', 0.5), attr.float('beta', 2)]),
      ],
      initializers: [f32('W', [2, 1, 3, 2], w(12, 3)), f32('B', [2], [0.1, -0.2]), f32('G', [18, 3], w(54, 4)), f32('C', [1], [0.75])],
    });
    const net = await importedAsOrtComputes(bytes, [1, 9, 8]);
    expect(specs(net)).toEqual([
      { kind: 'Conv2D', fshape: [2, 3, 2], afun: 'Identity', stride: [2, 1] },
      { kind: 'AvgPool2D', area: [2, 2], stride: [1, 2] },
      { kind: 'Flatten' },
      { kind: 'Dense', outputSize: 3, afun: 'Identity' },
    ]);
    expect(Array.from((net.layers[3] as DenseLayer).b)).toEqual([1.5, 1.5, 1.5]);
    net.dispose();
  });

  it("Gemm with transB (PyTorch's Linear) and C of [1, out], Softmax with axis 1; explicit symmetric Conv pads", async () => {
    const bytes = onnxModel({
      input: ['N', 1, 4, 4],
      nodes: [
        node('Conv', ['x', 'W'], ['c'], [attr.ints('pads', [1, 2, 1, 2]), attr.ints('strides', [1, 1])]),
        node('Flatten', ['c'], ['f']),
        node('Gemm', ['f', 'G', 'C'], ['g'], [attr.int('transB', 1), attr.int('transA', 0)]),
        node('Softmax', ['g'], ['y'], [attr.int('axis', 1)]),
      ],
      initializers: [f32('W', [1, 1, 3, 3], w(9, 5)), f32('G', [4, 24], w(96, 6)), f32('C', [1, 4], [1, 2, 3, 4])],
    });
    const net = await importedAsOrtComputes(bytes, [1, 4, 4]);
    expect(specs(net)).toEqual([
      { kind: 'Conv2D', fshape: [1, 3, 3], afun: 'Identity', padding: [1, 2] },
      { kind: 'Flatten' },
      { kind: 'Dense', outputSize: 4, afun: 'SoftMax' },
    ]);
    net.dispose();
  });

  it('MatMul with an Add of [1, out] as its bias; Dropout with its ratio and training_mode as inputs; a Relu after the Dropout', async () => {
    const bytes = onnxModel({
      input: ['N', 6],
      nodes: [
        node('MatMul', ['x', 'M'], ['m']),
        node('Add', ['m', 'B'], ['mb']),
        node('Dropout', ['mb', 'ratio', 'training'], ['d', 'mask']),
        node('Relu', ['d'], ['y']),
      ],
      initializers: [f32('M', [6, 5], w(30, 7)), f32('B', [1, 5], [1, 0, -1, 0.5, 0]), f32('ratio', [], [0.25]), { name: 'training', dims: [], dataType: DT.BOOL, rawData: new Uint8Array([0]) }],
    });
    const net = await importedAsOrtComputes(bytes, [6]);
    expect(specs(net)).toMatchObject([
      { kind: 'Dense', outputSize: 5, afun: 'ReLU' },
      { kind: 'Dropout', rate: 0.25 },
    ]);
    net.dispose();
  });

  it("PyTorch's x.view(x.size(0), -1) written as Shape → Gather (index −4) → Unsqueeze (axes as input) → Concat → Reshape", async () => {
    const bytes = onnxModel({
      input: ['N', 2, 3, 3],
      opset: 13,
      nodes: [
        node('Shape', ['x'], ['s']),
        node('Gather', ['s', 'idx'], ['n'], [attr.int('axis', 0)]),
        node('Unsqueeze', ['n', 'axes'], ['n1']),
        node('Concat', ['n1', 'rest'], ['target'], [attr.int('axis', 0)]),
        node('Reshape', ['x', 'target'], ['f']),
        node('MatMul', ['f', 'M'], ['y']),
      ],
      initializers: [i64('idx', [], [-4]), i64('axes', [1], [0], true), i64('rest', [1], [-1]), f32('M', [18, 2], w(36, 8))],
    });
    const net = await importedAsOrtComputes(bytes, [2, 3, 3]);
    expect(specs(net)).toEqual([{ kind: 'Flatten' }, { kind: 'Dense', outputSize: 2, afun: 'Identity' }]);
    net.dispose();
  });

  it('Shape with start and end (opset 15), Constant nodes of every kind, Squeeze, Cast and Identity on constants', async () => {
    const bytes = onnxModel({
      input: ['N', 3, 2, 2],
      opset: 15,
      nodes: [
        node('Shape', ['x'], ['s'], [attr.int('start', 0), attr.int('end', -3)]),
        node('Constant', [], ['minus1'], [attr.ints('value_ints', [-1])]),
        node('Concat', ['s', 'minus1'], ['t0'], [attr.int('axis', 0)]),
        node('Cast', ['t0'], ['t1'], [attr.int('to', DT.INT64)]),
        node('Identity', ['t1'], ['target']),
        node('Reshape', ['x', 'target'], ['f']),
        node('Constant', [], ['M'], [attr.tensor('value', f32('', [12, 2], w(24, 9)))]),
        node('MatMul', ['f', 'M'], ['m']),
        node('Constant', [], ['B'], [attr.floats('value_floats', [0.5, -0.5])]),
        node('Add', ['m', 'B'], ['mb']),
        node('Constant', [], ['ratio'], [attr.float('value_float', 0.125)]),
        node('Dropout', ['mb', 'ratio'], ['y']),
      ],
    });
    const net = await importedAsOrtComputes(bytes, [3, 2, 2]);
    expect(specs(net)).toMatchObject([{ kind: 'Flatten' }, { kind: 'Dense', outputSize: 2 }, { kind: 'Dropout', rate: 0.125 }]);
    expect(Array.from((net.layers[1] as DenseLayer).b)).toEqual([0.5, -0.5]);
    net.dispose();
  });

  it('a Reshape to [batch, −1] by value when the file fixes the batch, [0, −1], and one that changes nothing; Squeeze and value_int on shapes', async () => {
    const bytes = onnxModel({
      input: [3, 2, 2, 2],
      nodes: [
        node('Constant', [], ['zero'], [attr.int('value_int', 0)]),
        node('Shape', ['x'], ['s']),
        node('Gather', ['s', 'zero'], ['n']),
        node('Constant', [], ['first'], [attr.ints('value_ints', [0])]),
        node('Unsqueeze', ['n', 'first'], ['n1']),
        node('Squeeze', ['n1', 'axes0'], ['n2']),
        node('Unsqueeze', ['n2', 'axes0'], ['n3']),
        node('Concat', ['n3', 'c', 'hw'], ['same'], [attr.int('axis', 0)]),
        node('Reshape', ['x', 'same'], ['x2']),
        node('Reshape', ['x2', 'fixed'], ['f']),
        node('Reshape', ['f', 'keep'], ['f2']),
        node('MatMul', ['f2', 'M'], ['y']),
      ],
      initializers: [i64('axes0', [1], [0]), i64('c', [1], [2]), i64('hw', [2], [2, 2]), i64('fixed', [2], [3, -1]), i64('keep', [2], [0, -1]), f32('M', [8, 2], w(16, 10))],
    });
    const net = await importedAsOrtComputes(bytes, [2, 2, 2]);
    expect(specs(net)).toEqual([{ kind: 'Flatten' }, { kind: 'Dense', outputSize: 2, afun: 'Identity' }]);
    net.dispose();
  });

  it('BatchNormalization on [n, features] after a Gemm, with epsilon and momentum read as PyTorch would write them; Pad with zeros and Identity on the chain', async () => {
    const bytes = onnxModel({
      input: ['N', 1, 5, 5],
      nodes: [
        node('Identity', ['x'], ['x1']),
        node('Pad', ['x1', 'pads'], ['x2'], [attr.string('mode', 'constant')]),
        node('AveragePool', ['x2'], ['p'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [1, 1])]),
        node('Flatten', ['p'], ['f']),
        node('Gemm', ['f', 'G', 'C'], ['g'], [attr.int('transB', 1)]),
        node('BatchNormalization', ['g', 'scale', 'bias', 'mean', 'var'], ['bn'], [attr.float('epsilon', 1e-3), attr.float('momentum', 0.8)]),
        node('Tanh', ['bn'], ['y']),
      ],
      initializers: [
        i64('pads', [8], [0, 0, 0, 0, 0, 0, 0, 0]),
        f32('G', [3, 16], w(48, 11)),
        f32('C', [3], [0, 1, 2]),
        f32('scale', [3], [1, 2, 0.5]),
        f32('bias', [3], [0.1, 0.2, 0.3]),
        f32('mean', [3], [0.5, -0.5, 0]),
        f32('var', [3], [1, 4, 0.25]),
      ],
    });
    const net = await importedAsOrtComputes(bytes, [1, 5, 5]);
    expect(specs(net)).toMatchObject([
      { kind: 'AvgPool2D', area: [2, 2], stride: [1, 1] },
      { kind: 'Flatten' },
      { kind: 'Dense', outputSize: 3, afun: 'Identity' },
      { kind: 'BatchNorm', numFeatures: 3, eps: 0.001, momentum: 0.2, afun: 'Tanh' },
    ]);
    net.dispose();
  });

  it('the strict tie rule comes from the MaxPool doc string wasmnet writes, and optim as a function gives every layer its own optimizer', () => {
    const bytes = onnxModel({
      input: ['N', 1, 4, 4],
      nodes: [
        node('Conv', ['x', 'W'], ['c']),
        node('MaxPool', ['c'], ['p'], [attr.ints('kernel_shape', [2, 2])], { docString: 'wasmnet: strict ties (gradient split among tied maxima)' }),
        node('Flatten', ['p'], ['f']),
        node('MatMul', ['f', 'M'], ['y']),
      ],
      initializers: [f32('W', [1, 1, 1, 1], [2]), f32('M', [9, 2], w(18, 12))],
    });
    const made: Adam[] = [];
    const net = fromOnnx(bytes, { optim: () => (made.push(new Adam()), made[made.length - 1]) });
    expect(made.length).toBe(2);
    expect(net.layers[0].optimizers()[0]).toBe(made[0]);
    expect(net.layers[3].optimizers()[0]).toBe(made[1]);
    net.dispose();
  });
});
