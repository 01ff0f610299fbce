/**
 * `toOnnx(net)`: a wasmnet network as an ONNX model (opset 13, IR version 7),
 * one node (plus its activation) per layer:
 *
 *   Conv2D     → Conv with the kernels flipped: the course's convolution is the
 *                true one (scipy.signal.convolve2d), ONNX's Conv a cross-correlation
 *   Pool2D     → MaxPool (ONNX has no tie rule: `strict` only changes gradients)
 *   AvgPool2D  → AveragePool
 *   Flatten    → Flatten(axis 1): NCHW row-major, wasmnet's layout and PyTorch's
 *   Dense      → Gemm with B = w as it is ([in, out], transB 0)
 *   Dropout    → Dropout with its ratio (the identity outside training)
 *   BatchNorm  → BatchNormalization with the running statistics; ONNX's momentum
 *                is the running statistics' own weight, 1 − wasmnet's (PyTorch's)
 *   afun       → Relu, Sigmoid, Tanh, Softmax(axis −1) after the layer; none for Identity
 *
 * The input is "input" `[N, ...net.inputShape]` and the output "output"
 * `[N, ...net.outputShape]`, N a dynamic batch dimension.
 */
// The modules themselves rather than '../index.js': a bundle of this entry then needs only what it uses.
import { ValueError, optionsObject, show } from '../core/errors.js';
import type { Layer } from '../layers/layer.js';
import { type LayerKind, isLayerKind, type layerKinds } from '../layers/registry.js';
import { SequentialNet } from '../network.js';
import { type AttributeMessage, AttributeType, DataType, type ModelMessage, type NodeMessage, type TensorMessage, type ValueInfo, encodeModel } from './proto.js';

/** The opset `toOnnx` writes (ONNX 1.8, 2020: every current runtime reads it). */
export const ONNX_EXPORT_OPSET = 13;
/** The IR version that goes with opset 13. */
const IR_VERSION = 7;
/** The producer name `toOnnx` writes; `fromOnnx` reads any. */
export const ONNX_PRODUCER = 'wasmnet';

/** The doc string of a MaxPool that came from a Pool2D with `strict` ties (fromOnnx reads it back). */
export const STRICT_TIES_DOC = 'wasmnet Pool2D strict ties: a tied maximum gets an equal share of the gradient';

/** ONNX's operator for each activation name (Identity: none). */
const ACTIVATION_OPS: Record<string, string | null> = { Identity: null, ReLU: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', SoftMax: 'Softmax' };

export interface ToOnnxOptions {
  /** The graph's input name (default "input"). */
  inputName?: string;
  /** The graph's output name (default "output"). */
  outputName?: string;
}

/** The network as the bytes of an ONNX model (see the file's comment for the mapping). */
export function toOnnx(net: SequentialNet, options: ToOnnxOptions = {}): Uint8Array {
  if (!(net instanceof SequentialNet)) throw new ValueError(`toOnnx needs a SequentialNet, got ${show(net)}`);
  net.assertReady();
  const { inputName = 'input', outputName = 'output' } = optionsObject('toOnnx options', options, ['inputName', 'outputName']);
  for (const [what, name] of [['inputName', inputName], ['outputName', outputName]] as const) {
    if (typeof name !== 'string' || name === '') throw new ValueError(`toOnnx ${what} must be a non-empty string, got ${show(name)}`);
  }
  if (inputName === outputName) throw new ValueError(`toOnnx inputName and outputName must differ, both are "${inputName}"`);

  const g = new GraphBuilder(inputName);
  net.layers.forEach((layer, i) => exportLayer(g, layer, `layers.${i}`));
  g.renameLast(outputName);

  const model: ModelMessage = {
    irVersion: IR_VERSION,
    producerName: ONNX_PRODUCER,
    producerVersion: '1',
    opsetImport: [{ domain: '', version: ONNX_EXPORT_OPSET }],
    graph: {
      name: 'wasmnet',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(inputName, net.inputShape)],
      output: [valueInfo(outputName, net.outputShape)],
    },
  };
  return encodeModel(model);
}

/** Nodes in order, each taking the previous one's output: a chain from the input. */
class GraphBuilder {
  readonly nodes: NodeMessage[] = [];
  readonly initializers: TensorMessage[] = [];
  private current: string;

  constructor(input: string) {
    this.current = input;
  }

  /** Appends `op` on the current value (and `inputs`, initializer names, after it); its output becomes the current value. */
  add(op: string, name: string, inputs: string[] = [], attributes: AttributeMessage[] = []): void {
    const output = `${name}.out`;
    this.nodes.push({ name, opType: op, input: [this.current, ...inputs], output: [output], attribute: attributes });
    this.current = output;
  }

  tensor(name: string, dims: readonly number[], values: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  lastNode(): NodeMessage {
    return this.nodes[this.nodes.length - 1];
  }

  /** The last node's output becomes the graph's output `name`. */
  renameLast(name: string): void {
    this.nodes[this.nodes.length - 1].output = [name];
  }
}

type Exporter<L> = (g: GraphBuilder, layer: L, name: string) => void;

/**
 * Each layer kind's ONNX form, keyed like the layer registry: a new kind is a
 * type error here until it says how it is exported (the ONNX side of the
 * registry, kept in this entry so that the main bundle carries none of it).
 */
const exporters: { [K in LayerKind]: Exporter<InstanceType<(typeof layerKinds)[K]>> } = {
  Conv2D(g, layer, name) {
    const [m, fh, fw] = layer.fshape;
    const c = layer.tensor[0];
    const [pt, pb, pl, pr] = layer.padding;
    const w = g.tensor(`${name}.weight`, [m, c, fh, fw], flipKernels(layer.f, m * c, fh, fw));
    const b = g.tensor(`${name}.bias`, [m], layer.b);
    g.add('Conv', name, [w, b], [
      ints('kernel_shape', [fh, fw]),
      ints('pads', [pt, pl, pb, pr]),
      ints('strides', [...layer.stride]),
      ints('dilations', [1, 1]),
      int('group', 1),
    ]);
    activation(g, layer.afun.name, name);
  },
  Pool2D(g, layer, name) {
    g.add('MaxPool', name, [], [ints('kernel_shape', [...layer.area]), ints('strides', [...layer.stride]), ints('pads', [0, 0, 0, 0])]);
    // Ties change only gradients, which ONNX does not describe; the rule rides along in the doc string for fromOnnx.
    if (layer.strict) g.lastNode().docString = STRICT_TIES_DOC;
  },
  AvgPool2D(g, layer, name) {
    g.add('AveragePool', name, [], [ints('kernel_shape', [...layer.area]), ints('strides', [...layer.stride]), ints('pads', [0, 0, 0, 0])]);
  },
  Flatten(g, _layer, name) {
    g.add('Flatten', name, [], [int('axis', 1)]);
  },
  Dense(g, layer, name) {
    const w = g.tensor(`${name}.weight`, [layer.inputSize, layer.outputSize], layer.w);
    const b = g.tensor(`${name}.bias`, [layer.outputSize], layer.b);
    g.add('Gemm', name, [w, b], [float('alpha', 1), float('beta', 1), int('transA', 0), int('transB', 0)]);
    activation(g, layer.afun.name, name);
  },
  Dropout(g, layer, name) {
    const ratio = g.tensor(`${name}.ratio`, [], Float32Array.of(layer.rate));
    g.add('Dropout', name, [ratio]);
  },
  BatchNorm(g, layer, name) {
    const f = layer.numFeatures;
    const inputs = [
      g.tensor(`${name}.weight`, [f], layer.gamma),
      g.tensor(`${name}.bias`, [f], layer.beta),
      g.tensor(`${name}.running_mean`, [f], layer.runningMean),
      g.tensor(`${name}.running_var`, [f], layer.runningVar),
    ];
    g.add('BatchNormalization', name, inputs, [float('epsilon', layer.eps), float('momentum', 1 - layer.momentum)]);
    activation(g, layer.afun.name, name);
  },
};

function exportLayer(g: GraphBuilder, layer: Layer, name: string): void {
  const exporter = isLayerKind(layer.kind) ? (exporters[layer.kind] as Exporter<Layer>) : undefined;
  if (!exporter) throw new ValueError(`toOnnx: layer ${name} is a ${layer.kind} layer, which has no ONNX export (known: ${Object.keys(exporters).join(', ')})`);
  exporter(g, layer, name);
}

function activation(g: GraphBuilder, afun: string, name: string): void {
  const op = ACTIVATION_OPS[afun];
  if (op === undefined) throw new ValueError(`toOnnx: layer ${name} has the activation ${afun}, which has no ONNX export`);
  if (op === null) return;
  g.add(op, `${name}.${afun}`, [], op === 'Softmax' ? [int('axis', -1)] : []);
}

/**
 * The filter bank `[m, c, fh, fw]` with each fh×fw kernel turned by 180°:
 * the true convolution with f is the cross-correlation with the flipped f.
 */
export function flipKernels(f: Float32Array, planes: number, fh: number, fw: number): Float32Array {
  const out = new Float32Array(f.length);
  const size = fh * fw;
  for (let p = 0; p < planes; p++) {
    const base = p * size;
    for (let i = 0; i < size; i++) out[base + i] = f[base + size - 1 - i];
  }
  return out;
}

function floatTensor(name: string, dims: readonly number[], values: Float32Array): TensorMessage {
  // raw_data is little-endian float32, as PyTorch writes it; copy so no view of wasm memory escapes.
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: raw };
}

function valueInfo(name: string, sampleShape: readonly number[]): ValueInfo {
  return {
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, ...sampleShape.map((d) => ({ dimValue: d }))] } } },
  };
}

const ints = (name: string, values: number[]): AttributeMessage => ({ name, type: AttributeType.INTS, ints: values });
const int = (name: string, value: number): AttributeMessage => ({ name, type: AttributeType.INT, i: value });
const float = (name: string, value: number): AttributeMessage => ({ name, type: AttributeType.FLOAT, f: value });
