/**
 * Reference average pooling in float64, by definition (PyTorch's AvgPool2d
 * without padding): the windows of max pooling (`poolWindows`); each output
 * is the mean of its window's ph·pw inputs; backprop spreads each window's
 * delta/(ph·pw) over its inputs, summed where windows overlap, 0 where none
 * reaches.
 */
import { type PoolDims, poolWindows } from './pool2d.js';

export function avgPoolForward(d: PoolDims, a: ArrayLike<number>): Float64Array {
  const { windows } = poolWindows(d);
  return Float64Array.from(windows, (cells) => cells.reduce((s, i) => s + a[i], 0) / cells.length);
}

export function avgPoolBackward(d: PoolDims, delta: ArrayLike<number>): Float64Array {
  const { windows } = poolWindows(d);
  const da = new Float64Array(d.n * d.c * d.h * d.w);
  windows.forEach((cells, o) => {
    for (const i of cells) da[i] += delta[o] / cells.length;
  });
  return da;
}
