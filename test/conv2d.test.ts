// Conv2DLayer (crate/src/conv.rs, ts/layers/conv2d.ts) against test/reference/conv2d.ts.
import { describe, expect, it } from 'vitest';
import { Conv2DLayer, Identity, ReLU, Rng, SGD, ShapeError, Tanh, Tensor, ValueError, gradientCheck, SoftMax } from 'wasmnet';
import { conv2dBackward, conv2dForward, convolve2dValid } from './reference/conv2d.js';
import { expectClose, uniform, values } from './helpers/util.js';

// Sizes chosen to miss the SIMD width (4) and the GEMM tile (4×8), plus the course's MNIST layer.
const shapes = [
  { n: 1, c: 1, h: 5, w: 5, m: 1, fh: 3, fw: 3 },
  { n: 3, c: 2, h: 7, w: 6, m: 5, fh: 3, fw: 2 },
  { n: 2, c: 3, h: 9, w: 11, m: 7, fh: 4, fw: 5 },
  { n: 2, c: 1, h: 6, w: 4, m: 3, fh: 6, fw: 1 },
  { n: 4, c: 1, h: 28, w: 28, m: 32, fh: 3, fw: 3 },
  { n: 1, c: 9, h: 13, w: 10, m: 10, fh: 1, fw: 1 },
];

describe('Conv2DLayer against the reference (exercise 1)', () => {
  it('is the true convolution of scipy.signal.convolve2d, not cross-correlation', () => {
    const conv = new Conv2DLayer([1, 3, 3], [1, 2, 2], { afun: new Identity() });
    conv.f = [1, 2, 3, 4];
    const out = conv.evaluate(new Tensor([1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 3, 3]));
    // convolve2d([[1,0,0],[0,0,0],[0,0,0]], [[1,2],[3,4]], 'valid') = [[4,0],[0,0]]: the flipped kernel meets the 1
    expect(Array.from(out.data)).toEqual([4, 0, 0, 0]);
    expectClose(out.data, convolve2dValid([1, 0, 0, 0, 0, 0, 0, 0, 0], 3, 3, [1, 2, 3, 4], 2, 2));
    conv.dispose();
  });

  for (const d of shapes) {
    it(`forward and backprop match for ${JSON.stringify(d)}`, () => {
      const rng = new Rng(d.n * 1000 + d.c * 100 + d.h);
      const conv = new Conv2DLayer([d.c, d.h, d.w], [d.m, d.fh, d.fw], { afun: new Identity(), seed: 3 });
      conv.b = values(d.m, rng);
      const a = uniform([d.n, d.c, d.h, d.w], rng);
      const z = conv.evaluate(a);
      expect(z.shape).toEqual([d.n, d.m, d.h - d.fh + 1, d.w - d.fw + 1]);
      expectClose(z.data, conv2dForward(d, a.data, conv.f, conv.b), 1e-5, 'z');

      const delta = uniform(z.shape as number[], rng);
      const da = conv.backprop(delta);
      const ref = conv2dBackward(d, a.data, conv.f, delta.data);
      expectClose(conv.df, ref.df, 1e-5, 'df');
      expectClose(conv.db, ref.db, 1e-5, 'db');
      expectClose(da.data, ref.da, 1e-5, 'da');
      conv.dispose();
    });
  }

  it('overwrites df and db on each backprop instead of accumulating them', () => {
    const rng = new Rng(5);
    const conv = new Conv2DLayer([2, 6, 6], [3, 3, 3], { afun: new Identity(), seed: 1 });
    const a = uniform([2, 2, 6, 6], rng);
    const delta = uniform([2, 3, 4, 4], rng);
    conv.evaluate(a);
    conv.backprop(delta);
    const first = conv.df.slice();
    conv.backprop(delta);
    expect(Array.from(conv.df)).toEqual(Array.from(first));
    conv.dispose();
  });

  it('applies its activation after the bias', () => {
    const rng = new Rng(8);
    const d = { n: 2, c: 2, h: 5, w: 6, m: 3, fh: 2, fw: 3 };
    const conv = new Conv2DLayer([d.c, d.h, d.w], [d.m, d.fh, d.fw], { afun: new ReLU(), seed: 2 });
    const a = uniform([d.n, d.c, d.h, d.w], rng);
    const ref = conv2dForward(d, a.data, conv.f, conv.b).map((x) => Math.max(x, 0));
    expectClose(conv.evaluate(a).data, ref, 1e-5);
    conv.dispose();
  });

  it('initializes f from RandnAverage scaled by afun.factor, and b with zeros', () => {
    const conv = new Conv2DLayer([4, 10, 10], [64, 3, 3], { afun: new ReLU(), seed: 9 });
    const f = conv.f;
    const variance = f.reduce((s, x) => s + x * x, 0) / f.length;
    const expected = 2 * (2 / (4 * 9 + 64 * 9)); // factor² · 2/(fan_in + fan_out)
    expect(variance / expected).toBeGreaterThan(0.9);
    expect(variance / expected).toBeLessThan(1.1);
    expect(Array.from(conv.b)).toEqual(new Array(64).fill(0));
    conv.dispose();
  });

  it('updates f and b with its optimizer', () => {
    const rng = new Rng(4);
    const conv = new Conv2DLayer([1, 5, 5], [2, 3, 3], { afun: new Identity(), optim: new SGD(0.5), seed: 1 });
    conv.evaluate(uniform([2, 1, 5, 5], rng));
    conv.backprop(uniform([2, 2, 3, 3], rng));
    const expectF = Array.from(conv.f, (v, i) => v - 0.5 * conv.df[i]);
    const expectB = Array.from(conv.b, (v, i) => v - 0.5 * conv.db[i]);
    conv.update();
    expectClose(conv.f, expectF, 1e-7);
    expectClose(conv.b, expectB, 1e-7);
    conv.dispose();
  });
});

describe('Conv2DLayer gradient check (central differences, ε = 1e-3, error relative to the largest gradient)', () => {
  // Smooth activations: the check is exact up to float32 rounding, so the bound is tight.
  for (const afun of [new Identity(), new Tanh()]) {
    it(`${afun.name}: f, b and input agree within 1e-3`, () => {
      const conv = new Conv2DLayer([2, 7, 6], [3, 3, 2], { afun, seed: 11 });
      const result = gradientCheck(conv, uniform([3, 2, 7, 6], new Rng(12)), undefined, { samples: 40 });
      for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-3);
      conv.dispose();
    });
  }
  it('ReLU: agrees within 1e-2 (a ReLU kink near a sample costs some accuracy)', () => {
    const conv = new Conv2DLayer([1, 8, 8], [4, 3, 3], { afun: new ReLU(), seed: 13 });
    const result = gradientCheck(conv, uniform([2, 1, 8, 8], new Rng(14)));
    expect(result.maxError).toBeLessThan(1e-2);
    for (const t of result.tensors) expect(t.skipped, t.name).toBeLessThan(t.checked);
    conv.dispose();
  });
});

describe('Conv2DLayer arguments', () => {
  it('rejects a filter larger than its input', () => {
    expect(() => new Conv2DLayer([1, 4, 4], [2, 5, 3])).toThrow(ShapeError);
    expect(() => new Conv2DLayer([1, 4, 4], [2, 5, 3])).toThrow(/5×3 filter does not fit the 4×4 input/);
  });
  it('rejects shapes that are not positive integers', () => {
    expect(() => new Conv2DLayer([1, 4.5, 4] as never, [2, 3, 3])).toThrow(/Conv2D tensor must be/);
    expect(() => new Conv2DLayer([1, 4, 4], [0, 3, 3])).toThrow(/Conv2D fshape must be/);
  });
  it('rejects SoftMax as a convolution activation', () => {
    expect(() => new Conv2DLayer([1, 4, 4], [2, 3, 3], { afun: new SoftMax() })).toThrow(ValueError);
  });
  it('rejects input of the wrong shape', () => {
    const conv = new Conv2DLayer([1, 5, 5], [2, 3, 3]);
    expect(() => conv.evaluate(Tensor.zeros([2, 1, 5, 6]))).toThrow(/must have shape \[n, 1, 5, 5\], got \[2, 1, 5, 6\]/);
    conv.dispose();
  });
});
