// CRC-32 (ts/core/crc32.ts) against zlib's and the standard check value, on lengths that use every path of the
// slicing-by-8 loop: the unaligned head, whole 8-byte blocks and the tail, in a buffer at any offset.
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../ts/core/crc32.js';

describe('crc32', () => {
  it('the standard check value: CRC-32 of "123456789" is 0xCBF43926; of nothing, 0', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('matches zlib on every byte value and long random data at every offset (unsigned, as zlib gives it)', () => {
    const bytes = new Uint8Array(4096 + 8);
    let x = 12345;
    for (let i = 0; i < bytes.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      bytes[i] = x >>> 24;
    }
    for (let b = 0; b < 256; b++) expect(crc32(new Uint8Array([b])), `byte ${b}`).toBe(zlibCrc32(new Uint8Array([b])));
    for (let offset = 0; offset < 8; offset++) {
      for (const length of [8, 9, 15, 16, 17, 63, 64, 1000, 4096]) {
        const v = bytes.subarray(offset, offset + length);
        expect(crc32(v), `${offset}+${length}`).toBe(zlibCrc32(v));
      }
    }
    // Blocks whose high bytes are all 0xff: every table index at its maximum.
    const ones = new Uint8Array(64).fill(0xff);
    expect(crc32(ones)).toBe(zlibCrc32(ones));
  });
});
