// Average pooling kernels (crate/src/avgpool.rs) against test/reference/avgpool2d.ts.
// No layer exists yet, so this calls wn_avgpool_forward/backward through the export table `init()` resolves to;
// it will move to the layer once there is one.
import { describe, expect, it } from 'vitest';
import { Rng, allocF32, init } from 'wasmnet';
import { avgPoolBackward, avgPoolForward } from './reference/avgpool2d.js';
import { expectClose } from './helpers/util.js';

interface Dims {
  n: number;
  c: number;
  h: number;
  w: number;
  ph: number;
  pw: number;
  sh: number;
  sw: number;
}

const shapes: Dims[] = [
  { n: 2, c: 3, h: 7, w: 9, ph: 2, pw: 2, sh: 2, sw: 2 }, // the common case, last row and column cropped
  { n: 1, c: 2, h: 10, w: 21, ph: 2, pw: 2, sh: 2, sw: 2 }, // SIMD body and scalar tail
  { n: 2, c: 32, h: 26, w: 26, ph: 2, pw: 2, sh: 2, sw: 2 }, // the course's MNIST layer size
  { n: 3, c: 2, h: 9, w: 11, ph: 3, pw: 3, sh: 2, sw: 2 }, // overlapping windows
  { n: 1, c: 3, h: 7, w: 9, ph: 2, pw: 3, sh: 3, sw: 2 }, // strides that do not divide the input
  { n: 2, c: 1, h: 11, w: 13, ph: 2, pw: 2, sh: 3, sw: 3 }, // stride larger than the window: gaps
  { n: 1, c: 5, h: 5, w: 3, ph: 5, pw: 1, sh: 1, sw: 1 },
  { n: 3, c: 1, h: 9, w: 10, ph: 3, pw: 4, sh: 3, sw: 4 },
];

function random(length: number, rng: Rng): Float32Array {
  return Float32Array.from({ length }, () => 2 * rng.uniform() - 1);
}

describe('average pooling kernels against the reference', () => {
  for (const d of shapes) {
    it(`forward and backward match for ${JSON.stringify(d)}`, async () => {
      const k = await init();
      const rng = new Rng(d.h * 31 + d.w * 7 + d.sh);
      const oh = Math.floor((d.h - d.ph) / d.sh) + 1;
      const ow = Math.floor((d.w - d.pw) / d.sw) + 1;
      const inLen = d.n * d.c * d.h * d.w;
      const outLen = d.n * d.c * oh * ow;
      const a = random(inLen, rng);
      const delta = random(outLen, rng);
      const [aBuf, outBuf, deltaBuf, daBuf] = [allocF32(inLen), allocF32(outLen), allocF32(outLen), allocF32(inLen)];
      try {
        aBuf.set(a);
        deltaBuf.set(delta);
        outBuf.view().fill(NaN);
        daBuf.view().fill(NaN); // every element must be written, zeros where no window reaches
        k.wn_avgpool_forward(d.n, d.c, d.h, d.w, d.ph, d.pw, d.sh, d.sw, aBuf.ptr, outBuf.ptr);
        k.wn_avgpool_backward(d.n, d.c, d.h, d.w, d.ph, d.pw, d.sh, d.sw, deltaBuf.ptr, daBuf.ptr);
        expectClose(outBuf.toArray(), avgPoolForward(d, a), 1e-6, 'out');
        expectClose(daBuf.toArray(), avgPoolBackward(d, delta), 1e-6, 'da');
      } finally {
        for (const b of [aBuf, outBuf, deltaBuf, daBuf]) b.free();
      }
    });
  }

  it('gives zero gradient to inputs no window reaches', async () => {
    const k = await init();
    // a 1×6 row, windows of 2 moved by 3: inputs 2 and 5 lie in no window
    const [deltaBuf, daBuf] = [allocF32(2), allocF32(6)];
    try {
      deltaBuf.set([4, 8]);
      daBuf.view().fill(NaN);
      k.wn_avgpool_backward(1, 1, 1, 6, 1, 2, 1, 3, deltaBuf.ptr, daBuf.ptr);
      expect(Array.from(daBuf.toArray())).toEqual([2, 2, 0, 4, 4, 0]);
    } finally {
      deltaBuf.free();
      daBuf.free();
    }
  });
});
