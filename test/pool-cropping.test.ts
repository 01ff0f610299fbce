// Pooling whose windows leave trailing rows OR columns (one dimension only) cropped, into buffers a previous call
// dirtied: the kernels (crate/src/pool.rs, crate/src/avgpool.rs) must overwrite every input gradient, 0 where no
// window reaches, and every mask byte. Fresh buffers are zero-allocated, so only a reused buffer shows a kernel that
// clears cropped rows and columns only when both are cropped. Against test/reference/pool2d.ts and avgpool2d.ts.
import { describe, expect, it } from 'vitest';
import { AvgPool2DLayer, Pool2DLayer, Rng, Tensor } from 'wasmnet';
import { allocF32, allocU8, kernels } from 'wasmnet/internal';
import { avgPoolBackward } from './reference/avgpool2d.js';
import { type PoolDims, maxPoolBackward, maxPoolForward } from './reference/pool2d.js';
import { expectClose, uniform } from './helpers/util.js';

type Dims = Required<PoolDims>;

// Tilings (stride = window) cropped in one dimension only; 2×2 takes the SIMD paths, 3×2 the general tiles.
const croppedOnce: (Dims & { what: string })[] = [
  { n: 2, c: 3, h: 7, w: 10, ph: 2, pw: 2, sh: 2, sw: 2, what: '2×2, last row cropped' },
  { n: 2, c: 3, h: 10, w: 9, ph: 2, pw: 2, sh: 2, sw: 2, what: '2×2, last column cropped' },
  { n: 1, c: 2, h: 10, w: 8, ph: 3, pw: 2, sh: 3, sw: 2, what: '3×2, last row cropped' },
  { n: 1, c: 2, h: 9, w: 7, ph: 3, pw: 2, sh: 3, sw: 2, what: '3×2, last column cropped' },
];

const size = (d: Dims) => d.n * d.c * d.h * d.w;
const outSize = (d: Dims) => d.n * d.c * (Math.floor((d.h - d.ph) / d.sh) + 1) * (Math.floor((d.w - d.pw) / d.sw) + 1);
const dimsArgs = (d: Dims) => [d.n, d.c, d.h, d.w, d.ph, d.pw, d.sh, d.sw] as const;

describe('max pooling cropped in one dimension, into dirtied buffers (raw kernels)', () => {
  for (const d of croppedOnce) {
    for (const strict of [false, true]) {
      it(`${d.what} ${JSON.stringify(d)}, strict = ${strict}: mask and input gradient overwrite NaN and garbage`, () => {
        const rng = new Rng(size(d) + (strict ? 1 : 0));
        const a = uniform([d.n, d.c, d.h, d.w], rng);
        const delta = uniform([outSize(d)], rng, 0.5, 1.5);
        const [ab, out, deltab, da] = [allocF32(size(d)), allocF32(outSize(d)), allocF32(outSize(d)), allocF32(size(d))];
        const mask = allocU8(size(d));
        ab.set(a.data);
        deltab.set(delta.data);
        out.view().fill(NaN);
        mask.view().fill(7);
        const k = kernels();
        k.wn_maxpool_forward(...dimsArgs(d), ab.ptr, out.ptr);
        k.wn_maxpool_winners(...dimsArgs(d), ab.ptr, out.ptr, mask.ptr);
        const ref = maxPoolForward(d, a.data);
        expect(Array.from(mask.view())).toEqual(Array.from(ref.mask));
        const want = maxPoolBackward(d, a.data, delta.data, strict);
        // twice: into NaN, then into the previous result turned to garbage
        for (const dirt of [NaN, 1e6]) {
          da.view().fill(dirt);
          k.wn_maxpool_backward(...dimsArgs(d), ab.ptr, out.ptr, deltab.ptr, strict ? 1 : 0, 0, da.ptr);
          expectClose(da.toArray(), want, 1e-6, `da over ${dirt}`);
        }
        for (const b of [ab, out, deltab, da, mask]) b.free();
      });
    }
  }
});

describe('average pooling cropped in one dimension, into dirtied buffers (raw kernel)', () => {
  for (const d of croppedOnce) {
    it(`${d.what} ${JSON.stringify(d)}: the input gradient overwrites NaN and garbage`, () => {
      const rng = new Rng(size(d) + 5);
      const delta = uniform([outSize(d)], rng, 0.5, 1.5);
      const [deltab, da] = [allocF32(outSize(d)), allocF32(size(d))];
      deltab.set(delta.data);
      const want = avgPoolBackward(d, delta.data);
      for (const dirt of [NaN, 1e6]) {
        da.view().fill(dirt);
        kernels().wn_avgpool_backward(...dimsArgs(d), deltab.ptr, da.ptr);
        expectClose(da.toArray(), want, 1e-6, `da over ${dirt}`);
      }
      deltab.free();
      da.free();
    });
  }
});

describe('a pooling layer reused on a one-dimension-cropped shape after a larger one (its buffers dirty)', () => {
  for (const d of croppedOnce) {
    // First an uncropped input as large or larger, all ties (non-strict: every input wins), so every gradient is non-zero.
    const big: Dims = { ...d, h: d.h + (d.h % d.ph === 0 ? 0 : d.ph - (d.h % d.ph)), w: d.w + (d.w % d.pw === 0 ? 0 : d.pw - (d.w % d.pw)) };
    const bigShape = [big.n, big.c, big.h, big.w];
    const ones = new Tensor(new Float32Array(size(big)).fill(1), bigShape);
    for (const strict of [false, true]) {
      it(`max pool ${d.what}, strict = ${strict}: backprop twice matches the reference`, () => {
        const rng = new Rng(size(d) * 3 + (strict ? 1 : 0));
        const pool = new Pool2DLayer([d.ph, d.pw], { strict });
        const first = pool.evaluate(ones);
        const firstDa = pool.backprop(new Tensor(new Float32Array(first.size).fill(3), first.shape)).data;
        expect(firstDa.every((g) => g !== 0)).toBe(true);
        const a = uniform([d.n, d.c, d.h, d.w], rng);
        const out = pool.evaluate(a);
        expect(Array.from(pool.mask!)).toEqual(Array.from(maxPoolForward(d, a.data).mask));
        for (let round = 0; round < 2; round++) {
          const delta = uniform(out.shape as number[], rng, 0.5, 1.5);
          expectClose(pool.backprop(delta).data, maxPoolBackward(d, a.data, delta.data, strict), 1e-6, `da, round ${round}`);
        }
        pool.dispose();
      });
    }
    it(`average pool ${d.what}: backprop twice matches the reference`, () => {
      const rng = new Rng(size(d) * 5);
      const pool = new AvgPool2DLayer([d.ph, d.pw]);
      const first = pool.evaluate(ones);
      expect(pool.backprop(new Tensor(new Float32Array(first.size).fill(3), first.shape)).data.every((g) => g !== 0)).toBe(true);
      const out = pool.evaluate(uniform([d.n, d.c, d.h, d.w], rng));
      for (let round = 0; round < 2; round++) {
        const delta = uniform(out.shape as number[], rng, 0.5, 1.5);
        expectClose(pool.backprop(delta).data, avgPoolBackward(d, delta.data), 1e-6, `da, round ${round}`);
      }
      pool.dispose();
    });
  }
});
