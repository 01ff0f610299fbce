/**
 * ONNX models written node by node for the import tests: the graphs other exporters write (and the mistakes they can
 * hold), without a Python round trip. Plain objects in protobufjs's JSON form, encoded by `encodeOnnx`.
 */
import { encodeOnnx } from './onnx.js';

/** ONNX's AttributeProto.AttributeType. */
const FLOAT = 1;
const INT = 2;
const STRING = 3;
const TENSOR = 4;
const FLOATS = 6;
const INTS = 7;

/** ONNX's TensorProto.DataType. */
export const DT = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11, UINT8: 2 } as const;

export type Attribute = { name: string; type: number; [field: string]: unknown };

export const attr = {
  int: (name: string, i: number): Attribute => ({ name, type: INT, i }),
  ints: (name: string, ints: number[]): Attribute => ({ name, type: INTS, ints }),
  float: (name: string, f: number): Attribute => ({ name, type: FLOAT, f }),
  floats: (name: string, floats: number[]): Attribute => ({ name, type: FLOATS, floats }),
  string: (name: string, s: string): Attribute => ({ name, type: STRING, s: new TextEncoder().encode(s) }),
  tensor: (name: string, t: object): Attribute => ({ name, type: TENSOR, t }),
};

/** A float32 tensor, its values in `floatData` (or `rawData`, little-endian, as PyTorch writes them). */
export function f32(name: string, dims: number[], values: ArrayLike<number>, raw = false): object {
  const data = Float32Array.from(values);
  if (raw) return { name, dims, dataType: DT.FLOAT, rawData: new Uint8Array(data.buffer) };
  return { name, dims, dataType: DT.FLOAT, floatData: Array.from(data) };
}

/** An int64 tensor (a shape, axes, indices). */
export function i64(name: string, dims: number[], values: number[], raw = false): object {
  if (raw) return { name, dims, dataType: DT.INT64, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) };
  return { name, dims, dataType: DT.INT64, int64Data: values };
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Attribute[];
  name?: string;
  docString?: string;
  domain?: string;
}

export const node = (op: string, inputs: string[], outputs: string[], attrs: Attribute[] = [], extra: Partial<NodeSpec> = {}): NodeSpec => ({ op, inputs, outputs, attrs, ...extra });

export interface ModelSpec {
  /** The input's dims, the batch first: a number, or a name for a dynamic dimension. */
  input: (number | string)[];
  nodes: NodeSpec[];
  initializers?: object[];
  /** The output value's name (default: the last node's first output). */
  output?: string;
  /** The output's declared dims (default: none declared). */
  outputDims?: (number | string)[];
  opset?: number;
  inputName?: string;
}

const dimsOf = (dims: (number | string)[]) => ({ dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) });

/** The message of a model (to edit further before `encodeOnnx`). */
export function onnxMessage(spec: ModelSpec): any {
  const inputName = spec.inputName ?? 'x';
  const last = spec.nodes[spec.nodes.length - 1];
  const output = spec.output ?? last.outputs[0];
  return {
    irVersion: 8,
    producerName: 'wasmnet tests',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'g',
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `n${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: n.attrs ?? [],
        ...(n.docString ? { docString: n.docString } : {}),
        ...(n.domain ? { domain: n.domain } : {}),
      })),
      initializer: spec.initializers ?? [],
      input: [{ name: inputName, type: { tensorType: { elemType: DT.FLOAT, shape: dimsOf(spec.input) } } }],
      output: [{ name: output, type: { tensorType: { elemType: DT.FLOAT, ...(spec.outputDims ? { shape: dimsOf(spec.outputDims) } : {}) } } }],
    },
  };
}

/** The bytes of a model. */
export function onnxModel(spec: ModelSpec): Uint8Array {
  return encodeOnnx(onnxMessage(spec));
}
