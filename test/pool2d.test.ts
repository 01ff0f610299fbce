// Pool2DLayer (crate/src/pool.rs, ts/layers/pool2d.ts) against test/reference/pool2d.ts.
import { describe, expect, it } from 'vitest';
import { Pool2DLayer, Rng, SequentialNet, ShapeError, Tensor, gradientCheck } from 'wasmnet';
import { maxPoolBackward, maxPoolForward } from './reference/pool2d.js';
import { expectClose, uniform } from './helpers/util.js';

const shapes = [
  { n: 1, c: 1, h: 4, w: 4, ph: 2, pw: 2 },
  { n: 2, c: 3, h: 7, w: 9, ph: 2, pw: 2 }, // odd sizes: last row and column cropped
  { n: 3, c: 2, h: 9, w: 10, ph: 3, pw: 4 },
  { n: 2, c: 32, h: 26, w: 26, ph: 2, pw: 2 }, // the course's MNIST layer
  { n: 1, c: 5, h: 5, w: 3, ph: 5, pw: 1 },
  { n: 2, c: 1, h: 3, w: 3, ph: 1, pw: 1 },
];

describe('Pool2DLayer against the reference (exercise 3)', () => {
  for (const d of shapes) {
    for (const strict of [false, true]) {
      it(`forward, mask and backprop match for ${JSON.stringify(d)}, strict = ${strict}`, () => {
        const rng = new Rng(d.h * 31 + d.w);
        const pool = new Pool2DLayer([d.ph, d.pw], { strict });
        const a = uniform([d.n, d.c, d.h, d.w], rng);
        const out = pool.evaluate(a);
        const ref = maxPoolForward(d, a.data);
        expect(out.shape).toEqual([d.n, d.c, Math.floor(d.h / d.ph), Math.floor(d.w / d.pw)]);
        expect(Array.from(out.data)).toEqual(Array.from(ref.out, Math.fround));
        expect(Array.from(pool.mask!)).toEqual(Array.from(ref.mask));
        expect(pool.shape).toEqual([d.n, d.c, d.h, d.w]);
        const delta = uniform(out.shape as number[], rng);
        expectClose(pool.backprop(delta).data, maxPoolBackward(d, ref.mask, delta.data, strict), 1e-7);
        pool.dispose();
      });
    }
  }
});

describe('pooling for inference (no winners recorded) against the reference', () => {
  for (const d of shapes) {
    it(`network evaluate for ${JSON.stringify(d)}`, () => {
      const net = new SequentialNet([d.c, d.h, d.w]);
      net.addPool2D([d.ph, d.pw]);
      const a = uniform([d.n, d.c, d.h, d.w], new Rng(d.c * 7 + d.w));
      expect(Array.from(net.evaluate(a).data)).toEqual(Array.from(maxPoolForward(d, a.data).out, Math.fround));
      net.dispose();
    });
  }
});

describe('Pool2DLayer ties (the definitions of strict, tested directly)', () => {
  // One 2×4 plane with two areas: [1,1;1,1] (four-way tie) and [0,3;3,2] (two-way tie).
  const a = new Tensor([1, 1, 0, 3, 1, 1, 3, 2], [1, 1, 2, 4]);
  const delta = new Tensor([8, 6], [1, 1, 1, 2]);

  it('strict = false hands every tied maximum the whole delta (the course default)', () => {
    const pool = new Pool2DLayer([2, 2]);
    expect(Array.from(pool.evaluate(a).data)).toEqual([1, 3]);
    expect(Array.from(pool.mask!)).toEqual([1, 1, 0, 1, 1, 1, 1, 0]);
    expect(Array.from(pool.backprop(delta).data)).toEqual([8, 8, 0, 6, 8, 8, 6, 0]);
    pool.dispose();
  });

  it('strict = true divides the delta by the number of maxima', () => {
    const pool = new Pool2DLayer([2, 2], { strict: true });
    pool.evaluate(a);
    expect(Array.from(pool.backprop(delta).data)).toEqual([2, 2, 0, 3, 2, 2, 3, 0]);
    pool.dispose();
  });

  it('strict = true matches finite differences for a uniform shift of a tied area', () => {
    // Shifting all four tied inputs by ε raises the maximum by ε: dC/dshift = delta = Σ of the strict shares.
    const pool = new Pool2DLayer([2, 2], { strict: true });
    pool.evaluate(a);
    const da = pool.backprop(delta).data;
    expect(da[0] + da[1] + da[4] + da[5]).toBe(8);
    pool.dispose();
  });
});

describe('Pool2DLayer gradient check (random inputs have no ties)', () => {
  for (const strict of [false, true]) {
    it(`input gradient within 1e-3, strict = ${strict}`, () => {
      const pool = new Pool2DLayer([2, 3], { strict });
      const result = gradientCheck(pool, uniform([2, 3, 7, 8], new Rng(3)), undefined, { samples: 60 });
      expect(result.errors.input).toBeLessThan(1e-3);
      pool.dispose();
    });
  }
});

describe('Pool2DLayer arguments', () => {
  it('rejects an area larger than its input', () => {
    const pool = new Pool2DLayer([3, 3]);
    expect(() => pool.evaluate(Tensor.zeros([1, 1, 2, 5]))).toThrow(ShapeError);
    expect(() => pool.evaluate(Tensor.zeros([1, 1, 2, 5]))).toThrow(/area \[3, 3\] is larger than its 2×5 input/);
    pool.dispose();
  });
  it('rejects a non-positive area', () => {
    expect(() => new Pool2DLayer([0, 2])).toThrow(/Pool2D area must be/);
  });
  it('does nothing on update', () => {
    const pool = new Pool2DLayer([2, 2]);
    expect(pool.update()).toBeUndefined();
    expect(pool.parameters()).toEqual([]);
  });
});
