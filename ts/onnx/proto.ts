/**
 * ONNX's protobuf messages through protobufjs (its `light` build: no .proto
 * parser, the schema comes as the JSON descriptor in `schema.ts`, generated
 * from ONNX's onnx.proto by `scripts/onnx-schema.mjs`). Only this folder
 * imports it, and only the `wasmnet/onnx` entry imports this folder, so the
 * protobuf library stays out of the main bundle.
 */
import protobuf from 'protobufjs/light.js';
import { ONNX_SCHEMA } from './schema.js';

/** int64 fields decode as `Long` objects (protobufjs with the `long` package) or numbers. */
export type Int64 = number | { toNumber(): number };

export interface TensorShapeDim {
  dimValue?: Int64 | null;
  dimParam?: string | null;
}
export interface ValueInfo {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: TensorShapeDim[] } | null } | null } | null;
}
export interface TensorMessage {
  name?: string;
  dims?: Int64[];
  dataType?: number;
  floatData?: number[];
  rawData?: Uint8Array;
  int64Data?: Int64[];
  int32Data?: number[];
  doubleData?: number[];
  dataLocation?: number;
  externalData?: unknown[];
  segment?: unknown;
}
export interface AttributeMessage {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorMessage | null;
  floats?: number[];
  ints?: Int64[];
}
export interface NodeMessage {
  name?: string;
  docString?: string;
  opType?: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: AttributeMessage[];
}
export interface GraphMessage {
  name?: string;
  node?: NodeMessage[];
  initializer?: TensorMessage[];
  input?: ValueInfo[];
  output?: ValueInfo[];
  valueInfo?: ValueInfo[];
  sparseInitializer?: unknown[];
}
export interface ModelMessage {
  irVersion?: Int64;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  opsetImport?: { domain?: string; version?: Int64 }[];
  graph?: GraphMessage | null;
}

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7, DOUBLE: 11 } as const;
/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

let modelType: protobuf.Type | null = null;

function model(): protobuf.Type {
  return (modelType ??= protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace).lookupType('onnx.ModelProto'));
}

/** The bytes of a ModelProto; throws protobufjs's error on a malformed message. */
export function encodeModel(message: ModelMessage): Uint8Array {
  const type = model();
  const bad = type.verify(message);
  if (bad) throw new Error(`internal error: an invalid ONNX message was built (${bad})`);
  return type.encode(type.fromObject(message)).finish();
}

/** The ModelProto in `bytes`; throws protobufjs's error on truncated or malformed bytes. */
export function decodeModel(bytes: Uint8Array): ModelMessage {
  return model().decode(bytes) as unknown as ModelMessage;
}

export function int64(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}
