// What every layer shares (ts/layers/layer.ts): the Tensor-level evaluate/backprop and their checks, a layer's
// ownership by one network, shape-agnostic layers rebuilding for each new input shape, dispose. Written for the
// Stryker survivors in layer.ts (2026-12-01), each applied by hand and seen failing.
import { describe, expect, it } from 'vitest';
import { DenseLayer, DisposedError, FlattenLayer, Identity, SequentialNet, ShapeError, Tensor } from 'wasmnet';

const seq = (n: number, shape: number[]) => new Tensor(Float32Array.from({ length: n }, (_, i) => i + 1), shape);

describe('a layer on its own: evaluate and backprop', () => {
  it('evaluate refuses what is not a Tensor, naming the kind', () => {
    const dense = new DenseLayer(2, 1);
    expect(() => dense.evaluate([1, 2] as never)).toThrow(new ShapeError('Dense.evaluate: a must be a Tensor, got [1, 2]'));
    dense.dispose();
  });

  it('evaluate refuses samples of another shape, with the shape expected (no network: no word of one)', () => {
    const dense = new DenseLayer(3, 2);
    expect(() => dense.evaluate(Tensor.zeros([2, 4]))).toThrow(new ShapeError('Dense.evaluate: a must have shape [n, 3], got [2, 4]'));
    expect(() => dense.evaluate(Tensor.zeros([2, 3, 1]))).toThrow(new ShapeError('Dense.evaluate: a must have shape [n, 3], got [2, 3, 1]'));
    dense.dispose();
  });

  it('backprop before any evaluate is refused', () => {
    const dense = new DenseLayer(2, 1);
    expect(() => dense.backprop(Tensor.zeros([1, 1]))).toThrow(new ShapeError('Dense.backprop needs a preceding evaluate()'));
    dense.dispose();
  });

  it('backprop after a forward pass that did not record is refused', () => {
    // a network's evaluate runs its layers without recording (inference)
    const net = new SequentialNet([2], { seed: 1 });
    const layer = net.addDense(1);
    net.evaluate(Tensor.zeros([1, 2]));
    expect(() => layer.backprop(Tensor.zeros([1, 1]))).toThrow(new ShapeError('Dense.backprop needs a preceding evaluate()'));
    net.dispose();
  });

  it('backprop refuses a delta of another shape than the last output, naming both', () => {
    const dense = new DenseLayer(2, 3);
    dense.evaluate(Tensor.zeros([4, 2]));
    expect(() => dense.backprop(Tensor.zeros([4, 2]))).toThrow(new ShapeError("Dense.backprop: delta must have shape [4, 3] (the last output's), got [4, 2]"));
    expect(() => dense.backprop(Tensor.zeros([12]))).toThrow(/got \[12\]$/);
    expect(() => dense.backprop(null as never)).toThrow(new ShapeError("Dense.backprop: delta must have shape [4, 3] (the last output's), got undefined"));
    dense.dispose();
  });

  it('evaluate and backprop of an empty batch give empty tensors of the right shapes', () => {
    const dense = new DenseLayer(2, 3, { afun: new Identity() });
    const z = dense.evaluate(Tensor.zeros([0, 2]));
    expect(z.shape).toEqual([0, 3]);
    expect(dense.backprop(Tensor.zeros([0, 3])).shape).toEqual([0, 2]);
    dense.dispose();
  });

  it('evaluate returns exactly n samples even when an earlier batch was larger (the buffers are reused)', () => {
    const flat = new FlattenLayer();
    flat.evaluate(seq(24, [4, 2, 3]));
    const out = flat.evaluate(seq(6, [1, 2, 3]));
    expect(out.shape).toEqual([1, 6]);
    expect(Array.from(out.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const back = flat.backprop(seq(6, [1, 6]));
    expect(back.shape).toEqual([1, 2, 3]);
    expect(Array.from(back.data)).toEqual([1, 2, 3, 4, 5, 6]);
    flat.dispose();
  });

  it('evaluate and backprop return copies: a later pass leaves the tensors they returned as they were', () => {
    const dense = new DenseLayer(2, 2, { afun: new Identity() });
    dense.w = [1, 2, 3, 4];
    const out = dense.evaluate(seq(2, [1, 2]));
    const back = dense.backprop(seq(2, [1, 2]));
    dense.evaluate(new Tensor([-1, -2], [1, 2]));
    dense.backprop(new Tensor([-1, -2], [1, 2]));
    expect(Array.from(out.data)).toEqual([7, 10]);
    expect(Array.from(back.data)).toEqual([5, 11]);
    dense.dispose();
  });
});

describe('shape-agnostic layers (flatten, pooling) on their own rebuild for each input shape', () => {
  it('flatten takes [2, 3, 4] samples, then [5, 2]', () => {
    const flat = new FlattenLayer();
    expect(flat.evaluate(seq(48, [2, 2, 3, 4])).shape).toEqual([2, 24]);
    expect(flat.inputShape).toEqual([2, 3, 4]);
    const out = flat.evaluate(seq(30, [3, 5, 2]));
    expect(out.shape).toEqual([3, 10]);
    expect(flat.inputShape).toEqual([5, 2]);
    expect(flat.outputShape).toEqual([10]);
    expect(flat.backprop(seq(30, [3, 10])).shape).toEqual([3, 5, 2]);
    flat.dispose();
  });

  it('but not in a network: the network built its buffers for one shape', () => {
    const net = new SequentialNet([2, 3], { seed: 1 });
    const flat = net.addFlatten();
    expect(() => flat.evaluate(seq(10, [1, 5, 2]))).toThrow(
      new ShapeError('Flatten.evaluate: a must have shape [n, 2, 3] (the layer belongs to a network built for those samples), got [1, 5, 2]'),
    );
    expect(flat.evaluate(seq(12, [2, 2, 3])).shape).toEqual([2, 6]);
    net.dispose();
  });
});

describe('a layer belongs to one network', () => {
  it('inNetwork is false on its own, true once added; a second attach is refused', () => {
    const flat = new FlattenLayer();
    expect(flat.inNetwork).toBe(false);
    const net = new SequentialNet([2, 2]);
    net.add(flat);
    expect(flat.inNetwork).toBe(true);
    expect(() => flat.attach([2, 2])).toThrow(new ShapeError('this Flatten layer already belongs to a network; create a new layer instead'));
    net.dispose();
  });

  it('attach returns the output shape and fixes the input shape', () => {
    const flat = new FlattenLayer();
    expect(flat.attach([3, 4])).toEqual([12]);
    expect(flat.inputShape).toEqual([3, 4]);
    flat.dispose();
  });
});

describe('dispose', () => {
  it('isDisposed follows dispose, which is safe to call twice', () => {
    const dense = new DenseLayer(2, 2);
    expect(dense.isDisposed).toBe(false);
    dense.dispose();
    expect(dense.isDisposed).toBe(true);
    expect(() => dense.dispose()).not.toThrow();
    expect(() => dense.backprop(Tensor.zeros([1, 2]))).toThrow(new DisposedError('this Dense layer was disposed'));
  });
});
