/** Options given as one number for both axes or as `[vertical, horizontal]` (pooling areas and strides, convolution strides). */
import { ValueError, show } from '../core/errors.js';

/** `value` as `[a, b]` of positive integers: a number means both; `undefined` gives `fallback`. */
export function positivePair(name: string, value: unknown, fallback: readonly [number, number]): [number, number] {
  if (value === undefined) return [fallback[0], fallback[1]];
  const pair = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ValueError(`${name} must be a positive integer or [${name.endsWith('stride') ? 'sh, sw' : 'a, b'}] of positive integers, got ${show(value)}`);
  }
  return [pair[0], pair[1]];
}
