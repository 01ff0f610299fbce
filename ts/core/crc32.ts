/** CRC-32 (IEEE 802.3), as gzip, zip, PNG and wasmnet's model files use it. */
import { LITTLE_ENDIAN } from './endian.js';

/**
 * Eight tables for "slicing by 8": `tables[k·256 + b]` is the CRC of byte `b`
 * followed by `k` zero bytes, so eight bytes fold into the CRC with eight
 * lookups and no dependency between them: twice the byte-at-a-time loop's
 * speed on a 6.5 MB model file (765 against 356 MB/s in Node 20).
 */
let tables: Uint32Array | null = null;

function makeTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
}

/** The CRC-32 of `bytes`, as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array): number {
  const t = (tables ??= makeTables());
  let crc = 0xffffffff;
  let i = 0;
  if (LITTLE_ENDIAN) {
    // Bytes up to a 4-byte boundary one at a time, then eight at a time as two aligned words.
    const head = Math.min(bytes.length, (4 - (bytes.byteOffset & 3)) & 3);
    for (; i < head; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
    const words = ((bytes.length - i) >>> 3) << 1;
    // Only with whole words left: an empty view at an unaligned offset (a short input) is a RangeError.
    const w = words > 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset + i, words) : new Uint32Array(0);
    for (let j = 0; j < words; j += 2) {
      const low = crc ^ w[j];
      const high = w[j + 1];
      crc =
        t[1792 + (low & 0xff)] ^
        t[1536 + ((low >>> 8) & 0xff)] ^
        t[1280 + ((low >>> 16) & 0xff)] ^
        t[1024 + (low >>> 24)] ^
        t[768 + (high & 0xff)] ^
        t[512 + ((high >>> 8) & 0xff)] ^
        t[256 + ((high >>> 16) & 0xff)] ^
        t[high >>> 24];
    }
    i += 4 * words;
  }
  for (; i < bytes.length; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
