/**
 * Reference inverted dropout in float64: given the keep mask (1 = kept),
 * out = x/(1 − rate) where kept and 0 where dropped; backward likewise
 * dx = dy/(1 − rate) where kept, else 0.
 *
 * `dropoutMask` restates the kernel's documented mask (crate/src/dropout.rs)
 * with BigInt: element e (its index in the whole mini-batch) is kept when
 * the top 32 bits of SplitMix64 output e, seeded with
 * mix64(seed·2³² + step), are ≥ round(rate·2³²).
 */
export function dropoutForward(x: ArrayLike<number>, mask: ArrayLike<number>, rate: number): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => (mask[i] ? x[i] / (1 - rate) : 0));
}

export function dropoutBackward(dy: ArrayLike<number>, mask: ArrayLike<number>, rate: number): Float64Array {
  return dropoutForward(dy, mask, rate);
}

const M64 = (1n << 64n) - 1n;
const PHI = 0x9e3779b97f4a7c15n;

function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

/** Keep (1) or drop (0) for the `rows·cols` elements of a chunk starting at batch row `rowOffset`. */
export function dropoutMask(seed: number, step: number, rowOffset: number, rows: number, cols: number, rate: number): Uint8Array {
  const key = mix64((BigInt(seed >>> 0) << 32n) | BigInt(step >>> 0));
  const threshold = BigInt(Math.round(rate * 2 ** 32));
  const mask = new Uint8Array(rows * cols);
  for (let i = 0; i < mask.length; i++) {
    const e = BigInt(rowOffset * cols + i);
    const draw = mix64((key + (e + 1n) * PHI) & M64) >> 32n;
    mask[i] = draw >= threshold ? 1 : 0;
  }
  return mask;
}
