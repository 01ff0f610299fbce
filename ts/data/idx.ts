/**
 * IDX files (the MNIST format): a 4-byte magic `0 0 type rank`, `rank`
 * big-endian u32 dimensions, then the values, big-endian. Gzipped files are
 * recognised by their magic bytes and inflated first, and the inflated bytes
 * checked against the gzip trailer's CRC-32 and size. Works in browsers too.
 */
import { gunzipSync } from 'fflate';
import { crc32 } from '../core/crc32.js';
import { ValueError } from '../core/errors.js';
import { plausibleInflatedSize } from './inflate-guard.js';
import { plural } from '../core/words.js';

/** The typed array an IDX file's element type reads into. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A parsed IDX file (the format MNIST is distributed in). */
export interface IdxFile {
  /** Dimensions, e.g. [60000, 28, 28] for MNIST's training images. */
  dims: number[];
  /** The values, in a typed array of the file's element type. */
  data: IdxData;
  /** Element type name: 'uint8', 'int8', 'int16', 'int32', 'float32' or 'float64'. */
  type: string;
}

const TYPES: Record<number, { type: string; size: number; make: (n: number) => IdxData; read: (v: DataView, o: number) => number }> = {
  0x08: { type: 'uint8', size: 1, make: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o) },
  0x09: { type: 'int8', size: 1, make: (n) => new Int8Array(n), read: (v, o) => v.getInt8(o) },
  0x0b: { type: 'int16', size: 2, make: (n) => new Int16Array(n), read: (v, o) => v.getInt16(o) },
  0x0c: { type: 'int32', size: 4, make: (n) => new Int32Array(n), read: (v, o) => v.getInt32(o) },
  0x0d: { type: 'float32', size: 4, make: (n) => new Float32Array(n), read: (v, o) => v.getFloat32(o) },
  0x0e: { type: 'float64', size: 8, make: (n) => new Float64Array(n), read: (v, o) => v.getFloat64(o) },
};

/** True for bytes that start with gzip's magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses an IDX file (plain or gzipped). `name` is used in error messages. */
export function readIdx(bytes: Uint8Array, fileName?: string): IdxFile {
  const name = typeof fileName === 'string' ? fileName : 'IDX data';
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`readIdx: bytes must be a Uint8Array, got ${typeof bytes}`);
  if (isGzip(bytes)) {
    // gzip's trailer states the inflated size; a damaged one must not make us allocate gigabytes.
    if (bytes.length < 18) throw new ValueError(`${name}: corrupt gzip data (${bytes.length} bytes is shorter than gzip's header and trailer)`);
    const claimed = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
    if (!plausibleInflatedSize(claimed, bytes.length)) throw new ValueError(`${name}: corrupt gzip data (claims ${claimed} bytes from ${bytes.length})`);
    let inflated: Uint8Array;
    try {
      inflated = gunzipSync(bytes);
    } catch (e) {
      throw new ValueError(`${name}: corrupt gzip data (${(e as Error).message})`);
    }
    // fflate checks neither the trailer's CRC-32 nor its size (RFC 1952): a damaged stream would give wrong pixels.
    const trailer = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 8);
    if (inflated.length !== claimed || crc32(inflated) !== trailer.getUint32(0, true)) {
      throw new ValueError(`${name}: corrupt gzip data (the CRC-32 or size in its trailer does not match the inflated data)`);
    }
    bytes = inflated;
  }
  if (bytes.length < 4) throw new ValueError(`${name}: ${plural(bytes.length, 'byte')} is too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new ValueError(`${name}: not an IDX file (magic must start with two zero bytes)`);
  const spec = TYPES[bytes[2]];
  if (!spec) throw new ValueError(`${name}: unknown IDX element type 0x${bytes[2].toString(16)}`);
  const rank = bytes[3];
  if (rank === 0) throw new ValueError(`${name}: IDX rank 0 (no dimensions)`);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new ValueError(`${name}: truncated header (${bytes.length} bytes, rank ${rank} needs ${header})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i);
    dims.push(d);
    count *= d;
  }
  const expected = header + count * spec.size;
  if (bytes.length < expected) {
    throw new ValueError(`${name}: truncated: dimensions [${dims.join(', ')}] need ${expected} bytes, the file has ${bytes.length}`);
  }
  if (bytes.length > expected) {
    throw new ValueError(`${name}: ${bytes.length - expected} unexpected bytes after the data of dimensions [${dims.join(', ')}]`);
  }
  let data: IdxData;
  if (spec.size === 1) {
    data = spec.type === 'uint8' ? bytes.slice(header, expected) : new Int8Array(bytes.slice(header, expected).buffer);
  } else {
    data = spec.make(count);
    for (let i = 0; i < count; i++) data[i] = spec.read(view, header + i * spec.size);
  }
  return { dims, data, type: spec.type };
}
