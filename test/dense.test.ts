// DenseLayer and the GEMM under it (crate/src/gemm.rs, crate/src/dense.rs, ts/layers/dense.ts)
// against test/reference/dense.ts.
import { describe, expect, it } from 'vitest';
import { Adam, DenseLayer, Identity, Rng, ShapeError, SoftMax, Tanh, Tensor, gradientCheck, ReLU, Sigmoid } from 'wasmnet';
import { denseBackward, denseForward } from './reference/dense.js';
import { expectClose, uniform, values } from './helpers/util.js';

// n × in → out; sizes around the 4×8 micro-tile and the 256/128/512 blocking, and the course's dense layers.
const shapes = [
  [1, 1, 1],
  [3, 5, 7],
  [4, 8, 8],
  [9, 13, 17],
  [33, 300, 10],
  [130, 257, 9],
  [5, 5408, 100],
  [64, 100, 10],
  [2, 3, 600],
];

describe('DenseLayer against the reference', () => {
  for (const [n, nin, nout] of shapes) {
    it(`z = a·w + b and its gradients for n=${n}, ${nin} → ${nout}`, () => {
      const rng = new Rng(n * 7 + nin);
      const dense = new DenseLayer(nin, nout, { afun: new Identity(), seed: 1 });
      dense.b = values(nout, rng);
      const a = uniform([n, nin], rng);
      const z = dense.evaluate(a);
      expect(z.shape).toEqual([n, nout]);
      expectClose(z.data, denseForward(a.data, dense.w, dense.b, n, nin, nout), 1e-5, 'z');
      const delta = uniform([n, nout], rng);
      const da = dense.backprop(delta);
      const ref = denseBackward(a.data, dense.w, delta.data, n, nin, nout);
      expectClose(dense.dw, ref.dw, 1e-5, 'dw');
      expectClose(dense.db, ref.db, 1e-5, 'db');
      expectClose(da.data, ref.da, 1e-5, 'da');
      dense.dispose();
    });
  }

  it('stores w as [inputSize, outputSize], row-major', () => {
    const dense = new DenseLayer(2, 3, { afun: new Identity() });
    dense.w = [1, 2, 3, 4, 5, 6];
    dense.b = [0.5, 0, -0.5];
    expect(Array.from(dense.evaluate(new Tensor([1, 10], [1, 2])).data)).toEqual([41.5, 52, 62.5]);
    dense.dispose();
  });

  it('overwrites dw and db on each backprop', () => {
    const rng = new Rng(2);
    const dense = new DenseLayer(6, 5, { afun: new Identity(), seed: 1 });
    dense.evaluate(uniform([4, 6], rng));
    const delta = uniform([4, 5], rng);
    dense.backprop(delta);
    const first = dense.dw.slice();
    dense.backprop(delta);
    expect(Array.from(dense.dw)).toEqual(Array.from(first));
    dense.dispose();
  });

  it('initializes w with variance factor² · 2/(in + out)', () => {
    const dense = new DenseLayer(400, 200, { afun: new ReLU(), seed: 4 });
    const w = dense.w;
    const variance = w.reduce((s, x) => s + x * x, 0) / w.length;
    expect(variance / (2 * (2 / 600))).toBeGreaterThan(0.95);
    expect(variance / (2 * (2 / 600))).toBeLessThan(1.05);
    dense.dispose();
  });
});

describe('DenseLayer gradient check (ε = 1e-3, error relative to the largest gradient)', () => {
  for (const afun of [new Identity(), new Tanh(), new Sigmoid(), new SoftMax()]) {
    it(`${afun.name}: w, b and input within 1e-3`, () => {
      const dense = new DenseLayer(7, 5, { afun, seed: 2 });
      const result = gradientCheck(dense, uniform([3, 7], new Rng(9)));
      for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-3);
      dense.dispose();
    });
  }
});

describe('DenseLayer arguments', () => {
  it('rejects non-integer or non-positive sizes', () => {
    expect(() => new DenseLayer(0, 3)).toThrow(/Dense inputSize must be an integer ≥ 1, got 0/);
    expect(() => new DenseLayer(3, 2.5)).toThrow(/Dense outputSize must be an integer ≥ 1, got 2.5/);
  });
  it('rejects input of the wrong width', () => {
    const dense = new DenseLayer(4, 2, { optim: new Adam() });
    expect(() => dense.evaluate(Tensor.zeros([3, 5]))).toThrow(ShapeError);
    dense.dispose();
  });
  it('rejects weights of the wrong length', () => {
    const dense = new DenseLayer(4, 2);
    expect(() => (dense.w = [1, 2, 3])).toThrow(/Dense.w must get 8 values, got 3/);
    dense.dispose();
  });
});
