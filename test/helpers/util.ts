import { expect } from 'vitest';
import { Rng, Tensor, ValueError, type WasmnetError } from 'wasmnet';

/** A tensor of uniform values in [lo, hi). */
export function uniform(shape: number[], rng: Rng, lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform()), shape);
}

/** Random values, as a plain Float32Array. */
export function values(n: number, rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/**
 * Expects |actual − expected| ≤ tol · max(1, max|expected|) everywhere: float32
 * results against a float64 reference, with the error measured against the
 * data's own scale.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (!(worst <= tol * scale)) {
    expect.fail(`${what}: |error| ${worst} at index ${at} (got ${actual[at]}, expected ${expected[at]}) exceeds ${tol} × scale ${scale}`);
  }
}

/** The message of the error `run` throws, which must be a `cls` (default ValueError); fails if nothing is thrown. */
export function messageOf(run: () => unknown, cls: typeof WasmnetError = ValueError): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return (e as Error).message;
  }
  throw new Error('no error was thrown');
}
