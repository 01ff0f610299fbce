/**
 * NumPy's `.npz` (a zip of `.npy` arrays), as the course's `mnist.npz`.
 * `parseNpz` works on bytes anywhere; `loadNpz` reads a file in Node.
 */
import { ValueError, show } from '../core/errors.js';
import { readFileBytes } from '../core/node-io.js';
import { readZip } from './zip.js';

/** Largest array entry accepted (2 GiB): more than any wasm network can use. */
const MAX_ENTRY = 2 ** 31;

/** One array of a NumPy `.npy` file (or of an `.npz` archive). */
export interface NpyArray {
  /** Its dimensions. */
  shape: number[];
  /** The values as float64 (exact for every integer type MNIST uses and for float32). */
  data: Float64Array;
  /** NumPy's dtype descriptor, e.g. '|u1', '<f4', '<i8'. */
  dtype: string;
}

type Reader = (v: DataView, o: number, little: boolean) => number;
const DTYPES: Record<string, { size: number; read: Reader }> = {
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  b1: { size: 1, read: (v, o) => v.getUint8(o) },
  u2: { size: 2, read: (v, o, l) => v.getUint16(o, l) },
  i2: { size: 2, read: (v, o, l) => v.getInt16(o, l) },
  u4: { size: 4, read: (v, o, l) => v.getUint32(o, l) },
  i4: { size: 4, read: (v, o, l) => v.getInt32(o, l) },
  u8: { size: 8, read: (v, o, l) => Number(v.getBigUint64(o, l)) },
  i8: { size: 8, read: (v, o, l) => Number(v.getBigInt64(o, l)) },
  f4: { size: 4, read: (v, o, l) => v.getFloat32(o, l) },
  f8: { size: 8, read: (v, o, l) => v.getFloat64(o, l) },
};

/** Parses one `.npy` file. */
export function parseNpy(bytes: Uint8Array, fileName?: string): NpyArray {
  const name = typeof fileName === 'string' ? fileName : 'npy data';
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`${name}: bytes must be a Uint8Array, got ${show(bytes)}`);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new ValueError(`${name}: not a .npy array (bad magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : -1;
  const start = major === 1 ? 10 : 12;
  if (headerLen < 0 || start + headerLen > bytes.length) throw new ValueError(`${name}: truncated .npy header`);
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new ValueError(`${name}: malformed .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw new ValueError(`${name}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ValueError(`${name}: bad shape (${shapeText})`);
  const order = descr[0];
  const spec = DTYPES[descr.slice(1)];
  if (!spec || !'<>|='.includes(order)) throw new ValueError(`${name}: unsupported dtype ${descr} (supported: integers, bool, float32, float64)`);
  const little = order !== '>';
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (bytes.length - offset < count * spec.size) {
    throw new ValueError(`${name}: truncated: shape (${shape.join(', ')}) of ${descr} needs ${count * spec.size} data bytes, found ${bytes.length - offset}`);
  }
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = spec.read(view, offset + i * spec.size, little);
  return { shape, data, dtype: descr };
}

/**
 * Parses a `.npz` archive into its arrays, keyed by name without `.npy`. The
 * result has no prototype, so every entry is an own key, whatever its name
 * (`__proto__`, `constructor`, …). Each entry's CRC-32 is checked.
 */
export function parseNpz(bytes: Uint8Array, fileName?: string): Record<string, NpyArray> {
  const name = typeof fileName === 'string' ? fileName : 'npz data';
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`${name}: bytes must be a Uint8Array, got ${show(bytes)}`);
  const files = readZip(bytes, name, (f) => {
    if (!f.name.endsWith('.npy')) return false;
    if (f.size > MAX_ENTRY) throw new ValueError(`${name}: entry ${f.name} claims ${f.size} bytes from ${f.compressedSize} compressed: damaged archive`);
    return true;
  });
  const out: Record<string, NpyArray> = Object.create(null);
  for (const [file, content] of files) out[file.slice(0, -4)] = parseNpy(content, `${name}: ${file}`);
  return out;
}

/** Reads a `.npz` file (Node). */
export async function loadNpz(path: string): Promise<Record<string, NpyArray>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(path);
  } catch (e) {
    throw new ValueError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseNpz(bytes, path);
}
