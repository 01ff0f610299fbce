// The argument checks every public function uses, and how messages show values (ts/core/errors.ts).
import { describe, expect, it } from 'vitest';
import { Tensor } from 'wasmnet';
import { messageOf } from './helpers/util.js';
// The checks straight from the sources (the package does not export them), so the error classes come from there too.
import {
  DisposedError, InitError, OutOfMemoryError, ShapeError, ValueError, WasmnetError,
  checkFiniteValues, checkInt, checkPositive, checkRange, checkShape, knownOptions, optionsObject, show,
} from '../ts/core/errors.js';

/** `messageOf` with the sources' ValueError as the default class (this file calls ts/ directly, not the package). */
const message = (run: () => unknown, cls: typeof WasmnetError = ValueError): string => messageOf(run, cls);

describe('error classes', () => {
  it('are WasmnetErrors named after their class', () => {
    for (const cls of [ShapeError, ValueError, DisposedError, OutOfMemoryError, InitError]) {
      const e = new cls('m');
      expect(e).toBeInstanceOf(WasmnetError);
      expect(e).toBeInstanceOf(Error);
      expect(e.name).toBe(cls.name);
      expect(e.message).toBe('m');
    }
    expect(new WasmnetError('x').name).toBe('WasmnetError');
  });
});

describe('show', () => {
  it('strings quoted, arrays bracketed (nested too), numbers and null as written', () => {
    expect(show('a"b')).toBe('"a\\"b"');
    expect(show([1, 'x', [2, null]])).toBe('[1, "x", [2, null]]');
    expect(show([])).toBe('[]');
    expect(show(NaN)).toBe('NaN');
    expect(show(-0.5)).toBe('-0.5');
    expect(show(null)).toBe('null');
    expect(show(undefined)).toBe('undefined');
    expect(show(true)).toBe('true');
    expect(show(10n)).toBe('10');
  });

  it('typed arrays by class and length, objects by class name ("Object", "object" without a prototype)', () => {
    expect(show(new Float32Array(3))).toBe('Float32Array(3)');
    expect(show(new Uint8Array(0))).toBe('Uint8Array(0)');
    expect(show({ a: 1 })).toBe('Object');
    expect(show(new Map())).toBe('Map');
    expect(show(Object.create(null))).toBe('object');
    expect(show(new Tensor([1], [1]))).toBe('Tensor');
  });

  it('drops the underscore a bundler puts before a self-referring class name, and only there', () => {
    const bundled = { _Tensor: class {} }._Tensor;
    expect(show(new bundled())).toBe('Tensor');
    const lower = { _tensor: class {} }._tensor;
    expect(show(new lower())).toBe('_tensor');
    const inner = { A_B: class {} }.A_B;
    expect(show(new inner())).toBe('A_B');
    const anonymous = new (class {})();
    expect(show(anonymous)).toBe('object');
  });

  it('an object whose "constructor" is data (as JSON can give it) is "object", not a TypeError', () => {
    expect(show({ constructor: 'x' })).toBe('object');
    expect(show(JSON.parse('{"constructor": {"name": 1}}'))).toBe('object');
  });
});

describe('checkInt', () => {
  it('returns an integer in range, bounds included', () => {
    expect(checkInt('n', 1)).toBe(1);
    expect(checkInt('n', Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(checkInt('n', 0, 0, 3)).toBe(0);
    expect(checkInt('n', 3, 0, 3)).toBe(3);
  });

  it('names the range: "≥ min" without a maximum, "[min, max]" with one', () => {
    expect(message(() => checkInt('batchSize', 0))).toBe('batchSize must be an integer ≥ 1, got 0');
    expect(message(() => checkInt('seed', -1, 0, 7))).toBe('seed must be an integer in [0, 7], got -1');
    expect(message(() => checkInt('seed', 8, 0, 7))).toBe('seed must be an integer in [0, 7], got 8');
    expect(message(() => checkInt('n', 2.5))).toBe('n must be an integer ≥ 1, got 2.5');
    expect(message(() => checkInt('n', '3'))).toBe('n must be an integer ≥ 1, got "3"');
    expect(message(() => checkInt('n', Infinity))).toBe('n must be an integer ≥ 1, got Infinity');
    expect(message(() => checkInt('n', Number.MAX_SAFE_INTEGER + 1))).toBe('n must be an integer ≥ 1, got 9007199254740992');
  });
});

describe('checkPositive', () => {
  it('> 0, or ≥ 0 with allowZero', () => {
    expect(checkPositive('lr', 0.5)).toBe(0.5);
    expect(checkPositive('decay', 0, true)).toBe(0);
    expect(message(() => checkPositive('lr', 0))).toBe('lr must be a finite number > 0, got 0');
    expect(message(() => checkPositive('decay', -1, true))).toBe('decay must be a finite number ≥ 0, got -1');
    expect(message(() => checkPositive('lr', -1e-9))).toBe('lr must be a finite number > 0, got -1e-9');
    expect(message(() => checkPositive('lr', Infinity))).toBe('lr must be a finite number > 0, got Infinity');
    expect(message(() => checkPositive('lr', '1'))).toBe('lr must be a finite number > 0, got "1"');
  });
});

describe('checkRange', () => {
  it('[min, max): the minimum in, the maximum out', () => {
    expect(checkRange('rate', 0, 0, 1)).toBe(0);
    expect(checkRange('rate', 0.999, 0, 1)).toBe(0.999);
    expect(message(() => checkRange('rate', 1, 0, 1))).toBe('rate must be a number in [0, 1), got 1');
    expect(message(() => checkRange('rate', -0.1, 0, 1))).toBe('rate must be a number in [0, 1), got -0.1');
    expect(message(() => checkRange('rate', NaN, 0, 1))).toBe('rate must be a number in [0, 1), got NaN');
    expect(message(() => checkRange('rate', '0.5', 0, 1))).toBe('rate must be a number in [0, 1), got "0.5"');
  });
});

describe('checkShape', () => {
  it('exactly `length` positive integers', () => {
    expect(checkShape('area', [2, 3], 2, 'the pooling area')).toEqual([2, 3]);
    for (const [shape, shown] of [[[2], '[2]'], [[2, 3, 4], '[2, 3, 4]'], [[2, 0], '[2, 0]'], [[2, 1.5], '[2, 1.5]'], ['2x3', '"2x3"']] as const) {
      expect(message(() => checkShape('area', shape, 2, 'the pooling area'), ShapeError)).toBe(`area must be the pooling area (2 positive integers), got ${shown}`);
    }
  });
});

describe('optionsObject and knownOptions', () => {
  it('undefined and null are all defaults; an object is itself', () => {
    expect(optionsObject('o', undefined)).toEqual({});
    expect(optionsObject('o', null)).toEqual({});
    const o = { a: 1 };
    expect(optionsObject('o', o, ['a'])).toBe(o);
  });

  it('refuses an array, a number, a string or a function', () => {
    expect(message(() => optionsObject('SGD options', [1] as never))).toBe('SGD options must be an options object, got [1]');
    expect(message(() => optionsObject('SGD options', 3 as never))).toBe('SGD options must be an options object, got 3');
    expect(message(() => optionsObject('SGD options', 'fast' as never))).toBe('SGD options must be an options object, got "fast"');
    expect(() => optionsObject('SGD options', (() => 1) as never)).toThrow(/^SGD options must be an options object, got /);
  });

  it('an unknown key is named with a suggestion and the known ones; without `known`, any key goes', () => {
    expect(message(() => optionsObject('SGD options', { momentun: 1 }, ['momentum', 'nesterov']))).toBe(
      'SGD options: unknown option "momentun", did you mean "momentum"? (known: momentum, nesterov)',
    );
    expect(message(() => knownOptions('Flatten options', { x: 1 }, []))).toBe('Flatten options: unknown option "x" (known: none)');
    expect(optionsObject('o', { anything: 1 })).toEqual({ anything: 1 });
    expect(() => knownOptions('o', { a: 1, b: 2 }, ['a', 'b'])).not.toThrow();
  });
});

describe('checkFiniteValues', () => {
  it('names the first bad index, with its sample and offset when given the sample size', () => {
    expect(() => checkFiniteValues('x', [1, 2, 3])).not.toThrow();
    expect(() => checkFiniteValues('x', [])).not.toThrow();
    expect(message(() => checkFiniteValues('x', [1, NaN, Infinity]))).toBe('x must hold finite numbers, but index 1 is NaN');
    expect(message(() => checkFiniteValues('x', [0, 1, 2, 3, 4, -Infinity], 4))).toBe('x must hold finite numbers, but index 5 (sample 1, offset 1) is -Infinity');
    expect(message(() => checkFiniteValues('x', [0, 0, 0, NaN], 4))).toBe('x must hold finite numbers, but index 3 (sample 0, offset 3) is NaN');
    expect(message(() => checkFiniteValues('w', [1, '2'] as never))).toBe('w must hold finite numbers, but index 1 is "2"');
  });
});
