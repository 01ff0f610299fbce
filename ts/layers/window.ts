/** What the pooling kinds share: windows of `area` moved by `stride` over `[c, h, w]` samples. */
import { ShapeError, ValueError, show } from '../core/errors.js';

/** The kernels take 32-bit sizes; a stride beyond any input is no use anyway. */
const MAX_STRIDE = 0x7fffffff;

/** A stride option as `[sh, sw]`: one positive integer for both, or a pair; `undefined` gives `fallback`. */
export function strideOption(name: string, value: unknown, fallback: readonly [number, number]): [number, number] {
  if (value === undefined) return [fallback[0], fallback[1]];
  const positive = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_STRIDE;
  if (positive(value)) return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every(positive)) return [value[0], value[1]];
  throw new ValueError(`${name} must be a positive integer or [sh, sw], got ${show(value)}`);
}

/** The output sample shape `[c, ⌊(h − ph)/sh⌋ + 1, ⌊(w − pw)/sw⌋ + 1]`, or a ShapeError naming `kind`. */
export function windowedShape(kind: string, inputShape: readonly number[], area: readonly [number, number], stride: readonly [number, number]): number[] {
  if (inputShape.length !== 3) throw new ShapeError(`${kind} expects input samples of shape [c, h, w], got ${show(inputShape)}`);
  const [c, h, w] = inputShape;
  const [ph, pw] = area;
  if (ph > h || pw > w) throw new ShapeError(`${kind} area ${show(area)} is larger than its ${h}×${w} input`);
  return [c, Math.floor((h - ph) / stride[0]) + 1, Math.floor((w - pw) / stride[1]) + 1];
}
