// Losses (crate/src/loss.rs, ts/losses.ts) against test/reference/losses.ts.
import { describe, expect, it } from 'vitest';
import { CrossEntropy, MeanSquaredError, Rng, ShapeError, SoftMax, Tensor, gradientCheck } from 'wasmnet';
import { rowsAreDistributions } from 'wasmnet/internal';
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
