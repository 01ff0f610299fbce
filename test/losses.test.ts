// Losses (crate/src/loss.rs, ts/losses.ts) against test/reference/losses.ts.
import { describe, expect, it } from 'vitest';
import { CrossEntropy, MeanSquaredError, Rng, ShapeError, SoftMax, Tensor, gradientCheck, lossByName, wasmBytesInUse } from 'wasmnet';
import { kernels, rowsAreDistributions } from 'wasmnet/internal';
import { crossEntropy, meanSquaredError } from './reference/losses.js';
import { expectClose, uniform } from './helpers/util.js';

function probabilities(n: number, k: number, rng: Rng): Tensor {
  const s = new SoftMax();
  const p = s.evaluate(uniform([n, k], rng, -3, 3));
  s.dispose();
  return p;
}

describe('losses against the reference (mean over the batch)', () => {
  for (const [n, k] of [[1, 2], [7, 10], [33, 5]]) {
    it(`cross-entropy, ${n} × ${k}`, () => {
      const rng = new Rng(n + k);
      const yhat = probabilities(n, k, rng);
      const y = Tensor.oneHot(Array.from({ length: n }, () => rng.int(k)), k);
      const loss = new CrossEntropy();
      const ref = crossEntropy(yhat.data, y.data, n);
      expect(loss.evaluate(yhat, y)).toBeCloseTo(ref.loss, 5);
      expectClose(loss.gradient(yhat, y).data, ref.grad, 1e-6);
      loss.dispose();
    });
    it(`mean squared error, ${n} × ${k}`, () => {
      const rng = new Rng(n * k);
      const yhat = uniform([n, k], rng);
      const y = uniform([n, k], rng);
      const loss = new MeanSquaredError();
      const ref = meanSquaredError(yhat.data, y.data, n);
      expect(loss.evaluate(yhat, y)).toBeCloseTo(ref.loss, 5);
      expectClose(loss.gradient(yhat, y).data, ref.grad, 1e-6);
      loss.dispose();
    });
  }

  it('cross-entropy of a perfect prediction is 0 and of a uniform one is ln k', () => {
    const loss = new CrossEntropy();
    const y = Tensor.oneHot([2, 0], 4);
    expect(loss.evaluate(y, y)).toBe(0);
    expect(loss.evaluate(new Tensor(new Float32Array(8).fill(0.25), [2, 4]), y)).toBeCloseTo(Math.log(4), 6);
    loss.dispose();
  });

  it('rejects mismatched shapes', () => {
    const loss = new MeanSquaredError();
    expect(() => loss.evaluate(Tensor.zeros([2, 3]), Tensor.zeros([2, 4]))).toThrow(ShapeError);
    loss.dispose();
  });
});

describe('a standalone loss: its checks, its buffers', () => {
  const t = Tensor.zeros([2, 3]);
  it('refuses anything but two Tensors, naming both', () => {
    const loss = new MeanSquaredError();
    const plain = { shape: [2, 3], data: new Float32Array(6), size: 6 }; // looks like a Tensor, is not one
    expect(() => loss.evaluate(plain as never, t)).toThrow(new ShapeError('MeanSquaredError: yhat and y must be Tensors, got Object and Tensor'));
    expect(() => loss.gradient(t, [0, 0, 0, 0, 0, 0] as never)).toThrow(new ShapeError('MeanSquaredError: yhat and y must be Tensors, got Tensor and [0, 0, 0, 0, 0, 0]'));
    loss.dispose();
  });
  it('refuses tensors that are not 2-D, even of one shape, and an empty batch', () => {
    const loss = new CrossEntropy();
    const cube = Tensor.zeros([2, 3, 1]);
    expect(() => loss.evaluate(cube, cube)).toThrow(
      new ShapeError('CrossEntropy: yhat and y must be 2-D tensors of one shape [n, outputs], got [2, 3, 1] and [2, 3, 1]'),
    );
    const empty = Tensor.zeros([0, 3]);
    expect(() => loss.evaluate(empty, empty)).toThrow(new ShapeError('CrossEntropy: the batch is empty'));
    expect(() => loss.gradient(empty, empty)).toThrow(new ShapeError('CrossEntropy: the batch is empty'));
    loss.dispose();
  });
  it('a gradient is the caller\'s copy, of its own batch size, after a larger batch sized the buffers', () => {
    const rng = new Rng(8);
    const loss = new MeanSquaredError();
    const [a, ya] = [uniform([5, 3], rng), uniform([5, 3], rng)];
    const [b, yb] = [uniform([2, 3], rng), uniform([2, 3], rng)];
    const ga = loss.gradient(a, ya);
    const before = ga.data.slice();
    const gb = loss.gradient(b, yb);
    expect(gb.shape).toEqual([2, 3]);
    expectClose(gb.data, meanSquaredError(b.data, yb.data, 2).grad, 1e-6);
    expect(ga.data).toEqual(before); // not overwritten by the second call: no view of wasm memory
    loss.dispose();
  });
  it('evaluate computes the loss only: the kernel gets no gradient pointer', () => {
    const k = kernels();
    const real = k.wn_cross_entropy;
    const grads: number[] = [];
    k.wn_cross_entropy = (yhat, y, rows, cols, grad, n) => {
      grads.push(grad);
      return real(yhat, y, rows, cols, grad, n);
    };
    const loss = new CrossEntropy();
    try {
      loss.evaluate(Tensor.oneHot([1, 0], 3), Tensor.oneHot([1, 2], 3));
      loss.gradient(Tensor.oneHot([1, 0], 3), Tensor.oneHot([1, 2], 3));
    } finally {
      k.wn_cross_entropy = real;
      loss.dispose();
    }
    expect(grads[0]).toBe(0);
    expect(grads[1]).not.toBe(0);
  });
  it('lossByName builds each loss from the name a model file stores', () => {
    for (const Kind of [CrossEntropy, MeanSquaredError]) {
      const loss = lossByName(new Kind().name);
      expect(loss).toBeInstanceOf(Kind);
      loss.dispose();
    }
  });

  it('dispose() frees its wasm buffers; twice is fine', () => {
    const level = wasmBytesInUse();
    const loss = new CrossEntropy();
    loss.gradient(Tensor.oneHot([0, 1, 2, 3], 4), Tensor.oneHot([0, 1, 2, 2], 4));
    expect(wasmBytesInUse()).toBe(level + 3 * 4 * 16); // ŷ, y and the gradient, 16 floats each
    loss.dispose();
    expect(wasmBytesInUse()).toBe(level);
    loss.dispose();
    expect(wasmBytesInUse()).toBe(level);
  });
});

describe('loss gradient checks (ε = 1e-3)', () => {
  it('cross-entropy within 1e-3', () => {
    const rng = new Rng(3);
    const result = gradientCheck(new CrossEntropy(), probabilities(4, 5, rng), Tensor.oneHot([0, 4, 2, 2], 5));
    expect(result.errors.input).toBeLessThan(1e-3);
  });
  it('mean squared error within 1e-3', () => {
    const rng = new Rng(4);
    const result = gradientCheck(new MeanSquaredError(), uniform([4, 5], rng), uniform([4, 5], rng));
    expect(result.errors.input).toBeLessThan(1e-3);
  });
});

describe('accuracy counting (wn_count_correct)', () => {
  it('a row counts as right when the first of its tied maxima is the label, as argmax picks the first', async () => {
    const { kernels, allocF32 } = await import('wasmnet/internal');
    const k = kernels();
    // rows: [tie 0/1, label 0] right; [tie 0/1, label 1] wrong; [max at 2, label 2] right; [tie 1/2 of three, label 1] right
    const yhat = allocF32(12);
    const y = allocF32(12);
    yhat.set([0.4, 0.4, 0.2, 0.4, 0.4, 0.2, 0.1, 0.2, 0.7, 0.2, 0.4, 0.4]);
    y.set([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0]);
    expect(k.wn_count_correct(yhat.ptr, y.ptr, 4, 3)).toBe(3);
    yhat.free();
    y.free();
  });
});

describe('rowsAreDistributions: which labels take the softmax + cross-entropy shortcut', () => {
  const t = (rows: number[][]) => new Tensor(Float32Array.from(rows.flat()), [rows.length, rows[0].length]);
  it('accepts one-hot rows and probabilities that sum to 1 within float rounding', () => {
    expect(rowsAreDistributions(t([[0, 1, 0], [1, 0, 0]]))).toBe(true);
    expect(rowsAreDistributions(t([[0.25, 0.75], [0.5, 0.5]]))).toBe(true);
    expect(rowsAreDistributions(t([[0.1, 0.2, 0.7]]))).toBe(true); // 0.1 + 0.2 + 0.7 in float32 is not exactly 1
    expect(rowsAreDistributions(new Tensor(Float32Array.from([0, 1, 1, 0, 0.5, 0.5]), [3, 1, 2]))).toBe(true); // rows along the last axis
  });
  it('refuses a row that does not sum to 1, or has a negative entry, wherever that row is', () => {
    expect(rowsAreDistributions(t([[0, 1], [0.5, 0.4]]))).toBe(false);
    expect(rowsAreDistributions(t([[0.6, 0.6], [0, 1]]))).toBe(false);
    expect(rowsAreDistributions(t([[1, 0], [1.5, -0.5]]))).toBe(false); // sums to 1, but not a distribution
    expect(rowsAreDistributions(t([[-0.5, 1.5], [0, 1]]))).toBe(false);
    expect(rowsAreDistributions(t([[0, 1], [0, 1 + 1e-5]]))).toBe(false);
    expect(rowsAreDistributions(t([[0, 1], [0, 0]]))).toBe(false);
    expect(rowsAreDistributions(t([[0, 1, 0], [0, 0, 0.5]]))).toBe(false); // the last column counts
  });
});
