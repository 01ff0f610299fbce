/**
 * A small seeded random number generator (xoshiro128**), so one seed gives
 * the same weights and the same shuffles in Node and in every browser.
 */
import { ValueError, show } from './errors.js';

/**
 * A seeded random number generator (xoshiro128**): the same seed gives the same numbers in
 * Node and in every browser. Networks use one per purpose (initial weights, shuffling).
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;
  /** With normals skipped: the uniform pair whose second normal is the spare, computed only if it is ever read. */
  private spareDraw: [number, number] | null = null;
  private skipNormals = false;

  constructor(seed: number) {
    // splitmix32 spreads any seed (even 0) over the four state words.
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** The generator's whole state, for saving: four words and the spare normal (or null). */
  getState(): [number, number, number, number, number | null] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.resolveSpare()];
  }

  /** Continues from a state `getState()` returned. */
  setState(state: readonly unknown[]): void {
    const ok =
      Array.isArray(state) &&
      state.length === 5 &&
      state.slice(0, 4).every((w) => Number.isInteger(w) && (w as number) >= 0 && (w as number) < 2 ** 32) &&
      (state[4] === null || (typeof state[4] === 'number' && Number.isFinite(state[4])));
    if (!ok || state.slice(0, 4).every((w) => w === 0)) throw new ValueError(`an Rng state must be four 32-bit words (not all 0) and a spare number or null, got ${show(state)}`);
    [this.s0, this.s1, this.s2, this.s3] = state.slice(0, 4) as number[];
    this.spare = state[4] as number | null;
    this.spareDraw = null;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null || this.spareDraw !== null) {
      const s = this.skipNormals ? 0 : this.resolveSpare()!;
      this.spare = null;
      this.spareDraw = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    if (this.skipNormals) {
      this.spareDraw = [u, v];
      return 0;
    }
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** The spare normal, computed from its draw if it was skipped (the same float `normal()` would have made). */
  private resolveSpare(): number | null {
    if (this.spareDraw !== null) {
      const [u, v] = this.spareDraw;
      this.spare = Math.sqrt(-2 * Math.log(u)) * Math.sin(2 * Math.PI * v);
      this.spareDraw = null;
    }
    return this.spare;
  }

  /**
   * @internal Runs `during` with `normal()` returning 0 but moving the generator exactly as it would: loading a
   * model file builds its layers (drawing their initial weights) and then replaces every weight, so only where the
   * generator ends up matters, and the logarithms and sines of half a million draws would be wasted.
   */
  skippingNormals<T>(during: () => T): T {
    this.skipNormals = true;
    try {
      return during();
    } finally {
      this.skipNormals = false;
    }
  }

  /** An independent generator derived from this one (for a separate stream, e.g. shuffling). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }

  /** Shuffles `a` in place (Fisher–Yates). */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A seed from the clock, for users who do not pass one. */
export function randomSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 4294967296)) >>> 0;
}
