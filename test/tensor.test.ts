// Tensor: construction and its checks, zeros, oneHot, reshape, slice, argmax (ts/core/tensor.ts).
import { describe, expect, it } from 'vitest';
import { ShapeError, Tensor, ValueError } from 'wasmnet';
import { MAX_TENSOR_SIZE, product } from '../ts/core/tensor.js';

/** The error `run` throws (or undefined). */
function thrown(run: () => unknown): Error | undefined {
  try {
    run();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

function expectError(run: () => unknown, cls: typeof ShapeError | typeof ValueError, message: string): void {
  const e = thrown(run);
  expect(e, 'no error was thrown').toBeInstanceOf(cls);
  expect(e!.message).toBe(message);
}

describe('new Tensor', () => {
  it('keeps a Float32Array as it is (no copy) and copies an array of numbers into one', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = new Tensor(data, [2, 3]);
    expect(t.data).toBe(data);
    const u = new Tensor([1.5, 2, 3], [3]);
    expect(u.data).toBeInstanceOf(Float32Array);
    expect(Array.from(u.data)).toEqual([1.5, 2, 3]);
    expect(u.size).toBe(3);
  });

  it('copies and freezes the shape', () => {
    const shape = [2, 3];
    const t = new Tensor(new Float32Array(6), shape);
    shape[0] = 5;
    expect(t.shape).toEqual([2, 3]);
    expect(Object.isFrozen(t.shape)).toBe(true);
  });

  it('takes dimensions of 0 (an empty tensor)', () => {
    const t = new Tensor([], [0, 3]);
    expect(t.shape).toEqual([0, 3]);
    expect(t.size).toBe(0);
  });

  it('refuses a shape that is not a non-empty array of non-negative integers', () => {
    for (const [shape, shown] of [[[], '[]'], ['6', '"6"'], [null, 'null'], [[2, 1.5], '[2, 1.5]'], [[-1], '[-1]'], [[2, NaN], '[2, NaN]']] as const) {
      expectError(() => new Tensor(new Float32Array(6), shape as never), ShapeError, `shape must be a non-empty array of non-negative integers, got ${shown}`);
    }
  });

  it('refuses data that is not array-like, naming what it got', () => {
    for (const [data, shown] of [[null, 'null'], [undefined, 'undefined'], [6, '6'], [{}, 'Object']] as const) {
      expectError(() => new Tensor(data as never, [1]), ValueError, `data must be a Float32Array (or an array of numbers), got ${shown}`);
    }
  });

  it('refuses data of another size, in words', () => {
    expectError(() => new Tensor([1], [2]), ShapeError, 'data has 1 value but shape [2] needs 2');
    expectError(() => new Tensor(new Float32Array(7), [2, 3]), ShapeError, 'data has 7 values but shape [2, 3] needs 6');
  });
});

describe('Tensor.zeros', () => {
  it('is zeros of the shape', () => {
    const t = Tensor.zeros([2, 2, 3]);
    expect(t.shape).toEqual([2, 2, 3]);
    expect(Array.from(t.data)).toEqual(new Array(12).fill(0));
  });

  it('takes dimensions of 0', () => {
    expect(Tensor.zeros([0, 3]).shape).toEqual([0, 3]);
    expect(Tensor.zeros([2, 0]).size).toBe(0);
  });

  it(`holds exactly ${MAX_TENSOR_SIZE} values (4 GiB of float32, never touched, so only reserved)`, () => {
    expect(Tensor.zeros([2 ** 30]).size).toBe(MAX_TENSOR_SIZE);
  });

  it('refuses a shape that is not an array of non-negative integers', () => {
    for (const [shape, shown] of [[3, '3'], [[3, -1], '[3, -1]'], [[0.5], '[0.5]']] as const) {
      expectError(() => Tensor.zeros(shape as never), ShapeError, `shape must be an array of non-negative integers, got ${shown}`);
    }
  });

  it(`refuses more than ${MAX_TENSOR_SIZE} values before allocating`, () => {
    expect(MAX_TENSOR_SIZE).toBe(2 ** 30);
    expectError(() => Tensor.zeros([2 ** 15, 2 ** 15 + 1]), ShapeError, 'shape [32768, 32769] has 1073774592 values, more than the 1073741824 a tensor may hold');
  });
});

describe('Tensor.oneHot', () => {
  it('sets one 1 per row, at the label', () => {
    const t = Tensor.oneHot([2, 0, 1, 2], 3);
    expect(t.shape).toEqual([4, 3]);
    expect(Array.from(t.data)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(Array.from(Tensor.oneHot(new Int32Array([1]), 2).data)).toEqual([0, 1]);
    expect(Tensor.oneHot([], 4).shape).toEqual([0, 4]);
  });

  it('refuses labels that are not an array, naming what it got', () => {
    for (const [labels, shown] of [[null, 'null'], ['012', '"012"'], [5, '5'], [{}, 'Object']] as const) {
      expectError(() => Tensor.oneHot(labels as never, 3), ValueError, `oneHot labels must be an array of integers, got ${shown}`);
    }
  });

  it('refuses a label that is not an integer in [0, classes − 1], naming its index', () => {
    expectError(() => Tensor.oneHot([0, -1], 3), ValueError, 'labels[1] must be an integer in [0, 2], got -1');
    expectError(() => Tensor.oneHot([3], 3), ValueError, 'labels[0] must be an integer in [0, 2], got 3');
    expectError(() => Tensor.oneHot([1, 0.5], 3), ValueError, 'labels[1] must be an integer in [0, 2], got 0.5');
  });

  it('refuses classes that are not a positive integer, and rows too large for a tensor', () => {
    expectError(() => Tensor.oneHot([0], 0), ValueError, 'oneHot classes must be an integer ≥ 1, got 0');
    expectError(() => Tensor.oneHot([0, 1], 2 ** 30), ShapeError, 'shape [2, 1073741824] has 2147483648 values, more than the 1073741824 a tensor may hold');
  });
});

describe('reshape and slice share the data', () => {
  it('reshape: the same values in another shape of the same size', () => {
    const t = new Tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = t.reshape([3, 2]);
    expect(r.shape).toEqual([3, 2]);
    expect(r.data).toBe(t.data);
    expectError(() => t.reshape(6 as never), ShapeError, 'reshape needs a shape array, got 6');
    expectError(() => t.reshape([4]), ShapeError, 'data has 6 values but shape [4] needs 4');
  });

  it('slice: samples start to end along the first axis, the end by default the last', () => {
    const t = new Tensor(Float32Array.from({ length: 24 }, (_, i) => i), [4, 2, 3]);
    const s = t.slice(1, 3);
    expect(s.shape).toEqual([2, 2, 3]);
    expect(Array.from(s.data)).toEqual(Array.from({ length: 12 }, (_, i) => 6 + i));
    s.data[0] = -1;
    expect(t.data[6]).toBe(-1);
    expect(Array.from(t.slice(3).data)).toEqual([18, 19, 20, 21, 22, 23]);
    expect(t.slice(3).shape).toEqual([1, 2, 3]);
  });

  it('slice clamps to the samples there are: a negative start, an end past the last, an end before the start', () => {
    const t = new Tensor([0, 1, 2, 3, 4], [5]);
    expect(Array.from(t.slice(-2, 2).data)).toEqual([0, 1]);
    expect(Array.from(t.slice(3, 9).data)).toEqual([3, 4]);
    expect(Array.from(t.slice(7, 9).data)).toEqual([]);
    expect(t.slice(7, 9).shape).toEqual([0]);
    expect(Array.from(t.slice(3, 1).data)).toEqual([]);
    expect(t.slice(3, 1).shape).toEqual([0]);
    expect(Array.from(t.slice(2, -1).data)).toEqual([]);
  });

  it('slice refuses a start or end that is not a number', () => {
    const t = new Tensor([0, 1], [2]);
    expectError(() => t.slice(NaN, 1), ValueError, 'slice needs numeric start and end, got NaN and 1');
    expectError(() => t.slice(0, NaN), ValueError, 'slice needs numeric start and end, got 0 and NaN');
    expectError(() => t.slice('0' as never, 1), ValueError, 'slice needs numeric start and end, got "0" and 1');
    expectError(() => t.slice(0, '1' as never), ValueError, 'slice needs numeric start and end, got 0 and "1"');
  });
});

describe('argmax', () => {
  it('the index of the largest value per row; the first of equal ones; negative rows; one column', () => {
    const t = new Tensor([1, 3, 3, 0, /**/ -5, -2, -7, -2, /**/ 0, 0, 0, 9, /**/ 4, 1, 4, 2], [4, 4]);
    expect(Array.from(t.argmax())).toEqual([1, 1, 3, 0]);
    // The next row's first value is larger: a row must end at its last column.
    expect(Array.from(new Tensor([1, 2, 9, 0], [2, 2]).argmax())).toEqual([1, 0]);
    expect(Array.from(new Tensor([5, 7, 6], [3, 1]).argmax())).toEqual([0, 0, 0]);
    // Rising rows: each later value compared with the row's best so far.
    expect(Array.from(new Tensor([0, 1, 2, /**/ 3, 4, 5], [2, 3]).argmax())).toEqual([2, 2]);
    expect(t.argmax()).toBeInstanceOf(Int32Array);
  });

  it('refuses a tensor that is not 2-D', () => {
    expectError(() => new Tensor([1, 2], [2]).argmax(), ShapeError, 'argmax needs a 2-D tensor, got shape [2]');
    expectError(() => new Tensor([1, 2], [1, 1, 2]).argmax(), ShapeError, 'argmax needs a 2-D tensor, got shape [1, 1, 2]');
  });
});

describe('product', () => {
  it('multiplies the dimensions; 1 for no dimensions', () => {
    expect(product([2, 3, 4])).toBe(24);
    expect(product([])).toBe(1);
    expect(product([5, 0])).toBe(0);
  });
});
