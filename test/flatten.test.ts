// FlattenLayer (ts/layers/flatten.ts): [n, c, h, w] → [n, c·h·w] without a copy, backprop reshapes back.
// Written for the Stryker survivors in flatten.ts (2026-12-01), each applied by hand and seen failing.
import { describe, expect, it } from 'vitest';
import { FlattenLayer, ShapeError, Tensor } from 'wasmnet';

const seq = (n: number, shape: number[]) => new Tensor(Float32Array.from({ length: n }, (_, i) => i + 1), shape);

describe('FlattenLayer', () => {
  it('keeps the values in order and hands the gradient back in the input shape', () => {
    const flat = new FlattenLayer();
    const out = flat.evaluate(seq(24, [2, 3, 2, 2]));
    expect(out.shape).toEqual([2, 12]);
    expect(Array.from(out.data)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const back = flat.backprop(seq(24, [2, 12]));
    expect(back.shape).toEqual([2, 3, 2, 2]);
    expect(Array.from(back.data)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    flat.dispose();
  });

  it('shape is null before the first evaluate, then [n, ...sample] of the last input', () => {
    const flat = new FlattenLayer();
    expect(flat.shape).toBeNull();
    flat.attach([3, 4]);
    expect(flat.shape).toBeNull();
    flat.evaluate(Tensor.zeros([5, 3, 4]));
    expect(flat.shape).toEqual([5, 3, 4]);
    flat.dispose();
  });

  it('a new input shape forgets the last input: shape is null again until the next pass', () => {
    const flat = new FlattenLayer();
    flat.evaluate(Tensor.zeros([5, 3, 4]));
    flat.build([2, 2]);
    expect(flat.shape).toBeNull();
    expect(() => flat.backprop(Tensor.zeros([5, 4]))).toThrow(new ShapeError('Flatten.backprop needs a preceding evaluate()'));
    flat.dispose();
  });

  it('refuses samples without dimensions or with a dimension that is 0 or not an integer, naming Flatten', () => {
    const flat = new FlattenLayer();
    expect(() => flat.evaluate(Tensor.zeros([3]))).toThrow(new ShapeError('Flatten expects input samples with positive dimensions, got []'));
    expect(() => flat.evaluate(Tensor.zeros([1, 0, 3]))).toThrow(new ShapeError('Flatten expects input samples with positive dimensions, got [0, 3]'));
    expect(() => flat.evaluate(Tensor.zeros([1, 3, 0]))).toThrow(new ShapeError('Flatten expects input samples with positive dimensions, got [3, 0]'));
    expect(() => flat.build([2, 1.5])).toThrow(new ShapeError('Flatten expects input samples with positive dimensions, got [2, 1.5]'));
    expect(flat.build([7])).toEqual([7]);
    flat.dispose();
  });

  it('passes the buffers through: no wasm memory of its own, no input gradient when none is wanted', () => {
    const flat = new FlattenLayer();
    flat.attach([2, 3]);
    expect(flat.batchBytes()).toBe(0);
    expect(flat.parameters()).toEqual([]);
    const delta = { ptr: 0 } as never;
    expect(flat.backwardBuffer(delta, false)).toBeNull();
    expect(flat.backwardBuffer(delta, true)).toBe(delta);
    expect(flat.toSpec()).toEqual({ kind: 'Flatten' });
    flat.dispose();
  });
});
