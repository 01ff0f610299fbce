import { ShapeError, ValueError, checkInt, show } from './errors.js';

/**
 * An n-dimensional array of float32 in ordinary JavaScript memory, row-major
 * (the last index moves fastest), as numpy stores it. Tensors are how data
 * enters and leaves wasmnet; the layers copy them into WebAssembly memory.
 */
export class Tensor {
  /** The values, row-major. */
  readonly data: Float32Array;
  /** The dimensions, e.g. `[n, c, h, w]` (NCHW) for images. */
  readonly shape: readonly number[];

  constructor(data: Float32Array | ArrayLike<number>, shape: readonly number[]) {
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ShapeError(`shape must be a non-empty array of non-negative integers, got ${show(shape)}`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (data === null || data === undefined || typeof (data as ArrayLike<number>).length !== 'number') {
      throw new ValueError(`data must be a Float32Array (or an array of numbers), got ${show(data)}`);
    }
    if (data.length !== size) {
      throw new ShapeError(`data has ${data.length} values but shape ${show(shape)} needs ${size}`);
    }
    this.data = data instanceof Float32Array ? data : Float32Array.from(data);
    this.shape = Object.freeze([...shape]);
  }

  /** A tensor of zeros. */
  static zeros(shape: readonly number[]): Tensor {
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ShapeError(`shape must be an array of non-negative integers, got ${show(shape)}`);
    }
    return new Tensor(new Float32Array(checkSize(shape.reduce((a, b) => a * b, 1), shape)), shape);
  }

  /** One-hot rows `[labels.length, classes]` from integer labels. */
  static oneHot(labels: ArrayLike<number>, classes: number): Tensor {
    checkInt('oneHot classes', classes);
    if (!labels || typeof labels !== 'object' || typeof labels.length !== 'number') {
      throw new ValueError(`oneHot labels must be an array of integers, got ${show(labels)}`);
    }
    const out = new Float32Array(checkSize(labels.length * classes, [labels.length, classes]));
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (!Number.isInteger(l) || l < 0 || l >= classes) {
        throw new ValueError(`labels[${i}] must be an integer in [0, ${classes - 1}], got ${show(l)}`);
      }
      out[i * classes + l] = 1;
    }
    return new Tensor(out, [labels.length, classes]);
  }

  /** Number of values: the product of `shape`. */
  get size(): number {
    return this.data.length;
  }

  /** Same data, another shape of the same size (no copy). */
  reshape(shape: readonly number[]): Tensor {
    if (!Array.isArray(shape)) throw new ShapeError(`reshape needs a shape array, got ${show(shape)}`);
    return new Tensor(this.data, shape);
  }

  /** Samples `start` to `end` (exclusive) along the first axis (no copy). */
  slice(start: number, end: number = this.shape[0]): Tensor {
    if (typeof start !== 'number' || typeof end !== 'number' || Number.isNaN(start) || Number.isNaN(end)) {
      throw new ValueError(`slice needs numeric start and end, got ${show(start)} and ${show(end)}`);
    }
    const per = this.shape.slice(1).reduce((a, b) => a * b, 1);
    const s = Math.max(0, Math.min(start, this.shape[0]));
    const e = Math.max(s, Math.min(end, this.shape[0]));
    return new Tensor(this.data.subarray(s * per, e * per), [e - s, ...this.shape.slice(1)]);
  }

  /** Index of the largest value in each row of a 2-D tensor (first wins ties). */
  argmax(): Int32Array {
    if (this.shape.length !== 2) throw new ShapeError(`argmax needs a 2-D tensor, got shape ${show(this.shape)}`);
    const [n, k] = this.shape;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (this.data[i * k + j] > this.data[i * k + best]) best = j;
      out[i] = best;
    }
    return out;
  }
}

/** Most values one tensor may hold (4 GiB of float32, WebAssembly's whole memory). */
export const MAX_TENSOR_SIZE = 2 ** 30;

function checkSize(size: number, shape: readonly number[]): number {
  if (size > MAX_TENSOR_SIZE) throw new ShapeError(`shape ${show(shape)} has ${size} values, more than the ${MAX_TENSOR_SIZE} a tensor may hold`);
  return size;
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
