/**
 * `fromOnnx(bytes)`: an ONNX model of a sequential CNN as a trainable wasmnet
 * network. The graph must be a chain from its one input to its one output of
 * the operators in `SUPPORTED_OPS`, as `torch.onnx.export` (and Keras
 * converters) write them: Conv with bias, Gemm with transB (or MatMul + Add),
 * Flatten or a Reshape to [n, −1] (its target shape possibly computed by
 * Shape → Gather → Unsqueeze → Concat), Identity and Constant leftovers,
 * initializers also listed as graph inputs. Activations become the `afun` of
 * the Conv, Gemm or BatchNormalization before them (ReLU, Sigmoid and Tanh may
 * also come after a MaxPool or a Flatten: a monotone function commutes with
 * the maximum, so the network computes the same). Whatever wasmnet cannot
 * represent exactly is refused with a ValueError naming the node, the
 * operator and what is supported: never an approximation.
 */
import { activationByName } from '../activations.js';
import { ValueError, WasmnetError, optionsObject, show } from '../core/errors.js';
import type { Loss } from '../losses.js';
import { SequentialNet } from '../network.js';
import type { Optimizer } from '../optimizers.js';
import { STRICT_TIES_DOC, flipKernels } from './export.js';
import { AttributeType, type AttributeMessage, DataType, type GraphMessage, type ModelMessage, type NodeMessage, type TensorMessage, decodeModel, int64 } from './proto.js';

/** The default-domain opsets `fromOnnx` reads. */
export const ONNX_IMPORT_OPSETS = {
  /** The oldest opset read. */
  min: 13,
  /** The newest opset read. */
  max: 17,
} as const;

/** The operators `fromOnnx` reads, for messages and the README. */
export const SUPPORTED_OPS =
  'Conv, MaxPool, AveragePool, Relu, Sigmoid, Tanh, Softmax, Flatten, Reshape, Gemm, MatMul, Add (a bias after MatMul or Conv), ' +
  'BatchNormalization, Dropout, Identity, Constant, Pad (with zero pads), and Shape, Gather, Unsqueeze, Squeeze, Concat, Cast on constant shapes';

/** Options of `fromOnnx`. */
export interface FromOnnxOptions {
  /** The optimizer of every imported layer: one instance (shared; it keeps state per tensor) or a function making one per layer. Default: the layers' default, `new SGD()`. */
  optim?: Optimizer | (() => Optimizer);
  /** The network's loss (default as for any SequentialNet: cross-entropy after SoftMax, else mean squared error). */
  loss?: Loss;
  /** The network's seed (shuffling and dropout while training; the weights come from the file). */
  seed?: number;
  /**
   * Give the last layer SoftMax when the file ends in logits (a final Gemm or MatMul without
   * activation, as PyTorch classifiers trained with CrossEntropyLoss are exported), so that wasmnet
   * trains it with cross-entropy too. Default false: the network computes exactly what the file says.
   */
  softmax?: boolean;
}

type Afun = 'Identity' | 'ReLU' | 'Sigmoid' | 'Tanh' | 'SoftMax';

/** One wasmnet layer to build, with the node it came from. */
type Plan = { node: string } & (
  | { kind: 'Conv2D'; fshape: [number, number, number]; padding: [number, number] | 'same'; stride: [number, number]; f: Float32Array; b: Float32Array; afun: Afun }
  | { kind: 'Pool2D'; area: [number, number]; stride: [number, number]; strict: boolean }
  | { kind: 'AvgPool2D'; area: [number, number]; stride: [number, number] }
  | { kind: 'Flatten' }
  | { kind: 'Dense'; outputSize: number; w: Float32Array; b: Float32Array; afun: Afun }
  | { kind: 'Dropout'; rate: number }
  | { kind: 'BatchNorm'; eps: number; momentum: number; gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array; afun: Afun }
);

/** The batch dimension inside a constant shape vector (from a Shape node). */
const BATCH = 'N';
type Dim = number | typeof BATCH;

/** A value known when the file is read: an initializer, a Constant, or a shape computed from one. */
interface Const {
  dims: number[];
  floats?: Float32Array;
  ints?: Dim[];
}

/** The network an ONNX model describes, built and loaded with its weights; see the file's comment for what is read. */
export function fromOnnx(bytes: Uint8Array | ArrayBuffer, options: FromOnnxOptions = {}): SequentialNet {
  const { optim, loss, seed, softmax = false } = optionsObject('fromOnnx options', options, ['optim', 'loss', 'seed', 'softmax']);
  if (typeof softmax !== 'boolean') throw new ValueError(`fromOnnx softmax must be true or false, got ${show(softmax)}`);
  if (optim !== undefined && typeof optim !== 'function' && typeof (optim as Optimizer)?.update !== 'function') {
    throw new ValueError(`fromOnnx optim must be an Optimizer (SGD, Adam, AdamW) or a function returning one, got ${show(optim)}`);
  }
  const data = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (!(data instanceof Uint8Array)) throw new ValueError(`fromOnnx needs the bytes of an ONNX model (a Uint8Array or ArrayBuffer), got ${show(bytes)}`);
  if (data.length === 0) throw new ValueError('fromOnnx: the ONNX model is empty (0 bytes)');
  let model: ModelMessage;
  try {
    model = decodeModel(data);
  } catch (e) {
    throw new ValueError(`not an ONNX model, or a truncated or damaged one: its protobuf does not parse (${(e as Error).message}; ${data.length} bytes)`);
  }
  const { inputShape, plans } = new GraphReader(model).read();
  if (softmax) {
    const last = plans[plans.length - 1];
    if (last.kind !== 'Dense' || (last.afun !== 'Identity' && last.afun !== 'SoftMax')) {
      const what = last.kind === 'Dense' ? `a Gemm with the activation ${last.afun}` : `${last.node}, a ${last.kind} layer`;
      throw new ValueError(`fromOnnx softmax: the model must end in logits (a Gemm or MatMul without activation), but it ends in ${what}`);
    }
    last.afun = 'SoftMax';
  }
  const net = new SequentialNet(inputShape, { ...(loss !== undefined ? { loss } : {}), ...(seed !== undefined ? { seed } : {}) });
  try {
    for (const plan of plans) build(net, plan, optim);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}

type Optim = () => { optim?: Optimizer };
type Builder<P> = (net: SequentialNet, plan: P, opt: Optim) => void;

/** How each planned layer is added to the network and given the file's weights. */
const builders: { [K in Plan['kind']]: Builder<Extract<Plan, { kind: K }>> } = {
  Conv2D(net, p, opt) {
    const layer = net.addConv2D(p.fshape, { padding: p.padding, stride: p.stride, afun: activationByName(p.afun), ...opt() });
    layer.f = p.f;
    layer.b = p.b;
  },
  Pool2D: (net, p) => void net.addPool2D(p.area, { stride: p.stride, strict: p.strict }),
  AvgPool2D: (net, p) => void net.addAvgPool2D(p.area, { stride: p.stride }),
  Flatten: (net) => void net.addFlatten(),
  Dense(net, p, opt) {
    const layer = net.addDense(p.outputSize, { afun: activationByName(p.afun), ...opt() });
    layer.w = p.w;
    layer.b = p.b;
  },
  Dropout: (net, p) => void net.addDropout(p.rate),
  BatchNorm(net, p, opt) {
    const layer = net.addBatchNorm({ eps: p.eps, momentum: p.momentum, afun: activationByName(p.afun), ...opt() });
    layer.gamma = p.gamma;
    layer.beta = p.beta;
    layer.runningMean = p.mean;
    layer.runningVar = p.variance;
  },
};

function build(net: SequentialNet, plan: Plan, optim: FromOnnxOptions['optim']): void {
  const opt: Optim = () => (optim === undefined ? {} : { optim: typeof optim === 'function' ? optim() : optim });
  try {
    (builders[plan.kind] as Builder<Plan>)(net, plan, opt);
  } catch (e) {
    if (e instanceof WasmnetError) throw new ValueError(`${plan.node}: ${e.message}`);
    throw e;
  }
}

/** Walks the graph's nodes in order, keeping the one value the chain has reached (`current`) and its per-sample shape. */
class GraphReader {
  private readonly graph: GraphMessage;
  private readonly consts = new Map<string, Const>();
  /** Every chain value seen so far with its per-sample shape (Shape nodes may read any of them). */
  private readonly chainShapes = new Map<string, number[]>();
  /** Values no supported use exists for (a Dropout's mask, MaxPool's indices): reading one is an error. */
  private readonly unusable = new Map<string, string>();
  private readonly plans: Plan[] = [];
  private current = '';
  private shape: number[] = [];
  /** The input's batch dimension when the file fixes it (a Reshape may name it). */
  private fixedBatch: number | null = null;
  /** The last plan may still take a bias from an Add right after it (MatMul + Add, Conv + Add). */
  private biasOpen = false;

  constructor(private readonly model: ModelMessage) {
    if (!model.graph) throw new ValueError('not an ONNX model: it has no graph (is this an ONNX file?)');
    this.graph = model.graph;
  }

  read(): { inputShape: number[]; plans: Plan[] } {
    this.checkOpset();
    for (const t of this.graph.initializer ?? []) this.consts.set(t.name ?? '', readTensor(t, `initializer "${t.name}"`));
    if ((this.graph.sparseInitializer ?? []).length) throw new ValueError('the ONNX model has sparse initializers, which wasmnet does not read');
    const inputShape = this.readInput();
    const nodes = this.graph.node ?? [];
    nodes.forEach((node, i) => this.readNode(node, `ONNX node ${nodeName(node, i)} (${node.opType})`));
    this.readOutput();
    if (this.plans.length === 0) throw new ValueError('the ONNX graph has no layers (only Identity or Constant nodes): there is no network to import');
    return { inputShape, plans: this.plans };
  }

  private checkOpset(): void {
    const imports = this.model.opsetImport ?? [];
    const main = imports.find((o) => !o.domain || o.domain === 'ai.onnx');
    const version = main ? int64(main.version) : null;
    if (version === null) throw new ValueError('the ONNX model declares no opset of the default domain (a truncated file?)');
    if (version < ONNX_IMPORT_OPSETS.min || version > ONNX_IMPORT_OPSETS.max) {
      throw new ValueError(`the ONNX model uses opset ${version}; wasmnet reads opsets ${ONNX_IMPORT_OPSETS.min}–${ONNX_IMPORT_OPSETS.max} (convert it, e.g. with onnx.version_converter)`);
    }
  }

  private readInput(): number[] {
    const inputs = (this.graph.input ?? []).filter((v) => !this.consts.has(v.name ?? ''));
    if (inputs.length !== 1) {
      throw new ValueError(`the ONNX model has ${inputs.length} inputs${inputs.length ? ` (${inputs.map((v) => `"${v.name}"`).join(', ')})` : ''}; wasmnet imports a network with exactly one input`);
    }
    const input = inputs[0];
    const where = `the ONNX model's input "${input.name}"`;
    const tensor = input.type?.tensorType;
    if (!tensor) throw new ValueError(`${where} is not a tensor`);
    if (tensor.elemType !== DataType.FLOAT) throw new ValueError(`${where} has element type ${tensor.elemType}; wasmnet reads float32 inputs (type 1)`);
    const dims = tensor.shape?.dim ?? [];
    if (dims.length < 2) throw new ValueError(`${where} must have a known shape [batch, ...sample] (at least 2 dimensions), got ${dims.length}`);
    const sample = dims.slice(1).map((d, i) => {
      const v = int64(d.dimValue);
      if (d.dimParam || !(v > 0)) throw new ValueError(`${where}: dimension ${i + 1} must be a fixed positive size (only the batch dimension may be dynamic), got ${d.dimParam ? `"${d.dimParam}"` : v}`);
      return v;
    });
    const batch = int64(dims[0].dimValue);
    this.fixedBatch = dims[0].dimParam || !(batch > 0) ? null : batch;
    this.current = input.name ?? '';
    this.shape = sample;
    this.chainShapes.set(this.current, sample);
    return sample;
  }

  private readOutput(): void {
    const outputs = this.graph.output ?? [];
    if (outputs.length !== 1) {
      throw new ValueError(`the ONNX model has ${outputs.length} outputs${outputs.length ? ` (${outputs.map((v) => `"${v.name}"`).join(', ')})` : ''}; wasmnet imports a network with exactly one output`);
    }
    const out = outputs[0];
    if (out.name !== this.current) {
      throw new ValueError(`the ONNX model's output "${out.name}" is not the end of its chain of nodes ("${this.current}"): wasmnet imports a chain of layers without branches`);
    }
    const dims = out.type?.tensorType?.shape?.dim;
    if (dims && dims.length > 0) {
      const declared = dims.slice(1).map((d) => (d.dimParam ? null : int64(d.dimValue) || null));
      const fits = declared.length === this.shape.length && declared.every((d, i) => d === null || d === this.shape[i]);
      if (!fits) throw new ValueError(`the ONNX model's output "${out.name}" is declared [batch, ${declared.map((d) => d ?? '?').join(', ')}], but its nodes compute [batch, ${this.shape.join(', ')}]`);
    }
  }

  private readNode(node: NodeMessage, where: string): void {
    const op = node.opType ?? '';
    if (node.domain && node.domain !== 'ai.onnx') throw new ValueError(`${where}: operators of domain "${node.domain}" are not supported; wasmnet imports ${SUPPORTED_OPS} of the default domain`);
    const inputs = node.input ?? [];
    const outputs = node.output ?? [];
    for (const name of inputs) {
      if (name && this.unusable.has(name)) throw new ValueError(`${where} reads "${name}", ${this.unusable.get(name)}, which wasmnet does not compute`);
    }
    if (op === 'Constant') return this.constant(node, where);
    if (op === 'Shape') return this.shapeOf(node, where);
    const dataInput = inputs[0] ?? '';
    if (inputs.length > 0 && inputs.every((n) => n === '' || this.consts.has(n))) return this.constantOp(node, where);
    if (dataInput !== this.current) {
      if (this.chainShapes.has(dataInput) || inputs.slice(1).some((n) => this.chainShapes.has(n))) {
        const read = this.chainShapes.has(dataInput) ? dataInput : inputs.find((n) => this.chainShapes.has(n));
        throw new ValueError(`${where} reads "${read}", which is not the output of the node before it ("${this.current}"): wasmnet imports a chain of layers, without branches or skip connections`);
      }
      throw new ValueError(`${where} reads "${dataInput}", which no earlier node or initializer produces (the nodes must be in order, the first input the data)`);
    }
    for (const name of inputs.slice(1)) {
      if (this.chainShapes.has(name)) {
        throw new ValueError(`${where} reads "${name}", an earlier value of the chain, besides "${this.current}": wasmnet imports a chain of layers, without branches or skip connections`);
      }
      if (name && !this.consts.has(name)) {
        throw new ValueError(`${where} reads "${name}" as a second data input; wasmnet imports layers whose other inputs are initializers or constants`);
      }
    }
    for (const extra of outputs.slice(1)) if (extra) this.unusable.set(extra, `the ${op}'s output ${outputs.indexOf(extra)}`);
    // Only an Add right after a MatMul, Gemm or Conv (Identity aside) is read as their bias.
    if (op !== 'Add' && op !== 'Identity') this.biasOpen = false;
    this.chainOp(op, node, where);
    this.current = outputs[0] ?? '';
    if (!this.current) throw new ValueError(`${where} has no output`);
    this.chainShapes.set(this.current, this.shape);
  }

  /** The operators on the chain's value. */
  private chainOp(op: string, node: NodeMessage, where: string): void {
    const a = attributes(node, where);
    const input = (k: number): Const | null => {
      const name = (node.input ?? [])[k];
      return name ? this.consts.get(name)! : null;
    };
    switch (op) {
      case 'Identity':
        return;
      case 'Pad': {
        // PyTorch writes a Pad with zero pads before an AveragePool: nothing to do; real padding is refused.
        const pads = input(1)?.ints ?? a.ints('pads', []);
        if (pads.every((p) => p === 0)) return;
        throw new ValueError(`${where}: padding ${show(pads.map(String))} is not supported on its own (wasmnet pads only inside a Conv)`);
      }
      case 'Conv':
        return this.conv(a, input(1), input(2), where);
      case 'MaxPool':
      case 'AveragePool':
        return this.pool(op, a, node.docString ?? '', where);
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Softmax':
        return this.activation(op, a, where);
      case 'Flatten': {
        const axis = a.int('axis', 1);
        if (axis !== 1 && axis !== -this.shape.length) throw new ValueError(`${where}: axis ${axis} is not supported; wasmnet flattens [n, …] to [n, rest] (axis 1)`);
        return this.flatten(where);
      }
      case 'Reshape':
        return this.reshape(a, input(1), where);
      case 'Gemm':
        return this.gemm(a, input(1), input(2), where);
      case 'MatMul':
        return this.matmul(input(1), where);
      case 'Add':
        return this.addBias(input(1), where);
      case 'BatchNormalization':
        return this.batchNorm(a, node, where);
      case 'Dropout':
        return this.dropout(a, input(1), input(2), where);
      default:
        throw new ValueError(`${where}: operator ${op} is not supported; wasmnet imports ${SUPPORTED_OPS}`);
    }
  }

  private conv(a: Attributes, w: Const | null, bias: Const | null, where: string): void {
    if (this.shape.length !== 3) throw new ValueError(`${where}: Conv needs [n, c, h, w] input, but the chain's value here is [n, ${this.shape.join(', ')}]`);
    const wt = floats(w, 'the weight W', where);
    if (w!.dims.length !== 4) throw new ValueError(`${where}: the weight must be 4-D [m, c, kh, kw] (2-D convolution), got dims ${show(w!.dims)}`);
    const [m, c, fh, fw] = w!.dims;
    const [cin, h, wd] = this.shape;
    if (c !== cin) throw new ValueError(`${where}: the weight has dims ${show(w!.dims)}, but its input has ${cin} channels (the second dimension must be ${cin})`);
    const group = a.int('group', 1);
    if (group !== 1) throw new ValueError(`${where}: group ${group} is not supported (wasmnet's Conv2D connects every input channel to every filter: group 1)`);
    const dilations = a.ints('dilations', [1, 1]);
    if (dilations.some((d) => d !== 1)) throw new ValueError(`${where}: dilations ${show(dilations)} are not supported (wasmnet's Conv2D has dilation 1)`);
    const kernel = a.ints('kernel_shape', [fh, fw]);
    if (kernel.length !== 2 || kernel[0] !== fh || kernel[1] !== fw) throw new ValueError(`${where}: kernel_shape ${show(kernel)} does not match the weight's dims ${show(w!.dims)}`);
    const stride = pair(a.ints('strides', [1, 1]), 'strides', where);
    const pads = this.convPads(a, [fh, fw], stride, where);
    let b = new Float32Array(m);
    if (bias) {
      b = floats(bias, 'the bias B', where).slice();
      if (bias.dims.length !== 1 || bias.dims[0] !== m) throw new ValueError(`${where}: the bias must have dims [${m}] (one per filter), got ${show(bias.dims)}`);
    }
    const padding = pads.same ? 'same' : ([pads.p[0], pads.p[1]] as [number, number]);
    const [pt, pl, pb, pr] = pads.p;
    if (fh > h + pt + pb || fw > wd + pl + pr) throw new ValueError(`${where}: the ${fh}×${fw} kernel does not fit the ${h}×${wd} input with pads ${show(pads.p)}`);
    this.plans.push({ node: where, kind: 'Conv2D', fshape: [m, fh, fw], padding, stride, f: flipKernels(wt, m * c, fh, fw), b, afun: 'Identity' });
    this.shape = [m, Math.floor((h + pt + pb - fh) / stride[0]) + 1, Math.floor((wd + pl + pr - fw) / stride[1]) + 1];
    this.biasOpen = true;
  }

  /** `[top, left, bottom, right]` from `pads` or `auto_pad`, and whether it is wasmnet's 'same' (an even kernel's extra row and column at the end). */
  private convPads(a: Attributes, kernel: [number, number], stride: [number, number], where: string): { p: number[]; same: boolean } {
    const autoPad = a.string('auto_pad', 'NOTSET');
    const sameSplit = kernel.map((k) => [Math.floor((k - 1) / 2), k - 1 - Math.floor((k - 1) / 2)]);
    const same = [sameSplit[0][0], sameSplit[1][0], sameSplit[0][1], sameSplit[1][1]];
    let p: number[];
    if (autoPad === 'NOTSET') {
      p = a.ints('pads', [0, 0, 0, 0]);
      if (p.length !== 4 || p.some((v) => !(v >= 0))) throw new ValueError(`${where}: pads must be 4 non-negative integers [top, left, bottom, right], got ${show(p)}`);
    } else if (autoPad === 'VALID') {
      p = [0, 0, 0, 0];
    } else if ((autoPad === 'SAME_UPPER' || (autoPad === 'SAME_LOWER' && kernel.every((k) => k % 2 === 1))) && stride[0] === 1 && stride[1] === 1) {
      p = same;
    } else {
      throw new ValueError(`${where}: auto_pad ${autoPad} with strides ${show(stride)} and kernel ${show(kernel)} is not supported (NOTSET with explicit pads, VALID, or SAME_UPPER with stride 1)`);
    }
    if (p[0] === p[2] && p[1] === p[3]) return { p, same: false };
    if (stride[0] === 1 && stride[1] === 1 && p.every((v, i) => v === same[i])) return { p, same: true };
    throw new ValueError(
      `${where}: pads ${show(p)} are not supported: wasmnet pads top = bottom and left = right, or as 'same' with stride 1 (an even kernel's extra row and column at the bottom and right)`,
    );
  }

  private pool(op: 'MaxPool' | 'AveragePool', a: Attributes, docString: string, where: string): void {
    if (this.shape.length !== 3) throw new ValueError(`${where}: ${op} needs [n, c, h, w] input, but the chain's value here is [n, ${this.shape.join(', ')}]`);
    const area = pair(a.ints('kernel_shape', []), 'kernel_shape', where);
    const stride = pair(a.ints('strides', [1, 1]), 'strides', where);
    const pads = a.ints('pads', [0, 0, 0, 0]);
    const autoPad = a.string('auto_pad', 'NOTSET');
    if (pads.some((p) => p !== 0) || (autoPad !== 'NOTSET' && autoPad !== 'VALID')) {
      throw new ValueError(`${where}: padding (pads ${show(pads)}, auto_pad ${autoPad}) is not supported: wasmnet pools without padding`);
    }
    const dilations = a.ints('dilations', [1, 1]);
    if (dilations.some((d) => d !== 1)) throw new ValueError(`${where}: dilations ${show(dilations)} are not supported (wasmnet pools with dilation 1)`);
    if (op === 'MaxPool' && a.int('storage_order', 0) !== 0) throw new ValueError(`${where}: storage_order 1 is not supported`);
    const [c, h, w] = this.shape;
    if (area[0] > h || area[1] > w) throw new ValueError(`${where}: kernel_shape ${show(area)} is larger than its ${h}×${w} input`);
    const floorShape = [Math.floor((h - area[0]) / stride[0]) + 1, Math.floor((w - area[1]) / stride[1]) + 1];
    if (a.int('ceil_mode', 0) !== 0) {
      const ceilShape = [Math.ceil((h - area[0]) / stride[0]) + 1, Math.ceil((w - area[1]) / stride[1]) + 1];
      if (ceilShape[0] !== floorShape[0] || ceilShape[1] !== floorShape[1]) {
        throw new ValueError(`${where}: ceil_mode 1 gives a ${ceilShape.join('×')} output here, wasmnet pools with floor (${floorShape.join('×')}): not supported`);
      }
    }
    if (op === 'MaxPool') this.plans.push({ node: where, kind: 'Pool2D', area, stride, strict: docString === STRICT_TIES_DOC });
    else this.plans.push({ node: where, kind: 'AvgPool2D', area, stride });
    this.shape = [c, floorShape[0], floorShape[1]];
  }

  /** Makes the activation the `afun` of the Conv, Gemm or BatchNormalization it follows. */
  private activation(op: 'Relu' | 'Sigmoid' | 'Tanh' | 'Softmax', a: Attributes, where: string): void {
    const afun: Afun = ({ Relu: 'ReLU', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Softmax: 'SoftMax' } as const)[op];
    if (op === 'Softmax') {
      const axis = a.int('axis', -1);
      if (axis !== -1 && axis !== this.shape.length) throw new ValueError(`${where}: axis ${axis} is not supported; wasmnet's SoftMax is over the last axis of [n, features] (axis −1 or ${this.shape.length})`);
      if (this.shape.length !== 1) throw new ValueError(`${where}: wasmnet applies SoftMax to [n, features], after a Gemm; here the value is [n, ${this.shape.join(', ')}]`);
    }
    // A monotone activation commutes with taking a maximum and with reshaping: it may move back over MaxPool and Flatten (ReLU also over Dropout: ReLU(0) = 0).
    let k = this.plans.length - 1;
    const passes = (p: Plan) => op !== 'Softmax' && (p.kind === 'Pool2D' || p.kind === 'Flatten' || (op === 'Relu' && p.kind === 'Dropout'));
    while (k >= 0 && passes(this.plans[k])) k--;
    const target = this.plans[k];
    if (!target || !(target.kind === 'Conv2D' || target.kind === 'Dense' || target.kind === 'BatchNorm')) {
      // With nothing to take it, the activation is named after the layer it follows (a first MaxPool, say), if any.
      const before = target ?? this.plans[this.plans.length - 1];
      const after = before ? `comes after ${before.node}` : 'comes first';
      throw new ValueError(`${where} ${after}: wasmnet applies ${op} as the activation of the Conv, Gemm (MatMul) or BatchNormalization before it`);
    }
    if (target.afun !== 'Identity') throw new ValueError(`${where}: ${target.node} already has the activation ${target.afun}; wasmnet applies one activation per layer`);
    if (op === 'Softmax' && target.kind === 'Conv2D') throw new ValueError(`${where}: SoftMax on a convolution is not supported (wasmnet: SoftMax belongs on a dense output layer)`);
    target.afun = afun;
  }

  private flatten(where: string): void {
    if (this.shape.length === 1) return;
    this.plans.push({ node: where, kind: 'Flatten' });
    this.shape = [this.shape.reduce((x, y) => x * y, 1)];
  }

  /** A Reshape that flattens `[n, …]` to `[n, rest]` (or changes nothing). */
  private reshape(a: Attributes, target: Const | null, where: string): void {
    if (!target?.ints) throw new ValueError(`${where}: the target shape must be a constant int64 tensor (an initializer, a Constant, or computed from Shape)`);
    if (a.int('allowzero', 0) !== 0) throw new ValueError(`${where}: allowzero 1 is not supported`);
    const full: Dim[] = [BATCH, ...this.shape];
    const size = this.shape.reduce((x, y) => x * y, 1);
    const t: Dim[] = target.ints.map((d, i) => (d === 0 ? full[i] ?? 0 : d));
    const isBatch = (d: Dim) => d === BATCH || (this.fixedBatch !== null && d === this.fixedBatch);
    const refuse = () =>
      new ValueError(`${where}: a reshape to ${show(target.ints!.map(String))} of [n, ${this.shape.join(', ')}] is not supported: wasmnet reshapes only [n, …] to [n, ${size}] (a flatten, as x.view(x.size(0), -1))`);
    let sample: number[];
    if (isBatch(t[0])) {
      const rest = t.slice(1);
      if (rest.some((d) => d === BATCH || (typeof d === 'number' && d < -1))) throw refuse();
      const known = (rest as number[]).filter((d) => d !== -1).reduce((x, y) => x * y, 1);
      const free = rest.filter((d) => d === -1).length;
      if (free > 1 || (free === 1 && (known === 0 || size % known !== 0)) || (free === 0 && known !== size)) throw refuse();
      sample = (rest as number[]).map((d) => (d === -1 ? size / known : d));
    } else if (t[0] === -1 && t.length === 2 && t[1] === size) {
      sample = [size];
    } else {
      throw refuse();
    }
    if (sample.join() === this.shape.join()) return;
    if (sample.length === 1 && sample[0] === size) return this.flatten(where);
    throw refuse();
  }

  private gemm(a: Attributes, bConst: Const | null, cConst: Const | null, where: string): void {
    if (this.shape.length !== 1) throw new ValueError(`${where}: Gemm needs [n, features] input, but the chain's value here is [n, ${this.shape.join(', ')}] (flatten it first)`);
    if (a.int('transA', 0) !== 0) throw new ValueError(`${where}: transA 1 is not supported (the data is A, [n, features])`);
    const transB = a.int('transB', 0);
    const alpha = a.float('alpha', 1);
    const beta = a.float('beta', 1);
    const b = floats(bConst, 'the weight B', where);
    const [inSize] = this.shape;
    const dims = bConst!.dims;
    if (dims.length !== 2 || dims[transB ? 1 : 0] !== inSize) {
      throw new ValueError(`${where}: the weight B has dims ${show(dims)}, but the input has ${inSize} features (expected [${transB ? `out, ${inSize}` : `${inSize}, out`}] with transB ${transB})`);
    }
    const out = dims[transB ? 0 : 1];
    // wasmnet's w is [in, out]: B as it is, or Bᵀ for transB 1 (PyTorch's Linear).
    const w = transB ? transpose(b, out, inSize) : b.slice();
    if (alpha !== 1) for (let i = 0; i < w.length; i++) w[i] *= alpha;
    let bias = new Float32Array(out);
    if (cConst) {
      const c = floats(cConst, 'the bias C', where);
      if (c.length === out && (cConst.dims.length === 1 || (cConst.dims.length === 2 && cConst.dims[0] === 1))) bias = c.slice();
      else if (c.length === 1) bias.fill(c[0]);
      else throw new ValueError(`${where}: the bias C must have dims [${out}] or [1, ${out}] (one per output), got ${show(cConst.dims)}`);
      if (beta !== 1) for (let i = 0; i < bias.length; i++) bias[i] *= beta;
    }
    this.plans.push({ node: where, kind: 'Dense', outputSize: out, w, b: bias, afun: 'Identity' });
    this.shape = [out];
    this.biasOpen = true;
  }

  private matmul(bConst: Const | null, where: string): void {
    if (this.shape.length !== 1) throw new ValueError(`${where}: MatMul needs [n, features] input, but the chain's value here is [n, ${this.shape.join(', ')}]`);
    const b = floats(bConst, 'the weight', where);
    const dims = bConst!.dims;
    if (dims.length !== 2 || dims[0] !== this.shape[0]) throw new ValueError(`${where}: the weight has dims ${show(dims)}, but the input has ${this.shape[0]} features (expected [${this.shape[0]}, out])`);
    this.plans.push({ node: where, kind: 'Dense', outputSize: dims[1], w: b.slice(), b: new Float32Array(dims[1]), afun: 'Identity' });
    this.shape = [dims[1]];
    this.biasOpen = true;
  }

  /** An Add of a constant right after a MatMul, Gemm or Conv: their bias. */
  private addBias(c: Const | null, where: string): void {
    const last = this.plans[this.plans.length - 1];
    if (!this.biasOpen || !last || !(last.kind === 'Dense' || last.kind === 'Conv2D') || last.afun !== 'Identity') {
      throw new ValueError(`${where}: wasmnet reads Add only as the bias of the MatMul, Gemm or Conv right before it`);
    }
    const v = floats(c, 'the bias', where);
    const n = last.kind === 'Dense' ? last.outputSize : last.fshape[0];
    const dims = c!.dims;
    const ok =
      last.kind === 'Dense'
        ? (dims.length === 1 && dims[0] === n) || (dims.length === 2 && dims[0] === 1 && dims[1] === n)
        : (dims.length === 3 && dims[0] === n && dims[1] === 1 && dims[2] === 1) || (dims.length === 4 && dims[0] === 1 && dims[1] === n && dims[2] === 1 && dims[3] === 1);
    if (!ok) {
      const want = last.kind === 'Dense' ? `[${n}] or [1, ${n}]` : `[${n}, 1, 1] or [1, ${n}, 1, 1]`;
      throw new ValueError(`${where}: the added constant must be one bias per ${last.kind === 'Dense' ? 'output' : 'channel'}, dims ${want}, got ${show(dims)}`);
    }
    for (let i = 0; i < n; i++) last.b[i] += v[i];
  }

  private batchNorm(a: Attributes, node: NodeMessage, where: string): void {
    if (this.shape.length !== 3 && this.shape.length !== 1) throw new ValueError(`${where}: BatchNormalization needs [n, c, h, w] or [n, features] input, got [n, ${this.shape.join(', ')}]`);
    if (a.int('training_mode', 0) !== 0) throw new ValueError(`${where}: training_mode 1 is not supported (export the model in eval mode)`);
    if ((node.output ?? []).slice(1).some((o) => o)) throw new ValueError(`${where}: the training outputs (running mean and variance) are not supported (export the model in eval mode)`);
    const f = this.shape[0];
    const names = ['scale', 'B', 'input_mean', 'input_var'];
    const [gamma, beta, mean, variance] = names.map((name, k) => {
      const cst = this.consts.get((node.input ?? [])[k + 1] ?? '') ?? null;
      const v = floats(cst, `the ${name}`, where);
      if (cst!.dims.length !== 1 || cst!.dims[0] !== f) throw new ValueError(`${where}: ${name} must have dims [${f}] (one per channel), got ${show(cst!.dims)}`);
      return v.slice();
    });
    const eps = shortestFloat32(a.float('epsilon', 1e-5));
    // ONNX's momentum weighs the running statistics, PyTorch's and wasmnet's the batch: the shortest decimal d with float32(1 − d) = m.
    const momentum = complementOfFloat32(a.float('momentum', 0.9));
    this.plans.push({ node: where, kind: 'BatchNorm', eps, momentum, gamma, beta, mean, variance, afun: 'Identity' });
  }

  private dropout(a: Attributes, ratio: Const | null, training: Const | null, where: string): void {
    let rate = shortestFloat32(a.float('ratio', 0.5));
    if (ratio) {
      const r = floats(ratio, 'the ratio', where);
      if (r.length !== 1) throw new ValueError(`${where}: the ratio must be a scalar, got dims ${show(ratio.dims)}`);
      rate = shortestFloat32(r[0]);
    }
    if (training) {
      const t = training.ints?.[0] ?? training.floats?.[0];
      if (t !== 0) throw new ValueError(`${where}: training_mode true is not supported (export the model in eval mode)`);
    }
    this.plans.push({ node: where, kind: 'Dropout', rate });
  }

  // ---------------------------------------------------------------- constants

  private constant(node: NodeMessage, where: string): void {
    const a = attributes(node, where);
    const out = (node.output ?? [])[0] ?? '';
    const t = a.raw('value');
    let c: Const;
    if (t?.t) c = readTensor(t.t, `${where}'s value`);
    else if (a.raw('value_float')) c = { dims: [], floats: Float32Array.of(a.float('value_float', 0)) };
    else if (a.raw('value_floats')) c = { dims: [a.raw('value_floats')!.floats!.length], floats: Float32Array.from(a.raw('value_floats')!.floats!) };
    else if (a.raw('value_int')) c = { dims: [], ints: [a.int('value_int', 0)] };
    else if (a.raw('value_ints')) c = { dims: [a.ints('value_ints', []).length], ints: a.ints('value_ints', []) };
    else throw new ValueError(`${where}: only value, value_float(s) and value_int(s) constants are supported`);
    this.consts.set(out, c);
  }

  /** Shape of a chain value: `[N, ...sample]`, N the symbolic batch dimension. */
  private shapeOf(node: NodeMessage, where: string): void {
    const name = (node.input ?? [])[0] ?? '';
    const sample = this.chainShapes.get(name);
    const c = this.consts.get(name);
    let full: Dim[];
    if (sample) full = [BATCH, ...sample];
    else if (c) full = [...c.dims];
    else throw new ValueError(`${where} reads "${name}", which no earlier node or initializer produces`);
    const a = attributes(node, where);
    const norm = (k: number) => (k < 0 ? k + full.length : k);
    const start = Math.max(0, Math.min(full.length, norm(a.int('start', 0))));
    const end = Math.max(0, Math.min(full.length, norm(a.int('end', full.length))));
    const ints = full.slice(start, end);
    this.consts.set((node.output ?? [])[0] ?? '', { dims: [ints.length], ints });
  }

  /** Nodes whose inputs are all constants: shape arithmetic (Gather, Unsqueeze, Concat, …) evaluated here. */
  private constantOp(node: NodeMessage, where: string): void {
    const op = node.opType ?? '';
    const a = attributes(node, where);
    const ins = (node.input ?? []).map((n) => (n ? this.consts.get(n)! : null));
    const out = (node.output ?? [])[0] ?? '';
    const x = ins[0]!;
    const intsOf = (c: Const | null, what: string): Dim[] => {
      if (!c?.ints) throw new ValueError(`${where}: ${what} must be an int64 constant`);
      return c.ints;
    };
    let result: Const;
    switch (op) {
      case 'Identity':
      case 'Cast':
        result = x;
        break;
      case 'Gather': {
        if (a.int('axis', 0) !== 0 || x.dims.length !== 1) throw new ValueError(`${where}: only Gather along axis 0 of a 1-D constant is supported`);
        const data = intsOf(x, 'the data');
        const idx = intsOf(ins[1], 'the indices');
        const pick = idx.map((i) => {
          if (typeof i !== 'number' || i < -data.length || i >= data.length) throw new ValueError(`${where}: index ${i} is out of range for ${data.length} values`);
          return data[i < 0 ? i + data.length : i];
        });
        result = { dims: ins[1]!.dims, ints: pick };
        break;
      }
      case 'Unsqueeze':
      case 'Squeeze': {
        // Shape arithmetic on scalars and vectors: the values stay, only the rank changes.
        const axes = ins[1] ? intsOf(ins[1], 'the axes') : a.ints('axes', []);
        const n = x.ints?.length ?? x.floats?.length ?? 0;
        const rank = op === 'Unsqueeze' ? x.dims.length + axes.length : n === 1 ? 0 : 1;
        result = { ...x, dims: rank === 0 ? [] : [...Array(rank - 1).fill(1), n] };
        break;
      }
      case 'Concat': {
        if (!ins.every((c) => c?.ints)) throw new ValueError(`${where}: only Concat of int64 constants (a shape) is supported`);
        const ints = ins.flatMap((c) => c!.ints!);
        result = { dims: [ints.length], ints };
        break;
      }
      default:
        throw new ValueError(`${where}: operator ${op} on constants is not supported; wasmnet imports ${SUPPORTED_OPS}`);
    }
    this.consts.set(out, result);
  }
}

// ---------------------------------------------------------------- tensors and attributes

/** An initializer or Constant value: float32 (weights) or int64/int32 (shapes). */
function readTensor(t: TensorMessage, where: string): Const {
  const dims = (t.dims ?? []).map(int64);
  const count = dims.reduce((x, y) => x * y, 1);
  if (t.dataLocation === 1 || (t.externalData ?? []).length) throw new ValueError(`${where} is stored in an external file, which wasmnet does not read (save the model with its weights inside)`);
  if (t.segment) throw new ValueError(`${where} is segmented, which wasmnet does not read`);
  const raw = t.rawData && t.rawData.length ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const mismatch = (held: number) => new ValueError(`${where} has dims ${show(dims)} (${count} values) but holds ${held} values`);
  switch (t.dataType) {
    case DataType.FLOAT: {
      let floats: Float32Array;
      if (view) {
        if (raw!.length % 4 !== 0) throw mismatch(raw!.length / 4);
        floats = new Float32Array(raw!.length / 4);
        for (let i = 0; i < floats.length; i++) floats[i] = view.getFloat32(4 * i, true);
      } else {
        floats = Float32Array.from(t.floatData ?? []);
      }
      if (floats.length !== count) throw mismatch(floats.length);
      return { dims, floats };
    }
    case DataType.INT64:
    case 6 /* INT32 */: {
      const size = t.dataType === DataType.INT64 ? 8 : 4;
      let ints: number[];
      if (view) {
        if (raw!.length % size !== 0) throw mismatch(raw!.length / size);
        ints = Array.from({ length: raw!.length / size }, (_, i) => (size === 8 ? Number(view.getBigInt64(8 * i, true)) : view.getInt32(4 * i, true)));
      } else {
        ints = size === 8 ? (t.int64Data ?? []).map(int64) : [...(t.int32Data ?? [])];
      }
      if (ints.length !== count) throw mismatch(ints.length);
      return { dims, ints };
    }
    case DataType.DOUBLE: {
      const floats = view ? Float32Array.from({ length: raw!.length / 8 }, (_, i) => view.getFloat64(8 * i, true)) : Float32Array.from(t.doubleData ?? []);
      if (floats.length !== count) throw mismatch(floats.length);
      return { dims, floats };
    }
    case 9 /* BOOL */: {
      const ints = view ? Array.from(raw!) : [...(t.int32Data ?? [])];
      if (ints.length !== count) throw mismatch(ints.length);
      return { dims, ints };
    }
    default:
      throw new ValueError(`${where} has data type ${t.dataType}; wasmnet reads float32 weights (type 1) and int64 shapes (type 7)`);
  }
}

function floats(c: Const | null, what: string, where: string): Float32Array {
  if (!c) throw new ValueError(`${where}: ${what} is missing; wasmnet needs it as an initializer`);
  if (!c.floats) throw new ValueError(`${where}: ${what} must be a float32 tensor`);
  return c.floats;
}

function pair(v: number[], name: string, where: string): [number, number] {
  if (v.length !== 2 || !v.every((x) => Number.isInteger(x) && x > 0)) throw new ValueError(`${where}: ${name} must be 2 positive integers (a 2-D operator), got ${show(v)}`);
  return [v[0], v[1]];
}

function transpose(b: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(b.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = b[r * cols + c];
  return out;
}

/** The shortest decimal that is the same float32 as `x` (ONNX float attributes are float32: 1e-5 comes back as 1e-5). */
function shortestFloat32(x: number): number {
  const f = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const v = Number(f.toPrecision(p));
    if (Math.fround(v) === f) return v;
  }
  return f;
}

/** The shortest decimal d whose float32(1 − d) is `m` (a float32 attribute): 0.9 gives 0.1, not 0.100000024. */
function complementOfFloat32(m: number): number {
  const f = Math.fround(m);
  for (let p = 1; p <= 9; p++) {
    const d = Number((1 - f).toPrecision(p));
    if (Math.fround(1 - d) === f) return d;
  }
  return 1 - f;
}

function nodeName(node: NodeMessage, index: number): string {
  return node.name ? `"${node.name}"` : `#${index}`;
}

type Attributes = ReturnType<typeof attributes>;

function attributes(node: NodeMessage, where: string) {
  const byName = new Map<string, AttributeMessage>();
  for (const a of node.attribute ?? []) byName.set(a.name ?? '', a);
  const get = (name: string, type: number, what: string): AttributeMessage | null => {
    const a = byName.get(name);
    if (!a) return null;
    if (a.type !== undefined && a.type !== 0 && a.type !== type) throw new ValueError(`${where}: attribute ${name} must be ${what}, got attribute type ${a.type}`);
    return a;
  };
  return {
    raw: (name: string) => byName.get(name) ?? null,
    int: (name: string, fallback: number) => {
      const a = get(name, AttributeType.INT, 'an int');
      return a ? int64(a.i) : fallback;
    },
    ints: (name: string, fallback: number[]) => {
      const a = get(name, AttributeType.INTS, 'a list of ints');
      return a ? (a.ints ?? []).map(int64) : fallback;
    },
    float: (name: string, fallback: number) => {
      const a = get(name, AttributeType.FLOAT, 'a float');
      return a ? (a.f ?? 0) : fallback;
    },
    string: (name: string, fallback: string) => {
      const a = get(name, AttributeType.STRING, 'a string');
      return a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : fallback;
    },
  };
}
