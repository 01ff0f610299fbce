/**
 * The model file: one self-describing binary.
 *
 *   bytes 0–7    "WASMNET\0"
 *   bytes 8–11   format version (u32 LE), now 1
 *   bytes 12–15  header length H (u32 LE)
 *   16 … 16+H    header: UTF-8 JSON (architecture, activations, loss, optimizer settings, tensor names and sizes)
 *   then         zero padding to a multiple of 4, the tensors as float32 LE in header order
 *   last 4       CRC-32 (u32 LE) of everything before it
 *
 * Weights only: optimizer state (Adam's moments) is not saved, so training a
 * loaded model starts its optimizer afresh.
 */
import { ValueError } from './core/errors.js';
import type { OptimizerConfig } from './optimizers.js';

export const MODEL_MAGIC = 'WASMNET\0';
export const MODEL_VERSION = 1;

export type LayerSpec =
  | { kind: 'Conv2D'; fshape: [number, number, number]; afun: string; optim: OptimizerConfig }
  | { kind: 'Pool2D'; area: [number, number]; strict: boolean; stride?: [number, number] }
  | { kind: 'Flatten' }
  | { kind: 'Dense'; outputSize: number; afun: string; optim: OptimizerConfig };

export interface ModelHeader {
  format: 'wasmnet-model';
  version: number;
  inputShape: number[];
  seed: number;
  loss: string;
  layers: LayerSpec[];
  /** Tensors in file order: `layers.<i>.<name>` and their lengths. */
  tensors: { name: string; length: number }[];
  /** Free-form facts about training (epochs, accuracy, date), for people. */
  meta?: Record<string, unknown>;
}

export function encodeModel(header: ModelHeader, tensors: Float32Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align4(16 + json.length);
  const floats = tensors.reduce((s, t) => s + t.length, 0);
  const out = new Uint8Array(dataStart + 4 * floats + 4);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MODEL_MAGIC), 0);
  view.setUint32(8, MODEL_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  let o = dataStart;
  for (const t of tensors) for (let i = 0; i < t.length; i++, o += 4) view.setFloat32(o, t[i], true);
  view.setUint32(o, crc32(out.subarray(0, o)), true);
  return out;
}

export function decodeModel(bytes: Uint8Array): { header: ModelHeader; tensors: Float32Array[] } {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`a model must be given as a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 20 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MODEL_MAGIC) {
    throw new ValueError('not a wasmnet model file (the first bytes are not "WASMNET")');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== MODEL_VERSION) throw new ValueError(`model file version ${version} is not supported (this wasmnet reads version ${MODEL_VERSION})`);
  const stored = view.getUint32(bytes.length - 4, true);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) {
    throw new ValueError('the model file is damaged or truncated (checksum mismatch)');
  }
  const headerLen = view.getUint32(12, true);
  if (16 + headerLen > bytes.length - 4) throw new ValueError('the model file is truncated (header runs past the end)');
  let header: ModelHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLen)));
  } catch {
    throw new ValueError('the model file header is not valid JSON');
  }
  if (header?.format !== 'wasmnet-model' || !Array.isArray(header.layers) || !Array.isArray(header.tensors) || !Array.isArray(header.inputShape)) {
    throw new ValueError('the model file header lacks format, inputShape, layers or tensors');
  }
  let o = align4(16 + headerLen);
  const tensors: Float32Array[] = [];
  for (const t of header.tensors) {
    if (!Number.isInteger(t?.length) || t.length < 0 || o + 4 * t.length > bytes.length - 4) {
      throw new ValueError(`the model file is truncated or inconsistent at tensor ${JSON.stringify(t?.name)}`);
    }
    const values = new Float32Array(t.length);
    for (let i = 0; i < t.length; i++, o += 4) values[i] = view.getFloat32(o, true);
    tensors.push(values);
  }
  if (o !== bytes.length - 4) throw new ValueError(`the model file has ${bytes.length - 4 - o} bytes more than its header describes`);
  return { header, tensors };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, as zip and PNG use). */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
