// Rewriting wasmnet model files as a damaged or hostile file would hold them, with a valid checksum.
import { crc32 } from 'node:zlib';

/**
 * The file with its header changed by `editHeader` and its tensor bytes by
 * `editData` (in place), re-encoded: new header length, padding and a fixed-up
 * checksum, so the reader's own checks are what stands between it and the network.
 */
export function rewriteModel(bytes: Uint8Array, editHeader: (header: any) => void, editData?: (data: DataView) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength)));
  const data = bytes.slice((16 + headerLength + 3) & ~3, bytes.length - 4);
  editHeader(header);
  editData?.(new DataView(data.buffer));
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = (16 + json.length + 3) & ~3;
  const out = new Uint8Array(start + data.length + 4);
  out.set(bytes.subarray(0, 12));
  new DataView(out.buffer).setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(data, start);
  return fixChecksum(out);
}

/** `bytes` (changed in place) with the checksum in its last 4 bytes made valid again. */
export function fixChecksum(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}
