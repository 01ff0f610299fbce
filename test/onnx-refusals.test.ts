/**
 * fromOnnx refuses what wasmnet cannot represent exactly with a ValueError naming the node, the operator and what is
 * supported (README, "When things go wrong"): one line per refusal, on graphs written node by node
 * (test/helpers/onnx-build.ts), each message checked whole. The forms it reads are in test/onnx-import.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { type DenseLayer, MeanSquaredError, Rng, ValueError } from 'wasmnet';
import { type FromOnnxOptions, fromOnnx } from 'wasmnet/onnx';
import { DT, type ModelSpec, type NodeSpec, attr, f32, i64, node, onnxMessage, onnxModel } from './helpers/onnx-build.js';
import { encodeOnnx } from './helpers/onnx.js';
import { messageOf, values } from './helpers/util.js';

const w = (n: number) => Array.from(values(n, new Rng(n)));
/** Two 3×3 filters on one channel, and their biases. */
const W = f32('W', [2, 1, 3, 3], w(18));
const B = f32('B', [2], [0.5, -0.5]);
/** A 6 → 3 MatMul weight. */
const M = f32('M', [6, 3], w(18));

/** A model on `[N, ...sample]` (default `[N, 1, 4, 4]`). */
function model(nodes: NodeSpec[], initializers: object[] = [], input: (number | string)[] = ['N', 1, 4, 4], extra: Partial<ModelSpec> = {}): Uint8Array {
  return onnxModel({ input, nodes, initializers, ...extra });
}
/** The same, its message edited before encoding. */
function edited(spec: ModelSpec, edit: (m: any) => void): Uint8Array {
  const m = onnxMessage(spec);
  edit(m);
  return encodeOnnx(m);
}
const refusal = (bytes: Uint8Array, options?: FromOnnxOptions) => messageOf(() => fromOnnx(bytes, options).dispose(), ValueError);
const conv = (extra: object = {}) => node('Conv', ['x', 'W', 'B'], ['c'], [], extra);
const flatThenMatMul = [node('Flatten', ['x'], ['f']), node('MatMul', ['f', 'M'], ['y'])];
const ONLY = "wasmnet imports Conv, MaxPool, AveragePool, Relu, Sigmoid, Tanh, Softmax, Flatten, Reshape, Gemm, MatMul, Add (a bias after MatMul or Conv), BatchNormalization, Dropout, Identity, Constant, Pad (with zero pads), and Shape, Gather, Unsqueeze, Squeeze, Concat, Cast on constant shapes";

describe('fromOnnx refuses, naming what it cannot read', () => {
  it('options and the file as a whole', () => {
    const ok = model([conv()], [W, B]);
    expect(refusal(ok, { softmax: 1 } as never)).toBe('fromOnnx softmax must be true or false, got 1');
    expect(refusal(new Uint8Array(0))).toBe('fromOnnx: the ONNX model is empty (0 bytes)');
    expect(refusal(encodeOnnx({ irVersion: 8, opsetImport: [{ version: 13 }] }))).toBe('not an ONNX model: it has no graph (is this an ONNX file?)');
    expect(refusal(edited({ input: ['N', 1, 4, 4], nodes: [conv()], initializers: [W, B] }, (m) => (m.opsetImport = [{ domain: 'ai.onnx.ml', version: 3 }])))).toBe(
      'the ONNX model declares no opset of the default domain (a truncated file?)',
    );
    for (const opset of [12, 18]) {
      expect(refusal(model([conv()], [W, B], undefined, { opset }))).toBe(`the ONNX model uses opset ${opset}; wasmnet reads opsets 13–17 (convert it, e.g. with onnx.version_converter)`);
    }
    // The default domain may also be named 'ai.onnx'; opsets 13 and 17 are the bounds.
    for (const opset of [13, 17]) fromOnnx(edited({ input: ['N', 1, 4, 4], nodes: [conv()], initializers: [W, B] }, (m) => (m.opsetImport = [{ domain: 'ai.onnx.ml', version: 1 }, { domain: 'ai.onnx', version: opset }]))).dispose();
    expect(refusal(edited({ input: ['N', 1, 4, 4], nodes: [conv()], initializers: [W, B] }, (m) => (m.graph.sparseInitializer = [{ dims: [2], values: f32('v', [1], [1]), indices: i64('i', [1], [0]) }])))).toBe(
      'the ONNX model has sparse initializers, which wasmnet does not read',
    );
    expect(refusal(model([node('Identity', ['x'], ['y'])]))).toBe('the ONNX graph has no layers (only Identity or Constant nodes): there is no network to import');
    expect(refusal(ok, { optim: null } as never)).toBe('fromOnnx optim must be an Optimizer (SGD, Adam, AdamW) or a function returning one, got null');
  });

  it('passes loss and seed to the network', () => {
    const bytes = model([conv()], [W, B]);
    const loss = new MeanSquaredError();
    const net = fromOnnx(bytes, { loss, seed: 5 });
    expect(net.loss).toBe(loss);
    expect(net.buildContext().seed).toBe(5);
    net.dispose();
  });

  it("the graph's input", () => {
    const spec: ModelSpec = { input: ['N', 1, 4, 4], nodes: [conv()], initializers: [W, B] };
    expect(refusal(edited(spec, (m) => (m.graph.input = [])))).toBe('the ONNX model has 0 inputs; wasmnet imports a network with exactly one input');
    expect(refusal(edited(spec, (m) => (m.graph.input[0].type = {})))).toBe(`the ONNX model's input "x" is not a tensor`);
    expect(refusal(edited(spec, (m) => (m.graph.input[0].type.tensorType.elemType = DT.DOUBLE)))).toBe(`the ONNX model's input "x" has element type 11; wasmnet reads float32 inputs (type 1)`);
    expect(refusal(model(flatThenMatMul, [M], [6]))).toBe(`the ONNX model's input "x" must have a known shape [batch, ...sample] (at least 2 dimensions), got 1`);
    expect(refusal(model([conv()], [W, B], ['N', 'C', 4, 4]))).toBe(
      `the ONNX model's input "x": dimension 1 must be a fixed positive size (only the batch dimension may be dynamic), got "C"`,
    );
    expect(refusal(model([conv()], [W, B], ['N', 1, 0, 4]))).toBe(
      `the ONNX model's input "x": dimension 2 must be a fixed positive size (only the batch dimension may be dynamic), got 0`,
    );
    // An initializer listed among the inputs (older exporters) is not an input.
    fromOnnx(edited(spec, (m) => m.graph.input.push({ name: 'W', type: { tensorType: { elemType: DT.FLOAT } } }))).dispose();
  });

  it("the graph's output", () => {
    const spec: ModelSpec = { input: ['N', 1, 4, 4], nodes: [conv(), node('Relu', ['c'], ['y'])], initializers: [W, B] };
    expect(refusal(edited(spec, (m) => (m.graph.output = [])))).toBe('the ONNX model has 0 outputs; wasmnet imports a network with exactly one output');
    expect(refusal(edited(spec, (m) => m.graph.output.push({ name: 'c' })))).toBe('the ONNX model has 2 outputs ("y", "c"); wasmnet imports a network with exactly one output');
    expect(refusal(edited(spec, (m) => (m.graph.output[0].name = 'c')))).toBe(
      `the ONNX model's output "c" is not the end of its chain of nodes ("y"): wasmnet imports a chain of layers without branches`,
    );
    expect(refusal(onnxModel({ ...spec, outputDims: ['N', 2, 2, 3] }))).toBe(`the ONNX model's output "y" is declared [batch, 2, 2, 3], but its nodes compute [batch, 2, 2, 2]`);
    expect(refusal(onnxModel({ ...spec, outputDims: ['N', 2, 2] }))).toBe(`the ONNX model's output "y" is declared [batch, 2, 2], but its nodes compute [batch, 2, 2, 2]`);
    expect(refusal(onnxModel({ ...spec, outputDims: ['N', 'C', 0, 3] }))).toBe(`the ONNX model's output "y" is declared [batch, ?, ?, 3], but its nodes compute [batch, 2, 2, 2]`);
    // Unknown sizes (named or 0) fit anything.
    fromOnnx(onnxModel({ ...spec, outputDims: [7, 'C', 0, 2] })).dispose();
    fromOnnx(onnxModel({ ...spec, outputDims: [] })).dispose();
  });

  it('the chain: domains, unusable values, branches, unknown values, second data inputs, nodes without output', () => {
    expect(refusal(model([conv({ domain: 'com.microsoft' })], [W, B]))).toBe(`ONNX node "n0" (Conv): operators of domain "com.microsoft" are not supported; ${ONLY} of the default domain`);
    fromOnnx(model([conv({ domain: 'ai.onnx' })], [W, B])).dispose();
    expect(refusal(model([conv(), node('Dropout', ['c'], ['d', 'mask']), node('Relu', ['mask'], ['y'])], [W, B]))).toBe(
      `ONNX node "n2" (Relu) reads "mask", the Dropout's output 1, which wasmnet does not compute`,
    );
    expect(refusal(model([conv(), node('Relu', ['x'], ['y'])], [W, B]))).toBe(
      `ONNX node "n1" (Relu) reads "x", which is not the output of the node before it ("c"): wasmnet imports a chain of layers, without branches or skip connections`,
    );
    expect(refusal(model([conv(), node('Add', ['B', 'x'], ['y'])], [W, B]))).toBe(
      `ONNX node "n1" (Add) reads "x", which is not the output of the node before it ("c"): wasmnet imports a chain of layers, without branches or skip connections`,
    );
    expect(refusal(model([conv(), node('Relu', ['nowhere'], ['y'])], [W, B]))).toBe(
      `ONNX node "n1" (Relu) reads "nowhere", which no earlier node or initializer produces (the nodes must be in order, the first input the data)`,
    );
    expect(refusal(model([conv(), node('Add', ['c', 'other'], ['y'])], [W, B]))).toBe(
      `ONNX node "n1" (Add) reads "other" as a second data input; wasmnet imports layers whose other inputs are initializers or constants`,
    );
    expect(refusal(model([conv(), node('Relu', ['c'], [])], [W, B]))).toBe(`ONNX node "n1" (Relu) has no output`);
    // A nameless node is named by its place.
    expect(refusal(edited({ input: ['N', 1, 4, 4], nodes: [conv(), node('Erf', ['c'], ['y'])], initializers: [W, B] }, (m) => delete m.graph.node[1].name))).toBe(
      `ONNX node #1 (Erf): operator Erf is not supported; ${ONLY}`,
    );
  });

  it('Conv', () => {
    const c = (attrs: any[], inits: object[] = [W, B], input?: (number | string)[], inputs = ['x', 'W', 'B']) => refusal(model([node('Conv', inputs, ['c'], attrs)], inits, input));
    const at = 'ONNX node "n0" (Conv)';
    expect(c([], [W, B], ['N', 6])).toBe(`${at}: Conv needs [n, c, h, w] input, but the chain's value here is [n, 6]`);
    expect(c([], [W, B], ['N', 4, 6])).toBe(`${at}: Conv needs [n, c, h, w] input, but the chain's value here is [n, 4, 6]`);
    // The pads count for the kernel's fit: 3 wide on 2 columns padded by 1 on each side.
    const wide = fromOnnx(model([node('Conv', ['x', 'W'], ['c'], [attr.ints('pads', [0, 1, 0, 1])])], [f32('W', [1, 1, 1, 3], [1, 2, 3])], ['N', 1, 3, 2]));
    expect(wide.outputShape).toEqual([1, 3, 2]);
    wide.dispose();
    expect(c([], [B], undefined, ['x', 'W2', 'B'])).toBe(`${at} reads "W2" as a second data input; wasmnet imports layers whose other inputs are initializers or constants`);
    expect(c([], [B], undefined, ['x'])).toBe(`${at}: the weight W is missing; wasmnet needs it as an initializer`);
    expect(c([], [i64('W', [1, 1, 1, 1], [1]), B])).toBe(`${at}: the weight W must be a float32 tensor`);
    expect(c([], [f32('W', [2, 1, 3], w(6)), B])).toBe(`${at}: the weight must be 4-D [m, c, kh, kw] (2-D convolution), got dims [2, 1, 3]`);
    expect(c([attr.int('group', 2)])).toBe(`${at}: group 2 is not supported (wasmnet's Conv2D connects every input channel to every filter: group 1)`);
    expect(c([attr.ints('dilations', [1, 2])])).toBe(`${at}: dilations [1, 2] are not supported (wasmnet's Conv2D has dilation 1)`);
    expect(c([attr.ints('kernel_shape', [3, 2])])).toBe(`${at}: kernel_shape [3, 2] does not match the weight's dims [2, 1, 3, 3]`);
    expect(c([attr.ints('kernel_shape', [2, 3])])).toBe(`${at}: kernel_shape [2, 3] does not match the weight's dims [2, 1, 3, 3]`);
    expect(c([attr.ints('kernel_shape', [3, 3, 1])])).toBe(`${at}: kernel_shape [3, 3, 1] does not match the weight's dims [2, 1, 3, 3]`);
    expect(c([attr.ints('strides', [1, 0])])).toBe(`${at}: strides must be 2 positive integers (a 2-D operator), got [1, 0]`);
    expect(c([attr.ints('strides', [2])])).toBe(`${at}: strides must be 2 positive integers (a 2-D operator), got [2]`);
    expect(c([], [W, f32('B', [2, 1], [1, 2])])).toBe(`${at}: the bias must have dims [2] (one per filter), got [2, 1]`);
    expect(c([], [W, f32('B', [3], [1, 2, 3])])).toBe(`${at}: the bias must have dims [2] (one per filter), got [3]`);
    expect(c([], [f32('W', [1, 1, 5, 3], w(15)), f32('B', [1], [0])])).toBe(`${at}: the 5×3 kernel does not fit the 4×4 input with pads [0, 0, 0, 0]`);
    expect(c([], [f32('W', [1, 1, 3, 5], w(15)), f32('B', [1], [0])])).toBe(`${at}: the 3×5 kernel does not fit the 4×4 input with pads [0, 0, 0, 0]`);
    expect(c([attr.ints('pads', [1, 1, 1])])).toBe(`${at}: pads must be 4 non-negative integers [top, left, bottom, right], got [1, 1, 1]`);
    expect(c([attr.ints('pads', [1, -1, 1, -1])])).toBe(`${at}: pads must be 4 non-negative integers [top, left, bottom, right], got [1, -1, 1, -1]`);
    expect(c([attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 2])])).toBe(
      `${at}: auto_pad SAME_UPPER with strides [2, 2] and kernel [3, 3] is not supported (NOTSET with explicit pads, VALID, or SAME_UPPER with stride 1)`,
    );
    expect(c([attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [1, 2])])).toMatch(/^ONNX node "n0" \(Conv\): auto_pad SAME_UPPER with strides \[1, 2\]/);
    expect(c([attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 1])])).toMatch(/^ONNX node "n0" \(Conv\): auto_pad SAME_UPPER with strides \[2, 1\]/);
    expect(c([attr.string('auto_pad', 'SAME_LOWER')], [f32('W', [1, 1, 2, 3], w(6)), f32('B', [1], [0])])).toMatch(/^ONNX node "n0" \(Conv\): auto_pad SAME_LOWER with strides \[1, 1\] and kernel \[2, 3\] is not supported/);
    expect(c([attr.string('auto_pad', 'SAME_LOWER')], [f32('W', [1, 1, 3, 2], w(6)), f32('B', [1], [0])])).toMatch(/^ONNX node "n0" \(Conv\): auto_pad SAME_LOWER with strides \[1, 1\] and kernel \[3, 2\]/);
    expect(c([attr.string('auto_pad', 'FULL')])).toMatch(/^ONNX node "n0" \(Conv\): auto_pad FULL with strides/);
    const pads = `are not supported: wasmnet pads top = bottom and left = right, or as 'same' with stride 1 (an even kernel's extra row and column at the bottom and right)`;
    expect(c([attr.ints('pads', [1, 0, 0, 0])])).toBe(`${at}: pads [1, 0, 0, 0] ${pads}`);
    expect(c([attr.ints('pads', [0, 0, 0, 1])])).toBe(`${at}: pads [0, 0, 0, 1] ${pads}`);
    // An even kernel's 'same' pads: accepted with stride 1, refused with another.
    const even = [f32('W', [1, 1, 2, 2], w(4)), f32('B', [1], [0])];
    expect(c([attr.ints('pads', [0, 0, 1, 1]), attr.ints('strides', [1, 2])], even)).toBe(`${at}: pads [0, 0, 1, 1] ${pads}`);
    expect(c([attr.ints('pads', [0, 0, 1, 1]), attr.ints('strides', [2, 1])], even)).toBe(`${at}: pads [0, 0, 1, 1] ${pads}`);
    expect(c([attr.ints('pads', [0, 0, 1, 0])], even)).toBe(`${at}: pads [0, 0, 1, 0] ${pads}`);
    const same = fromOnnx(model([node('Conv', ['x', 'W', 'B'], ['c'], [attr.ints('pads', [0, 0, 1, 1])])], even));
    expect(same.layers[0].toSpec()).toMatchObject({ padding: 'same' });
    same.dispose();
    expect(c([{ name: 'kernel_shape', type: 2, i: 3 }])).toBe(`${at}: attribute kernel_shape must be a list of ints, got attribute type 2`);
    // An attribute without its type (type 0, as some old exporters write) is read by its name.
    const untyped = fromOnnx(model([node('Conv', ['x', 'W', 'B'], ['c'], [{ name: 'strides', type: 0, ints: [2, 2] } as never])], [W, B]));
    expect(untyped.outputShape).toEqual([2, 1, 1]);
    untyped.dispose();
    expect(c([attr.ints('group', [1])])).toBe(`${at}: attribute group must be an int, got attribute type 7`);
    expect(c([attr.int('auto_pad', 1)])).toBe(`${at}: attribute auto_pad must be a string, got attribute type 2`);
  });

  it('MaxPool and AveragePool', () => {
    const p = (op: string, attrs: any[], input: (number | string)[] = ['N', 1, 4, 4]) => refusal(model([node(op, ['x'], ['p'], attrs), node('Flatten', ['p'], ['y'])], [], input));
    const k2 = attr.ints('kernel_shape', [2, 2]);
    expect(p('MaxPool', [k2], ['N', 6])).toBe(`ONNX node "n0" (MaxPool): MaxPool needs [n, c, h, w] input, but the chain's value here is [n, 6]`);
    expect(p('AveragePool', [k2], ['N', 6])).toBe(`ONNX node "n0" (AveragePool): AveragePool needs [n, c, h, w] input, but the chain's value here is [n, 6]`);
    expect(p('AveragePool', [k2], ['N', 4, 6])).toBe(`ONNX node "n0" (AveragePool): AveragePool needs [n, c, h, w] input, but the chain's value here is [n, 4, 6]`);
    expect(p('MaxPool', [k2, attr.ints('strides', [0, 1])])).toBe(`ONNX node "n0" (MaxPool): strides must be 2 positive integers (a 2-D operator), got [0, 1]`);
    expect(p('MaxPool', [])).toBe(`ONNX node "n0" (MaxPool): kernel_shape must be 2 positive integers (a 2-D operator), got []`);
    expect(p('MaxPool', [attr.ints('kernel_shape', [2, 0])])).toBe(`ONNX node "n0" (MaxPool): kernel_shape must be 2 positive integers (a 2-D operator), got [2, 0]`);
    expect(p('MaxPool', [k2, attr.ints('pads', [0, 0, 0, 1])])).toBe(`ONNX node "n0" (MaxPool): padding (pads [0, 0, 0, 1], auto_pad NOTSET) is not supported: wasmnet pools without padding`);
    expect(p('AveragePool', [k2, attr.string('auto_pad', 'SAME_UPPER')])).toBe(`ONNX node "n0" (AveragePool): padding (pads [0, 0, 0, 0], auto_pad SAME_UPPER) is not supported: wasmnet pools without padding`);
    expect(p('MaxPool', [k2, attr.ints('dilations', [2, 1])])).toBe(`ONNX node "n0" (MaxPool): dilations [2, 1] are not supported (wasmnet pools with dilation 1)`);
    expect(p('MaxPool', [k2, attr.int('storage_order', 1)])).toBe(`ONNX node "n0" (MaxPool): storage_order 1 is not supported`);
    expect(p('MaxPool', [attr.ints('kernel_shape', [5, 2])])).toBe(`ONNX node "n0" (MaxPool): kernel_shape [5, 2] is larger than its 4×4 input`);
    expect(p('MaxPool', [attr.ints('kernel_shape', [2, 5])])).toBe(`ONNX node "n0" (MaxPool): kernel_shape [2, 5] is larger than its 4×4 input`);
    expect(p('MaxPool', [k2, attr.ints('strides', [2, 2]), attr.int('ceil_mode', 1)], ['N', 1, 5, 4])).toBe(
      `ONNX node "n0" (MaxPool): ceil_mode 1 gives a 3×2 output here, wasmnet pools with floor (2×2): not supported`,
    );
    expect(p('MaxPool', [k2, attr.ints('strides', [2, 2]), attr.int('ceil_mode', 1)], ['N', 1, 4, 5])).toBe(
      `ONNX node "n0" (MaxPool): ceil_mode 1 gives a 2×3 output here, wasmnet pools with floor (2×2): not supported`,
    );
    // A whole-input window is allowed; AveragePool has no storage_order to refuse.
    fromOnnx(model([node('AveragePool', ['x'], ['p'], [attr.ints('kernel_shape', [4, 4]), attr.int('storage_order', 1)]), node('Flatten', ['p'], ['y'])])).dispose();
  });

  it('activations', () => {
    const at = (i: number, op: string) => `ONNX node "n${i}" (${op})`;
    expect(refusal(model([node('Relu', ['x'], ['y'])]))).toBe(`${at(0, 'Relu')} comes first: wasmnet applies Relu as the activation of the Conv, Gemm (MatMul) or BatchNormalization before it`);
    expect(refusal(model([node('AveragePool', ['x'], ['p'], [attr.ints('kernel_shape', [2, 2])]), node('Tanh', ['p'], ['y'])]))).toBe(
      `${at(1, 'Tanh')} comes after ${at(0, 'AveragePool')}: wasmnet applies Tanh as the activation of the Conv, Gemm (MatMul) or BatchNormalization before it`,
    );
    // Over a MaxPool with no layer before it, the MaxPool is named.
    expect(refusal(model([node('MaxPool', ['x'], ['p'], [attr.ints('kernel_shape', [2, 2])]), node('Relu', ['p'], ['y'])]))).toBe(
      `${at(1, 'Relu')} comes after ${at(0, 'MaxPool')}: wasmnet applies Relu as the activation of the Conv, Gemm (MatMul) or BatchNormalization before it`,
    );
    // Only Relu moves back over a Dropout (ReLU(0) = 0); any monotone activation over MaxPool and Flatten.
    expect(refusal(model([...flatThenMatMul, node('Dropout', ['y'], ['d']), node('Sigmoid', ['d'], ['z'])], [M], ['N', 1, 2, 3]))).toBe(
      `${at(3, 'Sigmoid')} comes after ${at(2, 'Dropout')}: wasmnet applies Sigmoid as the activation of the Conv, Gemm (MatMul) or BatchNormalization before it`,
    );
    expect(refusal(model([conv(), node('Relu', ['c'], ['r']), node('Tanh', ['r'], ['y'])], [W, B]))).toBe(
      `${at(2, 'Tanh')}: ${at(0, 'Conv')} already has the activation ReLU; wasmnet applies one activation per layer`,
    );
    expect(refusal(model([conv(), node('Softmax', ['c'], ['y'])], [W, B]))).toBe(
      `${at(1, 'Softmax')}: wasmnet applies SoftMax to [n, features], after a Gemm; here the value is [n, 2, 2, 2]`,
    );
    expect(refusal(model([...flatThenMatMul, node('Softmax', ['y'], ['z'], [attr.int('axis', 0)])], [M], ['N', 1, 2, 3]))).toBe(
      `${at(2, 'Softmax')}: axis 0 is not supported; wasmnet's SoftMax is over the last axis of [n, features] (axis −1 or 1)`,
    );
    // Softmax does not move back over a Flatten.
    expect(refusal(model([conv(), node('Flatten', ['c'], ['f']), node('Softmax', ['f'], ['y'])], [W, B]))).toBe(
      `${at(2, 'Softmax')} comes after ${at(1, 'Flatten')}: wasmnet applies Softmax as the activation of the Conv, Gemm (MatMul) or BatchNormalization before it`,
    );
    expect(refusal(model([...flatThenMatMul, node('Dropout', ['y'], ['d']), node('Softmax', ['d'], ['z'])], [M], ['N', 1, 2, 3]))).toMatch(/^ONNX node "n3" \(Softmax\) comes after ONNX node "n2" \(Dropout\)/);
    // The softmax option needs logits at the end.
    expect(refusal(model([conv()], [W, B]), { softmax: true })).toBe(`fromOnnx softmax: the model must end in logits (a Gemm or MatMul without activation), but it ends in ${at(0, 'Conv')}, a Conv2D layer`);
    expect(refusal(model([...flatThenMatMul, node('Tanh', ['y'], ['z'])], [M], ['N', 1, 2, 3]), { softmax: true })).toBe(
      'fromOnnx softmax: the model must end in logits (a Gemm or MatMul without activation), but it ends in a Gemm with the activation Tanh',
    );
    const soft = fromOnnx(model([...flatThenMatMul, node('Softmax', ['y'], ['z'])], [M], ['N', 1, 2, 3]), { softmax: true });
    expect(soft.layers[1].toSpec()).toMatchObject({ afun: 'SoftMax' });
    soft.dispose();
  });

  it('Flatten, Pad and Reshape', () => {
    const flat = (attrs: any[], input: (number | string)[] = ['N', 2, 3, 3]) => refusal(model([node('Flatten', ['x'], ['y'], attrs)], [], input));
    expect(flat([attr.int('axis', 2)])).toBe(`ONNX node "n0" (Flatten): axis 2 is not supported; wasmnet flattens [n, …] to [n, rest] (axis 1)`);
    expect(flat([attr.int('axis', -2)])).toBe(`ONNX node "n0" (Flatten): axis -2 is not supported; wasmnet flattens [n, …] to [n, rest] (axis 1)`);
    expect(refusal(model([node('Pad', ['x', 'pads'], ['y'])], [i64('pads', [8], [0, 0, 1, 0, 0, 0, 1, 0])]))).toBe(
      `ONNX node "n0" (Pad): padding ["0", "0", "1", "0", "0", "0", "1", "0"] is not supported on its own (wasmnet pads only inside a Conv)`,
    );
    expect(refusal(model([node('Pad', ['x'], ['p'], [attr.ints('pads', [0, 0, 0, 1, 0, 0, 0, 1])]), node('Flatten', ['p'], ['y'])]))).toMatch(/^ONNX node "n0" \(Pad\): padding \["0", "0", "0", "1"/);
    // Zero pads as an attribute (the older form) are nothing to do.
    fromOnnx(model([node('Pad', ['x'], ['p'], [attr.ints('pads', [0, 0, 0, 0, 0, 0, 0, 0])]), node('Flatten', ['p'], ['y'])])).dispose();
    const reshape = (target: number[], input: (number | string)[] = ['N', 2, 3, 3], attrs: any[] = []) =>
      refusal(model([node('Reshape', ['x', 't'], ['y'], attrs)], [i64('t', [target.length], target)], input));
    const to = (t: string, shape = '2, 3, 3', size = 18) =>
      `ONNX node "n0" (Reshape): a reshape to [${t}] of [n, ${shape}] is not supported: wasmnet reshapes only [n, …] to [n, ${size}] (a flatten, as x.view(x.size(0), -1))`;
    expect(reshape([0, 9, 2])).toBe(to('"0", "9", "2"'));
    expect(reshape([0, 2, 9])).toBe(to('"0", "2", "9"'));
    expect(reshape([0, 5])).toBe(to('"0", "5"'));
    expect(reshape([0, 4, -1])).toBe(to('"0", "4", "-1"'));
    expect(reshape([0, -1, -1])).toBe(to('"0", "-1", "-1"'));
    expect(reshape([0, 18, 1])).toBe(to('"0", "18", "1"'));
    // A −1 beside known sizes is what is left: [0, 2, −1] of [2, 9] changes nothing.
    fromOnnx(model([node('Reshape', ['x', 't'], ['r']), node('Flatten', ['r'], ['y'])], [i64('t', [3], [0, 2, -1])], ['N', 2, 9])).dispose();
    // Two −1s are refused even where they would leave the sample as it is.
    expect(reshape([0, -1, -1], ['N', 1, 1])).toBe(to('"0", "-1", "-1"', '1, 1', 1));
    expect(reshape([0, -2, -9])).toBe(to('"0", "-2", "-9"'));
    expect(reshape([0, 0, 0, 0, 0, -1])).toBe(to('"0", "0", "0", "0", "0", "-1"'));
    expect(reshape([5, -1])).toBe(to('"5", "-1"'));
    expect(reshape([-1, 17])).toBe(to('"-1", "17"'));
    expect(reshape([-1, 2, 9])).toBe(to('"-1", "2", "9"'));
    // The batch fixed in the file: that size means the batch; another is refused.
    expect(reshape([4, 18], [3, 2, 3, 3])).toBe(to('"4", "18"'));
    fromOnnx(model([node('Reshape', ['x', 't'], ['y'])], [i64('t', [2], [3, 18])], [3, 2, 3, 3])).dispose();
    fromOnnx(model([node('Reshape', ['x', 't'], ['y'])], [i64('t', [2], [-1, 18])], ['N', 2, 3, 3])).dispose();
    // Without a fixed batch a number is no batch.
    expect(reshape([3, 18])).toBe(to('"3", "18"'));
    expect(reshape([0, 18], undefined, [attr.int('allowzero', 1)])).toBe(`ONNX node "n0" (Reshape): allowzero 1 is not supported`);
    const target = 'ONNX node "n0" (Reshape): the target shape must be a constant int64 tensor (an initializer, a Constant, or computed from Shape)';
    expect(refusal(model([node('Reshape', ['x', 't'], ['y'])], [f32('t', [2], [0, -1])]))).toBe(target);
    expect(refusal(model([node('Reshape', ['x'], ['y'])]))).toBe(target);
    // Reshape's batch from a Shape may not appear twice.
    expect(
      refusal(
        model(
          [node('Shape', ['x'], ['s']), node('Gather', ['s', 'i'], ['n']), node('Concat', ['n', 'n'], ['t'], [attr.int('axis', 0)]), node('Reshape', ['x', 't'], ['y'])],
          [i64('i', [1], [0])],
          ['N', 2, 9],
        ),
      ),
    ).toBe(to('"N", "N"', '2, 9').replace('"n0"', '"n3"'));
  });

  it('Gemm, MatMul and Add', () => {
    const at = (i: number, op: string) => `ONNX node "n${i}" (${op})`;
    const gemm = (attrs: any[], inits: object[], inputs = ['f', 'G', 'C']) => refusal(model([node('Flatten', ['x'], ['f']), node('Gemm', inputs, ['y'], attrs)], inits, ['N', 1, 2, 3]));
    const G = f32('G', [6, 3], w(18));
    expect(refusal(model([node('Gemm', ['x', 'G'], ['y'])], [G]))).toBe(`${at(0, 'Gemm')}: Gemm needs [n, features] input, but the chain's value here is [n, 1, 4, 4] (flatten it first)`);
    expect(gemm([attr.int('transA', 1)], [G], ['f', 'G'])).toBe(`${at(1, 'Gemm')}: transA 1 is not supported (the data is A, [n, features])`);
    expect(gemm([], [f32('G', [18], w(18))], ['f', 'G'])).toBe(`${at(1, 'Gemm')}: the weight B has dims [18], but the input has 6 features (expected [6, out] with transB 0)`);
    expect(gemm([attr.int('transB', 1)], [G], ['f', 'G'])).toBe(`${at(1, 'Gemm')}: the weight B has dims [6, 3], but the input has 6 features (expected [out, 6] with transB 1)`);
    expect(gemm([], [G, f32('C', [2, 3], w(6))])).toBe(`${at(1, 'Gemm')}: the bias C must have dims [3] or [1, 3] (one per output), got [2, 3]`);
    expect(gemm([], [G, f32('C', [3, 1], w(3))])).toBe(`${at(1, 'Gemm')}: the bias C must have dims [3] or [1, 3] (one per output), got [3, 1]`);
    expect(gemm([], [G, f32('C', [2], w(2))])).toBe(`${at(1, 'Gemm')}: the bias C must have dims [3] or [1, 3] (one per output), got [2]`);
    expect(gemm([], [G, i64('C', [3], [1, 2, 3])])).toBe(`${at(1, 'Gemm')}: the bias C must be a float32 tensor`);
    expect(gemm([], [], ['f'])).toBe(`${at(1, 'Gemm')}: the weight B is missing; wasmnet needs it as an initializer`);
    expect(gemm([attr.float('alpha', 2)].map((a) => ({ ...a, type: 2 })), [G], ['f', 'G'])).toBe(`${at(1, 'Gemm')}: attribute alpha must be a float, got attribute type 2`);
    expect(refusal(model([node('MatMul', ['x', 'M'], ['y'])], [M]))).toBe(`${at(0, 'MatMul')}: MatMul needs [n, features] input, but the chain's value here is [n, 1, 4, 4]`);
    expect(refusal(model([node('Flatten', ['x'], ['f']), node('MatMul', ['f', 'M'], ['y'])], [f32('M', [3, 6], w(18))], ['N', 1, 2, 3]))).toBe(
      `${at(1, 'MatMul')}: the weight has dims [3, 6], but the input has 6 features (expected [6, out])`,
    );
    expect(refusal(model([node('Flatten', ['x'], ['f']), node('MatMul', ['f', 'M'], ['y'])], [f32('M', [6, 3, 1], w(18))], ['N', 1, 2, 3]))).toBe(
      `${at(1, 'MatMul')}: the weight has dims [6, 3, 1], but the input has 6 features (expected [6, out])`,
    );
    const add = `wasmnet reads Add only as the bias of the MatMul, Gemm or Conv right before it`;
    const bias3 = f32('b', [3], [1, 2, 3]);
    expect(refusal(model([node('Flatten', ['x'], ['f']), node('Add', ['f', 'b'], ['y'])], [f32('b', [6], w(6))], ['N', 1, 2, 3]))).toBe(`${at(1, 'Add')}: ${add}`);
    expect(refusal(model([...flatThenMatMul, node('Relu', ['y'], ['r']), node('Add', ['r', 'b'], ['z'])], [M, bias3], ['N', 1, 2, 3]))).toBe(`${at(3, 'Add')}: ${add}`);
    expect(refusal(model([...flatThenMatMul, node('Dropout', ['y'], ['d']), node('Add', ['d', 'b'], ['z'])], [M, bias3], ['N', 1, 2, 3]))).toBe(`${at(3, 'Add')}: ${add}`);
    expect(refusal(model([conv(), node('MaxPool', ['c'], ['p'], [attr.ints('kernel_shape', [1, 1])]), node('Add', ['p', 'b'], ['y'])], [W, B, f32('b', [2, 1, 1], [1, 2])]))).toBe(`${at(2, 'Add')}: ${add}`);
    expect(refusal(model([node('Add', ['x', 'b'], ['y'])], [f32('b', [1], [1])]))).toBe(`${at(0, 'Add')}: ${add}`);
    // Anything else between them ends it, even a Reshape that changes nothing or a zero Pad.
    expect(refusal(model([...flatThenMatMul, node('Reshape', ['y', 'keep'], ['r']), node('Add', ['r', 'b'], ['z'])], [M, bias3, i64('keep', [2], [0, -1])], ['N', 1, 2, 3]))).toBe(`${at(3, 'Add')}: ${add}`);
    expect(refusal(model([conv(), node('Pad', ['c', 'pads'], ['p']), node('Add', ['p', 'b'], ['y'])], [W, B, i64('pads', [8], [0, 0, 0, 0, 0, 0, 0, 0]), f32('b', [2, 1, 1], [1, 2])]))).toBe(`${at(2, 'Add')}: ${add}`);
    expect(refusal(model([node('Flatten', ['x'], ['f']), node('MatMul', ['f'], ['y'])], [], ['N', 1, 2, 3]))).toBe(`${at(1, 'MatMul')}: the weight is missing; wasmnet needs it as an initializer`);
    // A Gemm's bias may come as an Add too.
    const gemmAdd = fromOnnx(model([node('Flatten', ['x'], ['f']), node('Gemm', ['f', 'G'], ['g']), node('Add', ['g', 'b'], ['y'])], [G, bias3], ['N', 1, 2, 3]));
    expect(Array.from((gemmAdd.layers[1] as DenseLayer).b)).toEqual([1, 2, 3]);
    gemmAdd.dispose();
    // Two Gemms on one initializer with alpha 2: each scales its own copy.
    const square = f32('S', [6, 6], w(36));
    const shared = fromOnnx(model([node('Flatten', ['x'], ['f']), node('Gemm', ['f', 'S'], ['g'], [attr.float('alpha', 2)]), node('Gemm', ['g', 'S'], ['y'], [attr.float('alpha', 2)])], [square], ['N', 1, 2, 3]));
    const twiceS = Array.from(w(36), (v) => Math.fround(2 * Math.fround(v)));
    expect(Array.from((shared.layers[1] as DenseLayer).w)).toEqual(twiceS);
    expect(Array.from((shared.layers[2] as DenseLayer).w)).toEqual(twiceS);
    shared.dispose();
    // Identity does not end the bias; two Adds add up.
    const twice = fromOnnx(model([...flatThenMatMul, node('Identity', ['y'], ['i']), node('Add', ['i', 'b'], ['a']), node('Add', ['a', 'b'], ['z'])], [M, bias3], ['N', 1, 2, 3]));
    expect(Array.from((twice.layers[1] as DenseLayer).b)).toEqual([2, 4, 6]);
    twice.dispose();
    const dense = (dims: number[]) => refusal(model([...flatThenMatMul, node('Add', ['y', 'b'], ['z'])], [M, f32('b', dims, w(dims.reduce((a, b) => a * b, 1)))], ['N', 1, 2, 3]));
    for (const dims of [[3, 1], [2], [2, 3], [1, 3, 1]]) expect(dense(dims)).toBe(`${at(2, 'Add')}: the added constant must be one bias per output, dims [3] or [1, 3], got [${dims.join(', ')}]`);
    const convAdd = (dims: number[]) => refusal(model([conv(), node('Add', ['c', 'b'], ['y'])], [W, B, f32('b', dims, w(dims.reduce((a, b) => a * b, 1)))]));
    for (const dims of [[2], [2, 1], [1, 2, 1], [2, 2, 1], [2, 1, 2], [1, 2, 1, 1, 1], [2, 2, 1, 1], [1, 1, 1, 1], [1, 2, 2, 1], [1, 2, 1, 2]]) {
      expect(convAdd(dims), String(dims)).toBe(`${at(1, 'Add')}: the added constant must be one bias per channel, dims [2, 1, 1] or [1, 2, 1, 1], got [${dims.join(', ')}]`);
    }
    expect(refusal(model([...flatThenMatMul, node('Add', ['y', 'b'], ['z'])], [M, i64('b', [3], [1, 2, 3])], ['N', 1, 2, 3]))).toBe(`${at(2, 'Add')}: the bias must be a float32 tensor`);
  });

  it('BatchNormalization and Dropout', () => {
    const at = (i: number, op: string) => `ONNX node "n${i}" (${op})`;
    const stats = (n: number, scaleDims = [n]) => [f32('s', scaleDims, w(scaleDims.reduce((a, b) => a * b, 1))), f32('b', [n], w(n)), f32('m', [n], w(n)), f32('v', [n], new Array(n).fill(1))];
    const bn = (attrs: any[], inits: object[], input: (number | string)[] = ['N', 2, 3, 3], outputs = ['y']) =>
      refusal(model([node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], outputs, attrs)], inits, input));
    expect(bn([], stats(2), ['N', 2, 3])).toBe(`${at(0, 'BatchNormalization')}: BatchNormalization needs [n, c, h, w] or [n, features] input, got [n, 2, 3]`);
    expect(bn([attr.int('training_mode', 1)], stats(2))).toBe(`${at(0, 'BatchNormalization')}: training_mode 1 is not supported (export the model in eval mode)`);
    expect(bn([], stats(2), undefined, ['y', 'rm', 'rv'])).toBe(`${at(0, 'BatchNormalization')}: the training outputs (running mean and variance) are not supported (export the model in eval mode)`);
    expect(bn([], stats(2, [3]))).toBe(`${at(0, 'BatchNormalization')}: scale must have dims [2] (one per channel), got [3]`);
    expect(bn([], stats(2, [2, 1]))).toBe(`${at(0, 'BatchNormalization')}: scale must have dims [2] (one per channel), got [2, 1]`);
    expect(bn([], stats(3))).toBe(`${at(0, 'BatchNormalization')}: scale must have dims [2] (one per channel), got [3]`);
    expect(bn([], [...stats(2).slice(0, 3), f32('v', [3], [1, 1, 1])])).toBe(`${at(0, 'BatchNormalization')}: input_var must have dims [2] (one per channel), got [3]`);
    expect(refusal(model([node('BatchNormalization', ['x', 's', 'b', 'm'], ['y'])], stats(2).slice(0, 3), ['N', 2, 3, 3]))).toBe(
      `${at(0, 'BatchNormalization')}: the input_var is missing; wasmnet needs it as an initializer`,
    );
    // Empty names for optional outputs are no training outputs.
    fromOnnx(model([node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y', '', ''])], stats(2), ['N', 2, 3, 3])).dispose();
    const drop = (inputs: string[], inits: object[], attrs: any[] = []) => refusal(model([conv(), node('Dropout', ['c', ...inputs], ['y'], attrs)], [W, B, ...inits]));
    expect(drop(['r'], [f32('r', [2], [0.5, 0.5])])).toBe(`${at(1, 'Dropout')}: the ratio must be a scalar, got dims [2]`);
    expect(drop(['r', 't'], [f32('r', [], [0.5]), { name: 't', dims: [], dataType: DT.BOOL, rawData: new Uint8Array([1]) }])).toBe(
      `${at(1, 'Dropout')}: training_mode true is not supported (export the model in eval mode)`,
    );
    expect(drop(['r', 't'], [f32('r', [], [0.5]), f32('t', [], [1])])).toBe(`${at(1, 'Dropout')}: training_mode true is not supported (export the model in eval mode)`);
    expect(drop(['', 't'], [{ name: 't', dims: [], dataType: DT.BOOL, int32Data: [1] }])).toBe(`${at(1, 'Dropout')}: training_mode true is not supported (export the model in eval mode)`);
    expect(drop(['r'], [i64('r', [], [1])])).toBe(`${at(1, 'Dropout')}: the ratio must be a float32 tensor`);
    // The ratio: a float attribute (older opsets), an input of float32 or float64, and training_mode false.
    const rate = (inputs: string[], inits: object[], attrs: any[] = []) => {
      const net = fromOnnx(model([conv(), node('Dropout', ['c', ...inputs], ['y'], attrs)], [W, B, ...inits]));
      const r = (net.layers[1].toSpec() as unknown as { rate: number }).rate;
      net.dispose();
      return r;
    };
    expect(rate([], [], [attr.float('ratio', 0.3)])).toBe(0.3);
    // Float attributes are float32: each comes back as the shortest decimal of that float32, even one of 9 digits.
    const bnSpec = (attrs: any[]) => {
      const net = fromOnnx(model([node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], attrs)], stats(2), ['N', 2, 3, 3]));
      const spec = net.layers[0].toSpec() as unknown as { eps: number; momentum: number };
      net.dispose();
      return spec;
    };
    expect(bnSpec([])).toMatchObject({ eps: 1e-5, momentum: 0.1 });
    expect(bnSpec([attr.float('epsilon', 0.0000100000025), attr.float('momentum', 0.99)])).toMatchObject({ eps: 0.0000100000025, momentum: 0.01 });
    expect(bnSpec([attr.float('momentum', 0.875)])).toMatchObject({ momentum: 0.125 });
    // The complement's shortest decimal may need all 9 digits; past that, it is 1 − the float32, exactly.
    expect(bnSpec([attr.float('momentum', 0.044996608)])).toMatchObject({ momentum: 0.955003392 });
    expect(bnSpec([attr.float('momentum', 0.0097630555)])).toMatchObject({ momentum: 1 - Math.fround(0.0097630555) });
    expect(rate([], [])).toBe(0.5);
    expect(rate(['r', 't'], [{ name: 'r', dims: [], dataType: DT.DOUBLE, rawData: new Uint8Array(Float64Array.of(0.2).buffer) }, f32('t', [], [0])])).toBe(0.2);
    expect(rate(['r'], [{ name: 'r', dims: [], dataType: DT.DOUBLE, doubleData: [0.1] }])).toBe(0.1);
    expect(rate(['r', 't'], [f32('r', [], [0.7]), { name: 't', dims: [], dataType: DT.BOOL, int32Data: [0] }])).toBe(0.7);
  });

  it('constants and shape arithmetic', () => {
    const at = (i: number, op: string) => `ONNX node "n${i}" (${op})`;
    // Each graph computes the Reshape's target from `nodes`, then flattens [N, 2, 3] with it.
    const shaped = (nodes: NodeSpec[], inits: object[] = []) =>
      model([...nodes, node('Reshape', ['x', 't'], ['y'])], inits, ['N', 2, 3]);
    expect(refusal(shaped([node('Constant', [], ['t'], [attr.string('value_string', 'a')])]))).toBe(`${at(0, 'Constant')}: only value, value_float(s) and value_int(s) constants are supported`);
    expect(refusal(shaped([node('Constant', [], ['t'], [attr.tensor('value', { dims: [2], dataType: 10, int32Data: [0, 0] })])]))).toBe(
      `${at(0, 'Constant')}'s value has data type 10; wasmnet reads float32 weights (type 1) and int64 shapes (type 7)`,
    );
    expect(refusal(shaped([node('Shape', ['nowhere'], ['t'])]))).toBe(`${at(0, 'Shape')} reads "nowhere", which no earlier node or initializer produces`);
    expect(refusal(shaped([node('Gather', ['f', 'i'], ['t'])], [f32('f', [2], [1, 2]), i64('i', [1], [0])]))).toBe(`${at(0, 'Gather')}: the data must be an int64 constant`);
    expect(refusal(shaped([node('Gather', ['s', 'i'], ['t'])], [i64('s', [2], [1, 2]), f32('i', [1], [0])]))).toBe(`${at(0, 'Gather')}: the indices must be an int64 constant`);
    expect(refusal(shaped([node('Gather', ['s', 'i'], ['t'], [attr.int('axis', 1)])], [i64('s', [2], [1, 2]), i64('i', [1], [0])]))).toBe(`${at(0, 'Gather')}: only Gather along axis 0 of a 1-D constant is supported`);
    expect(refusal(shaped([node('Gather', ['s', 'i'], ['t'])], [i64('s', [1, 2], [1, 2]), i64('i', [1], [0])]))).toBe(`${at(0, 'Gather')}: only Gather along axis 0 of a 1-D constant is supported`);
    expect(refusal(shaped([node('Gather', ['s', 'i'], ['t'])], [i64('s', [2], [1, 2]), i64('i', [1], [2])]))).toBe(`${at(0, 'Gather')}: index 2 is out of range for 2 values`);
    expect(refusal(shaped([node('Gather', ['s', 'i'], ['t'])], [i64('s', [2], [1, 2]), i64('i', [1], [-3])]))).toBe(`${at(0, 'Gather')}: index -3 is out of range for 2 values`);
    expect(refusal(shaped([node('Unsqueeze', ['s', 'a'], ['t'])], [i64('s', [2], [0, 6]), f32('a', [1], [0])]))).toBe(`${at(0, 'Unsqueeze')}: the axes must be an int64 constant`);
    expect(refusal(shaped([node('Concat', ['s', 'f'], ['t'], [attr.int('axis', 0)])], [i64('s', [1], [0]), f32('f', [1], [6])]))).toBe(`${at(0, 'Concat')}: only Concat of int64 constants (a shape) is supported`);
    expect(refusal(shaped([node('Mul', ['s', 's'], ['t'])], [i64('s', [2], [0, 6])]))).toBe(`${at(0, 'Mul')}: operator Mul on constants is not supported; ${ONLY}`);
    // What shape arithmetic computes: the last index of Shape, negative Gather indices, a Shape of a constant.
    const flattens = (nodes: NodeSpec[], inits: object[] = []) => {
      const net = fromOnnx(shaped(nodes, inits));
      const kinds = net.layers.map((l) => l.kind);
      net.dispose();
      return kinds;
    };
    expect(flattens([node('Shape', ['x'], ['s'], [attr.int('end', 1)]), node('Concat', ['s', 'm'], ['t'], [attr.int('axis', 0)])], [i64('m', [1], [-1])])).toEqual(['Flatten']);
    expect(flattens([node('Shape', ['x'], ['s'], [attr.int('start', -3), attr.int('end', -2)]), node('Concat', ['s', 'm'], ['t'], [attr.int('axis', 0)])], [i64('m', [1], [-1])])).toEqual(['Flatten']);
    // Shape of a constant [2, 3, 1]: its dims [3], Gather −1 → 3... as [0, 6] with value arithmetic on the constant's dims.
    expect(flattens([node('Shape', ['k'], ['s']), node('Gather', ['s', 'i'], ['six']), node('Concat', ['z', 'six'], ['t'], [attr.int('axis', 0)])], [f32('k', [6, 2], w(12)), i64('i', [1], [-2]), i64('z', [1], [0])])).toEqual(['Flatten']);
    // int32 and raw int64 shapes.
    expect(flattens([], [{ name: 't', dims: [2], dataType: DT.INT32, int32Data: [0, -1] }])).toEqual(['Flatten']);
    expect(flattens([], [{ name: 't', dims: [2], dataType: DT.INT32, rawData: new Uint8Array(Int32Array.of(0, 6).buffer) }])).toEqual(['Flatten']);
    expect(flattens([], [i64('t', [2], [0, 6], true)])).toEqual(['Flatten']);
    // Shape's start and end are clamped to the rank.
    expect(flattens([node('Shape', ['x'], ['s'], [attr.int('start', -100), attr.int('end', 1)]), node('Concat', ['s', 'm'], ['t'], [attr.int('axis', 0)])], [i64('m', [1], [-1])])).toEqual(['Flatten']);
    expect(flattens([node('Shape', ['x'], ['s'], [attr.int('start', 0), attr.int('end', 100)]), node('Gather', ['s', 'i'], ['n']), node('Concat', ['n', 'm'], ['t'], [attr.int('axis', 0)])], [i64('i', [1], [0]), i64('m', [1], [-1])])).toEqual(['Flatten']);
    expect(refusal(shaped([node('Shape', ['x'], ['s'], [attr.int('start', 0), attr.int('end', 100)]), node('Gather', ['s', 'i'], ['t'])], [i64('i', [1], [3])]))).toBe(`${at(1, 'Gather')}: index 3 is out of range for 3 values`);
    // Ranks: Gather reads only a 1-D constant, so a scalar (Squeeze of one value) must be unsqueezed first, and an
    // unsqueezed vector is 2-D.
    const gather1d = `${at(1, 'Gather')}: only Gather along axis 0 of a 1-D constant is supported`;
    expect(refusal(shaped([node('Squeeze', ['one', 'ax'], ['sc']), node('Gather', ['sc', 'i'], ['t'])], [i64('one', [1], [0]), i64('ax', [1], [0]), i64('i', [1], [0])]))).toBe(gather1d);
    expect(refusal(shaped([node('Unsqueeze', ['v', 'ax'], ['u']), node('Gather', ['u', 'i'], ['t'])], [i64('v', [2], [0, 6]), i64('ax', [1], [0]), i64('i', [2], [0, 1])]))).toBe(gather1d);
    expect(flattens([node('Squeeze', ['v'], ['sq']), node('Gather', ['sq', 'i'], ['t'])], [i64('v', [1, 2], [0, 6]), i64('i', [2], [0, 1])])).toEqual(['Flatten']);
    expect(flattens([node('Squeeze', ['one'], ['sc']), node('Unsqueeze', ['sc', 'ax'], ['u']), node('Gather', ['u', 'i'], ['z']), node('Concat', ['z', 'six'], ['t'], [attr.int('axis', 0)])], [i64('one', [1], [0]), i64('ax', [1], [0]), i64('i', [1], [0]), i64('six', [1], [6])])).toEqual(['Flatten']);
    // value_int picks an index; Shape's start cuts the front; a Concat's result is a 1-D constant Gather can read.
    const same = fromOnnx(model([
      node('Shape', ['x'], ['s']),
      node('Constant', [], ['one'], [attr.int('value_int', 1)]),
      node('Gather', ['s', 'one'], ['two']),
      node('Unsqueeze', ['two', 'ax'], ['two1']),
      node('Shape', ['x'], ['three'], [attr.int('start', 2)]),
      node('Concat', ['z', 'two1', 'three'], ['t'], [attr.int('axis', 0)]),
      node('Reshape', ['x', 't'], ['r']),
      node('Flatten', ['r'], ['y']),
    ], [i64('ax', [1], [0]), i64('z', [1], [0])], ['N', 2, 3]));
    expect(same.layers.map((l) => l.kind)).toEqual(['Flatten']);
    same.dispose();
    expect(flattens([
      node('Concat', ['z', 'six'], ['c'], [attr.int('axis', 0)]),
      node('Gather', ['c', 'i'], ['t']),
    ], [i64('z', [1], [0]), i64('six', [1], [6]), i64('i', [2], [0, 1])])).toEqual(['Flatten']);
    // Squeeze of a single value to a scalar, Unsqueeze with axes as an attribute (opset 11 style).
    expect(flattens([node('Squeeze', ['one', 'ax'], ['sc']), node('Unsqueeze', ['sc'], ['u'], [attr.ints('axes', [0])]), node('Concat', ['u', 'six'], ['t'], [attr.int('axis', 0)])], [i64('one', [1], [0]), i64('ax', [1], [0]), i64('six', [1], [6])])).toEqual(['Flatten']);
  });

  it('initializers: external, segmented, of another type, or holding another count than their dims', () => {
    const withW = (t: object) => refusal(model([conv()], [t, B]));
    expect(withW({ ...(W as object), segment: { begin: 0, end: 18 } })).toBe('initializer "W" is segmented, which wasmnet does not read');
    expect(withW({ ...(W as object), externalData: [{ key: 'location', value: 'w.bin' }] })).toBe(
      'initializer "W" is stored in an external file, which wasmnet does not read (save the model with its weights inside)',
    );
    expect(withW({ name: 'W', dims: [2, 1, 3, 3], dataType: 10, int32Data: new Array(18).fill(0) })).toBe(
      'initializer "W" has data type 10; wasmnet reads float32 weights (type 1) and int64 shapes (type 7)',
    );
    expect(withW({ name: 'W', dims: [2, 1, 3, 3], dataType: DT.FLOAT, rawData: new Uint8Array(18 * 4 + 2) })).toBe('initializer "W" has dims [2, 1, 3, 3] (18 values) but holds 18.5 values');
    expect(withW({ name: 'W', dims: [2, 1, 3, 3], dataType: DT.FLOAT, floatData: w(17) })).toBe('initializer "W" has dims [2, 1, 3, 3] (18 values) but holds 17 values');
    expect(withW({ name: 'W', dims: [2, 1, 3, 3], dataType: DT.DOUBLE, doubleData: w(19) })).toBe('initializer "W" has dims [2, 1, 3, 3] (18 values) but holds 19 values');
    const shape = (t: object) => refusal(model([node('Reshape', ['x', 't'], ['y'])], [t], ['N', 2, 3]));
    expect(shape({ name: 't', dims: [2], dataType: DT.INT64, rawData: new Uint8Array(12) })).toBe('initializer "t" has dims [2] (2 values) but holds 1.5 values');
    expect(shape({ name: 't', dims: [2], dataType: DT.INT64, int64Data: [0] })).toBe('initializer "t" has dims [2] (2 values) but holds 1 values');
    expect(shape({ name: 't', dims: [2], dataType: DT.INT32, rawData: new Uint8Array(6) })).toBe('initializer "t" has dims [2] (2 values) but holds 1.5 values');
    expect(shape({ name: 't', dims: [2], dataType: DT.INT32, int32Data: [0, -1, 1] })).toBe('initializer "t" has dims [2] (2 values) but holds 3 values');
    expect(shape({ name: 't', dims: [2], dataType: DT.BOOL, rawData: new Uint8Array(3) })).toBe('initializer "t" has dims [2] (2 values) but holds 3 values');
    expect(shape({ name: 't', dims: [2], dataType: DT.BOOL, int32Data: [1] })).toBe('initializer "t" has dims [2] (2 values) but holds 1 values');
    // Weights stored as float64 are read as float32.
    const net = fromOnnx(model([conv()], [{ name: 'W', dims: [2, 1, 3, 3], dataType: DT.DOUBLE, rawData: new Uint8Array(Float64Array.from(w(18)).buffer) }, B]));
    expect(net.layers[0].toSpec()).toMatchObject({ kind: 'Conv2D', fshape: [2, 3, 3] });
    net.dispose();
  });
});
