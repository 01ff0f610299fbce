// The raw dropout kernels (crate/src/dropout.rs) against test/reference/dropout.ts.
// These call the export table directly; the DropoutLayer tests will build on them.
import { describe, expect, it } from 'vitest';
import { Rng, init } from 'wasmnet';
import { allocF32, load } from 'wasmnet/internal';
import { dropoutBackward, dropoutForward, dropoutMask } from './reference/dropout.js';
import { expectClose, values } from './helpers/util.js';

await init();
const k = await load();

/** `len` bytes of wasm memory (allocF32 is for floats; the mask is bytes). */
function bytes(len: number) {
  const ptr = k.wn_alloc(len) >>> 0;
  return { ptr, view: () => new Uint8Array(k.memory.buffer, ptr, len).slice(), free: () => k.wn_free(ptr, len) };
}

/** Runs the forward kernel on `x` (a chunk of rows starting at batch row `rowOffset`); returns out and mask. */
function forward(x: Float32Array, cols: number, rowOffset: number, rate: number, seed: number, step: number) {
  const [xb, out, mask] = [allocF32(x.length), allocF32(x.length), bytes(x.length)];
  xb.set(x);
  k.wn_dropout_forward(xb.ptr, out.ptr, mask.ptr, x.length / cols, cols, rowOffset, rate, seed, step);
  const result = { out: out.toArray(), mask: mask.view() };
  xb.free();
  out.free();
  mask.free();
  return result;
}

const scaleOf = (rate: number) => Math.fround(1 / (1 - Math.fround(rate)));

describe('wn_dropout_forward / wn_dropout_backward', () => {
  it('keeps 1 − rate of 10^6 elements, within 4 standard deviations', () => {
    const n = 1_000_000;
    for (const rate of [0.2, 0.5, 0.85]) {
      const { mask } = forward(new Float32Array(n).fill(1), 1000, 0, rate, 123, 4);
      const kept = mask.reduce((s, b) => s + b, 0);
      const p = 1 - Math.fround(rate);
      expect(Math.abs(kept - n * p), `rate ${rate}: kept ${kept}`).toBeLessThan(4 * Math.sqrt(n * p * (1 - p)));
    }
  });

  it('the mask is the documented SplitMix64 function of (seed, step, index in the batch)', () => {
    const [rows, cols, rowOffset, rate] = [9, 7, 3, 0.3];
    const { mask } = forward(values(rows * cols, new Rng(1)), cols, rowOffset, rate, 0xdeadbeef, 77);
    expect(Array.from(mask)).toEqual(Array.from(dropoutMask(0xdeadbeef, 77, rowOffset, rows, cols, Math.fround(rate))));
  });

  it('scales kept elements by 1/(1 − rate), zeroes the rest, and backward uses the same mask', () => {
    for (const [rows, cols, rate] of [[5, 13, 0.4], [3, 1, 0.1], [7, 9, 0.75]]) {
      const rng = new Rng(rows * cols);
      const x = values(rows * cols, rng);
      const { out, mask } = forward(x, cols, 0, rate, 9, 1);
      const s = scaleOf(rate);
      expect(Array.from(out)).toEqual(Array.from(x, (v, i) => (mask[i] ? Math.fround(v * s) : 0)));
      expectClose(out, dropoutForward(x, mask, Math.fround(rate)), 1e-6, 'out');

      const dy = values(x.length, rng);
      const [dyb, dx, mb] = [allocF32(x.length), allocF32(x.length), bytes(x.length)];
      dyb.set(dy);
      new Uint8Array(k.memory.buffer, mb.ptr, x.length).set(mask);
      k.wn_dropout_backward(dyb.ptr, mb.ptr, x.length, s, dx.ptr);
      expectClose(dx.toArray(), dropoutBackward(dy, mask, Math.fround(rate)), 1e-6, 'dx');
      expect(Array.from(dx.toArray())).toEqual(Array.from(dy, (v, i) => (mask[i] ? Math.fround(v * s) : 0)));
      dyb.free();
      dx.free();
      mb.free();
    }
  });

  it('a batch cut into chunks (row_offset) gets the same mask and output as the whole batch', () => {
    const [rows, cols] = [11, 17];
    const x = values(rows * cols, new Rng(3));
    const whole = forward(x, cols, 0, 0.5, 31, 8);
    for (const split of [1, 5, 10]) {
      const a = forward(x.subarray(0, split * cols), cols, 0, 0.5, 31, 8);
      const b = forward(x.subarray(split * cols), cols, split, 0.5, 31, 8);
      expect(Array.from(a.mask).concat(Array.from(b.mask))).toEqual(Array.from(whole.mask));
      expect(Array.from(a.out).concat(Array.from(b.out))).toEqual(Array.from(whole.out));
    }
  });

  it('different steps and seeds give different masks; the same (seed, step) the same one', () => {
    const x = new Float32Array(20_000).fill(1);
    const base = forward(x, 100, 0, 0.5, 1, 1).mask;
    expect(Array.from(forward(x, 100, 0, 0.5, 1, 1).mask)).toEqual(Array.from(base));
    for (const [seed, step] of [[1, 2], [2, 1], [0, 0]]) {
      const other = forward(x, 100, 0, 0.5, seed, step).mask;
      const agree = other.reduce((s, b, i) => s + (b === base[i] ? 1 : 0), 0);
      // Independent masks agree on half the elements: σ = √(20000/4) ≈ 71.
      expect(Math.abs(agree - 10_000), `seed ${seed}, step ${step}`).toBeLessThan(4 * 71);
    }
  });

  it('rate 0 is the identity, bit for bit', () => {
    const x = values(37, new Rng(8));
    const { out, mask } = forward(x, 37, 0, 0, 5, 6);
    expect(Array.from(out)).toEqual(Array.from(x));
    expect(mask.every((b) => b === 1)).toBe(true);
    expect(scaleOf(0)).toBe(1);
  });
});
