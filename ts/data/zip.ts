/**
 * Reading zip archives, as NumPy's `savez` writes them: the central
 * directory (zip64 sizes included), stored and deflated entries. fflate's
 * `unzipSync` checks neither the entries' CRC-32 nor their sizes, and keys
 * them into a plain object (an entry named `__proto__` becomes its
 * prototype); here every entry is checked against the CRC-32 and size its
 * directory records, claimed sizes are checked before anything is inflated,
 * and entries come back in a Map.
 */
import { inflateSync } from 'fflate';
import { crc32 } from '../core/crc32.js';
import { ValueError } from '../core/errors.js';
import { plausibleInflatedSize } from './inflate-guard.js';

/** What the central directory says about an entry, before it is read. */
export interface ZipEntryInfo {
  name: string;
  /** Bytes in the archive. */
  compressedSize: number;
  /** Bytes once inflated. */
  size: number;
  /** 0 stored, 8 deflated. */
  method: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const FULL = 0xffffffff;

/**
 * The entries of a zip archive that `accept` takes (it may throw to refuse
 * the archive), by name in archive order. `archive` names the archive in
 * error messages; every error is a ValueError.
 */
export function readZip(bytes: Uint8Array, archive: string, accept: (entry: ZipEntryInfo) => boolean): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => {
    throw new ValueError(`${archive}: not a readable .npz (zip) archive (${why})`);
  };
  const u16 = (o: number) => (o + 2 <= bytes.length ? view.getUint16(o, true) : fail('truncated'));
  const u32 = (o: number) => (o + 4 <= bytes.length ? view.getUint32(o, true) : fail('truncated'));
  const u64 = (o: number) => (o + 8 <= bytes.length ? Number(view.getBigUint64(o, true)) : fail('truncated'));

  // The end-of-central-directory record: the last 22 bytes, or before a comment of up to 65535 bytes.
  let e = bytes.length - 22;
  while (e >= 0 && e >= bytes.length - 22 - 0xffff && view.getUint32(e, true) !== EOCD) e--;
  if (e < 0 || e < bytes.length - 22 - 0xffff) fail('no end of central directory record');
  let count = u16(e + 10);
  let offset = u32(e + 16);
  if (e >= 20 && u32(e - 20) === ZIP64_LOCATOR) {
    const z = u64(e - 12);
    if (u32(z) !== ZIP64_EOCD) fail('bad zip64 end of central directory');
    count = u64(z + 32);
    offset = u64(z + 48);
  }

  const entries = new Map<string, Uint8Array>();
  let o = offset;
  for (let i = 0; i < count; i++) {
    if (u32(o) !== CENTRAL) fail(`central directory entry ${i} is damaged`);
    const flags = u16(o + 8);
    const method = u16(o + 10);
    const crc = u32(o + 16);
    let compressedSize = u32(o + 20);
    let size = u32(o + 24);
    const nameLen = u16(o + 28);
    const extraLen = u16(o + 30);
    const commentLen = u16(o + 32);
    let local = u32(o + 42);
    if (o + 46 + nameLen > bytes.length) fail('truncated');
    const name = new TextDecoder().decode(bytes.subarray(o + 46, o + 46 + nameLen));
    // zip64: the sizes and offset that do not fit 32 bits are in extra field 1, in this order.
    if (size === FULL || compressedSize === FULL || local === FULL) {
      let x = o + 46 + nameLen;
      const end = x + extraLen;
      while (x + 4 <= end && u16(x) !== 1) x += 4 + u16(x + 2);
      if (x + 4 > end) fail(`entry ${name} lacks its zip64 sizes`);
      x += 4;
      if (size === FULL) (size = u64(x)), (x += 8);
      if (compressedSize === FULL) (compressedSize = u64(x)), (x += 8);
      if (local === FULL) local = u64(x);
    }
    o += 46 + nameLen + extraLen + commentLen;
    if (!accept({ name, compressedSize, size, method })) continue;
    if (flags & 1) fail(`entry ${name} is encrypted`);
    if (entries.has(name)) fail(`entry ${name} appears twice`);
    if (u32(local) !== LOCAL) fail(`entry ${name}: damaged local header`);
    const start = local + 30 + u16(local + 26) + u16(local + 28);
    if (start + compressedSize > bytes.length) fail(`entry ${name} runs past the end`);
    const stored = bytes.subarray(start, start + compressedSize);
    let content: Uint8Array;
    if (method === 0) {
      if (compressedSize !== size) fail(`stored entry ${name} has ${compressedSize} bytes but claims ${size}`);
      content = stored.slice();
    } else if (method === 8) {
      if (!plausibleInflatedSize(size, compressedSize)) {
        throw new ValueError(`${archive}: entry ${name} claims ${size} bytes from ${compressedSize} compressed: damaged archive`);
      }
      try {
        // Into a buffer of the claimed size: fflate neither grows it nor says when the data is longer (the CRC does).
        content = inflateSync(stored, { out: new Uint8Array(size) });
      } catch (err) {
        return fail(`entry ${name}: ${(err as Error).message}`);
      }
    } else {
      return fail(`entry ${name} uses compression method ${method} (only stored and deflated are read)`);
    }
    if (content.length !== size || crc32(content) !== crc) {
      throw new ValueError(`${archive}: entry ${name} is damaged (its CRC-32 or size does not match the archive's directory)`);
    }
    entries.set(name, content);
  }
  return entries;
}
