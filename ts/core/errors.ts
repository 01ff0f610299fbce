import { suggestion } from './words.js';

/**
 * Errors wasmnet throws on purpose. Every message names the argument, what
 * was expected and what was given, so a user never has to read a stack trace.
 */
export class WasmnetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A shape, size or length that does not fit. */
export class ShapeError extends WasmnetError {}

/** A value outside its allowed range (a learning rate, a batch size, NaN in data, …). */
export class ValueError extends WasmnetError {}

/** A layer, network or buffer used after `dispose()`. */
export class DisposedError extends WasmnetError {}

/** A network, dataset or buffer that would not fit in WebAssembly's 4 GiB memory. */
export class OutOfMemoryError extends WasmnetError {}

/** `init()` has not finished, or the WebAssembly module could not be loaded. */
export class InitError extends WasmnetError {}

/** Formats a value for an error message: arrays as [a, b], strings quoted. */
export function show(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (value === null || value === undefined) return String(value);
  // The bundler names a class that refers to itself `_Tensor` (`var Tensor = class _Tensor`): messages say `Tensor`.
  // An own `constructor` key (JSON can hold one) may have a name that is no string: then it is just an object.
  if (typeof value === 'object') {
    const name: unknown = value.constructor?.name;
    return (typeof name === 'string' && name.replace(/^_(?=[A-Z])/, '')) || 'object';
  }
  return String(value);
}

/** Throws a ValueError unless `value` is an integer in [min, max]. */
export function checkInt(name: string, value: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`;
    throw new ValueError(`${name} must be ${range}, got ${show(value)}`);
  }
  return value;
}

/** Throws a ValueError unless `value` is a finite number > 0 (or ≥ 0 with `allowZero`). */
export function checkPositive(name: string, value: unknown, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ValueError(`${name} must be a finite number ${allowZero ? '≥ 0' : '> 0'}, got ${show(value)}`);
  }
  return value;
}

/** Throws a ValueError unless `value` is a finite number in [min, max). */
export function checkRange(name: string, value: unknown, min: number, maxExclusive: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value >= maxExclusive) {
    throw new ValueError(`${name} must be a number in [${min}, ${maxExclusive}), got ${show(value)}`);
  }
  return value;
}

/** Throws a ShapeError unless `shape` is an array of `length` positive integers. */
export function checkShape(name: string, shape: unknown, length: number, what: string): number[] {
  if (!Array.isArray(shape) || shape.length !== length || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ShapeError(`${name} must be ${what} (${length} positive integers), got ${show(shape)}`);
  }
  return shape as number[];
}

/**
 * An options argument: undefined or null mean "all defaults"; anything but a plain object is an error.
 * With `known`, a key not in it is an error too (a misspelt option would otherwise be ignored silently):
 * `optionsObject('SGD options', { momentun: 0.9 }, ['momentum'])` throws
 * `SGD options: unknown option "momentun" (known: momentum)`.
 */
export function optionsObject<T extends object>(name: string, value: T | null | undefined, known?: readonly string[]): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ValueError(`${name} must be an options object, got ${show(value)}`);
  }
  if (known) knownOptions(name, value, known);
  return value;
}

/** Throws a ValueError naming the first own key of `options` that is not in `known`. */
export function knownOptions(name: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const list = known.length > 0 ? known.join(', ') : 'none';
      throw new ValueError(`${name}: unknown option ${JSON.stringify(key)}${suggestion(key, known)} (known: ${list})`);
    }
  }
}

/** Throws a ValueError unless every value of `data` is a finite number; names the first bad index. */
export function checkFiniteValues(name: string, data: ArrayLike<number>, perSample = 0): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      const where = perSample > 0 ? ` (sample ${Math.floor(i / perSample)}, offset ${i % perSample})` : '';
      throw new ValueError(`${name} must hold finite numbers, but index ${i}${where} is ${show(v)}`);
    }
  }
}
