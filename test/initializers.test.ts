// RandnAverage (ts/initializers.ts): Glorot normal, drawn from the generator given or its own seeded one.
import { describe, expect, it } from 'vitest';
import { RandnAverage, Rng, ValueError } from 'wasmnet';

const normals = (rng: Rng, n: number, std: number) => Array.from({ length: n }, () => Math.fround(rng.normal() * std));

describe('RandnAverage', () => {
  it('wfun: inputSize·outputSize normals times √(2/(fan_in + fan_out)), from the generator given', () => {
    const w = new RandnAverage({ seed: 1 }).wfun(3, 5, new Rng(8));
    expect(w).toBeInstanceOf(Float32Array);
    expect(Array.from(w)).toEqual(normals(new Rng(8), 15, Math.sqrt(2 / 8)));
  });

  it('ffun: m·c·fh·fw normals times √(2/(c·fh·fw + m·fh·fw))', () => {
    const f = new RandnAverage({ seed: 1 }).ffun(2, 3, 2, 5, new Rng(4));
    expect(Array.from(f)).toEqual(normals(new Rng(4), 60, Math.sqrt(2 / (3 * 10 + 2 * 10))));
  });

  it('without a generator, its own, seeded by the seed option and continuing between calls', () => {
    const init = new RandnAverage({ seed: 77 });
    const rng = new Rng(77);
    expect(Array.from(init.wfun(2, 2))).toEqual(normals(rng, 4, Math.sqrt(2 / 4)));
    expect(Array.from(init.ffun(1, 1, 1, 3))).toEqual(normals(rng, 3, Math.sqrt(2 / 6)));
  });

  it('without a seed, a different stream each time (from the clock and Math.random)', () => {
    const a = Array.from(new RandnAverage().wfun(4, 4));
    const b = Array.from(new RandnAverage({}).wfun(4, 4));
    expect(a).not.toEqual(b);
    expect(a.every(Number.isFinite)).toBe(true);
  });

  it('takes seeds 0 and 2³² − 1; refuses others, unknown options and options that are not an object', () => {
    expect(Array.from(new RandnAverage({ seed: 0 }).wfun(1, 1))).toEqual(normals(new Rng(0), 1, 1));
    expect(Array.from(new RandnAverage({ seed: 2 ** 32 - 1 }).wfun(1, 1))).toEqual(normals(new Rng(2 ** 32 - 1), 1, 1));
    expect(() => new RandnAverage({ seed: 2 ** 32 })).toThrow(new ValueError('RandnAverage seed must be an integer in [0, 4294967295], got 4294967296'));
    expect(() => new RandnAverage({ seed: -1 })).toThrow(new ValueError('RandnAverage seed must be an integer in [0, 4294967295], got -1'));
    expect(() => new RandnAverage({ sead: 1 } as never)).toThrow(/^RandnAverage options: unknown option "sead", did you mean "seed"\? \(known: seed\)$/);
    expect(() => new RandnAverage(3 as never)).toThrow(/^RandnAverage options must be an options object, got 3$/);
  });
});
