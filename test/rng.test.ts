// The seeded generator against a reference written from the algorithms' published definitions: splitmix32 seeding
// (as ts/core/rng.ts documents it), xoshiro128** (Blackman & Vigna), Box–Muller, Fisher–Yates. One seed must give the
// same weights and shuffles everywhere, and saved training states hold these words: every step is pinned.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Rng, ValueError } from 'wasmnet';
import { randomSeed } from '../ts/core/rng.js';

/** splitmix32: a Weyl sequence (step 0x9e3779b9) through MurmurHash3's 32-bit finalizer. */
function referenceSeedWords(seed: number): number[] {
  const x = new Uint32Array([seed]);
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    x[0] += 0x9e3779b9;
    const z = new Uint32Array([x[0]]);
    z[0] ^= z[0] >>> 16;
    z[0] = Math.imul(z[0], 0x85ebca6b);
    z[0] ^= z[0] >>> 13;
    z[0] = Math.imul(z[0], 0xc2b2ae35);
    z[0] ^= z[0] >>> 16;
    words.push(z[0]);
  }
  return words;
}

/** xoshiro128** over a Uint32Array state (so every operation wraps to 32 bits as in C). */
function referenceXoshiro(words: number[]): { next: () => number; s: Uint32Array } {
  const s = Uint32Array.from(words);
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const next = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  return { next, s };
}

describe('Rng against the reference', () => {
  it('seeds its four words with splitmix32, any 32-bit seed (0 included)', () => {
    for (const seed of [0, 1, 2, 42, 0x7fffffff, 0x80000000, 0xffffffff]) {
      expect(new Rng(seed).getState(), `seed ${seed}`).toEqual([...referenceSeedWords(seed), null]);
    }
  });

  it('nextUint32 is xoshiro128**, from a seed and from a state with high bits set', () => {
    for (const words of [referenceSeedWords(7), [0xffffffff, 0x80000001, 0xdeadbeef, 0x12345678]]) {
      const rng = new Rng(1);
      rng.setState([...words, null]);
      const ref = referenceXoshiro(words);
      const got = Array.from({ length: 200 }, () => rng.nextUint32());
      expect(got).toEqual(Array.from({ length: 200 }, ref.next));
      expect(rng.getState()).toEqual([...ref.s, null]);
    }
  });

  it('uniform is the word over 2³², int(n) its floor times n', () => {
    const a = new Rng(3);
    const b = new Rng(3);
    for (let i = 0; i < 100; i++) {
      const w = b.nextUint32();
      expect(a.uniform()).toBe(w / 4294967296);
    }
    for (const n of [1, 2, 10, 1000, 2 ** 31]) {
      const w = b.nextUint32();
      expect(a.int(n)).toBe(Math.floor((w / 4294967296) * n));
    }
  });

  it('normal is Box–Muller: the cosine first, then the sine as the spare, which getState reports', () => {
    const a = new Rng(11);
    const b = new Rng(11);
    for (let i = 0; i < 20; i++) {
      const u = b.uniform();
      const v = b.uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      expect(a.normal()).toBe(r * Math.cos(2 * Math.PI * v));
      expect(a.getState()).toEqual([...b.getState().slice(0, 4), r * Math.sin(2 * Math.PI * v)]);
      expect(a.normal()).toBe(r * Math.sin(2 * Math.PI * v));
      expect(a.getState()[4]).toBe(null);
    }
  });

  it('a spare restored by setState is the next normal, and moves nothing', () => {
    const a = new Rng(5);
    a.setState([1, 2, 3, 4, 0.25]);
    expect(a.normal()).toBe(0.25);
    expect(a.getState()).toEqual([1, 2, 3, 4, null]);
  });

  it('fork seeds a new generator from the next word', () => {
    const a = new Rng(9);
    const b = new Rng(9);
    const forked = a.fork();
    expect(forked.getState()).toEqual(new Rng(b.nextUint32()).getState());
    expect(a.getState()).toEqual(b.getState());
  });

  it('shuffle is Fisher–Yates from the last index down, j = int(i + 1)', () => {
    const a = new Rng(13);
    const b = new Rng(13);
    const got = a.shuffle(Array.from({ length: 50 }, (_, i) => i));
    const want = Array.from({ length: 50 }, (_, i) => i);
    for (let i = want.length - 1; i > 0; i--) {
      const j = b.int(i + 1);
      [want[i], want[j]] = [want[j], want[i]];
    }
    expect(got).toEqual(want);
    expect(a.getState()).toEqual(b.getState());
    expect(new Rng(1).shuffle([7])).toEqual([7]);
  });
});

describe('Rng.setState checks the state', () => {
  const message = /^an Rng state must be four 32-bit words \(not all 0\) and a spare number or null, got /;
  const bad: [string, unknown][] = [
    ['not an array', { 0: 1, 1: 2, 2: 3, 3: 4, 4: null, length: 5 }],
    ['four entries', [1, 2, 3, 4]],
    ['six entries', [1, 2, 3, 4, null, null]],
    ['a negative word', [1, -1, 3, 4, null]],
    ['a word of 2³²', [1, 2, 2 ** 32, 4, null]],
    ['a fractional word', [1, 2, 3, 4.5, null]],
    ['a word that is a string', ['1', 2, 3, 4, null]],
    ['all words 0', [0, 0, 0, 0, null]],
    ['a spare that is a string', [1, 2, 3, 4, '0.5']],
    ['a spare of NaN', [1, 2, 3, 4, NaN]],
    ['a spare of Infinity', [1, 2, 3, 4, Infinity]],
    ['a spare left out (undefined)', [1, 2, 3, 4, undefined]],
  ];
  for (const [what, state] of bad) {
    it(`refuses ${what}`, () => {
      const rng = new Rng(1);
      const before = rng.getState();
      expect(() => rng.setState(state as never)).toThrow(ValueError);
      expect(() => rng.setState(state as never)).toThrow(message);
      expect(rng.getState()).toEqual(before);
    });
  }

  it('takes the extremes: words 0 and 2³² − 1 (not all 0), a spare of 0 or a negative number', () => {
    const rng = new Rng(1);
    for (const state of [[0, 0, 0, 1, null], [0xffffffff, 0, 0, 0, 0], [1, 2, 3, 4, -2.5]]) {
      rng.setState(state);
      expect(rng.getState()).toEqual(state);
    }
  });
});

describe('skippingNormals and randomSeed', () => {
  afterEach(() => vi.restoreAllMocks());

  it('normal() returns 0 while skipping (the draws are not computed), and real normals after', () => {
    const a = new Rng(21) as Rng & { skippingNormals<T>(f: () => T): T };
    const b = new Rng(21);
    expect(a.skippingNormals(() => [a.normal(), a.normal(), a.normal()])).toEqual([0, 0, 0]);
    [b.normal(), b.normal(), b.normal()];
    expect(a.normal()).toBe(b.normal());
  });

  it('randomSeed mixes the clock with a random 32-bit word', () => {
    vi.spyOn(Date, 'now').mockReturnValue(0x12345678);
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    expect(randomSeed()).toBe((0x12345678 ^ 0x80000000) >>> 0);
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    expect(randomSeed()).toBe((0x12345678 ^ 0x40000000) >>> 0);
  });
});
