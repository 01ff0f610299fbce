// Strict max pooling off the 2×2 tiling (crate/src/pool.rs: `backward_tiles` for other tilings, `backward_windows`
// for any stride): each window's delta is divided among its tied maxima, so the input gradient sums to the sum of
// the deltas exactly (each window hands out its delta once), and without `strict` to Σ delta · (number of maxima).
// A second check beside test/pool2d.test.ts's comparison with the reference: an invariant, and cases by hand.
import { describe, expect, it } from 'vitest';
import { Pool2DLayer, Rng, Tensor } from 'wasmnet';
import { poolWindows } from './reference/pool2d.js';

const geometries: { area: [number, number]; stride: [number, number]; input: [number, number, number, number]; what: string }[] = [
  { area: [3, 3], stride: [3, 3], input: [2, 2, 9, 10], what: '3×3 tiling (last column cropped)' },
  { area: [2, 3], stride: [2, 3], input: [1, 3, 7, 9], what: '2×3 tiling (last row cropped)' },
  { area: [3, 3], stride: [2, 2], input: [2, 2, 9, 11], what: '3×3 overlapping, stride 2' },
  { area: [3, 3], stride: [1, 2], input: [1, 2, 6, 9], what: '3×3, stride [1, 2]' },
  { area: [2, 3], stride: [3, 2], input: [2, 1, 8, 9], what: '2×3, stride [3, 2]' },
  { area: [2, 3], stride: [1, 1], input: [1, 2, 5, 7], what: '2×3, stride 1' },
];

describe('strict ties in non-2×2 pooling: each window hands out exactly its delta', () => {
  for (const g of geometries) {
    it(`${g.what}: Σ ∂C/∂a = Σ delta (strict) and Σ delta · maxima (not strict), with many ties`, () => {
      const len = g.input.reduce((a, b) => a * b, 1);
      const rng = new Rng(len);
      // values in {0, 1, 2}: most windows have several maxima
      const a = new Tensor(Float32Array.from({ length: len }, () => Math.floor(3 * rng.uniform())), g.input);
      const [n, c, h, w] = g.input;
      const { windows } = poolWindows({ n, c, h, w, ph: g.area[0], pw: g.area[1], sh: g.stride[0], sw: g.stride[1] });
      const maxima = windows.map((cells) => {
        const best = Math.max(...cells.map((i) => a.data[i]));
        return cells.filter((i) => a.data[i] === best).length;
      });
      expect(maxima.some((m) => m >= 3)).toBe(true);
      for (const strict of [true, false]) {
        const pool = new Pool2DLayer(g.area, { strict, stride: g.stride });
        const out = pool.evaluate(a);
        expect(out.size).toBe(windows.length);
        // deltas that are powers of two times small integers: every share and sum below is exact in float32
        const delta = new Tensor(Float32Array.from({ length: out.size }, (_, o) => 60 * (1 + (o % 3))), out.shape);
        const da = pool.backprop(delta).data;
        const total = da.reduce((s, x) => s + x, 0);
        const want = delta.data.reduce((s, d, o) => s + (strict ? d : d * maxima[o]), 0);
        expect(total).toBeCloseTo(want, 2);
        // and window by window where windows do not overlap: the window's gradient is its delta (strict)
        if (g.area[0] <= g.stride[0] && g.area[1] <= g.stride[1]) {
          windows.forEach((cells, o) => {
            const sum = cells.reduce((s, i) => s + da[i], 0);
            expect(sum).toBeCloseTo(strict ? delta.data[o] : delta.data[o] * maxima[o], 3);
          });
        }
        pool.dispose();
      }
    });
  }

  it('by hand: a 3×3 tiling with a three-way and a four-way tie', () => {
    // one 3×6 plane: the left window's maximum 9 three times, the right window's 5 four times
    // prettier-ignore
    const a = new Tensor([
      9, 1, 9, 5, 0, 5,
      0, 9, 2, 1, 5, 1,
      3, 0, 1, 5, 0, 4,
    ], [1, 1, 3, 6]);
    const delta = new Tensor([6, 4], [1, 1, 1, 2]);
    const pool = new Pool2DLayer([3, 3], { strict: true });
    expect(Array.from(pool.evaluate(a).data)).toEqual([9, 5]);
    // prettier-ignore
    expect(Array.from(pool.backprop(delta).data)).toEqual([
      2, 0, 2, 1, 0, 1,
      0, 2, 0, 0, 1, 0,
      0, 0, 0, 1, 0, 0,
    ]);
    pool.dispose();
  });

  it('by hand: 2×3 windows moved by [1, 2] share a three-way tie', () => {
    // one 3×5 plane; windows at (0,0), (0,2), (1,0), (1,2); the 7s tie
    // prettier-ignore
    const a = new Tensor([
      7, 0, 7, 1, 7,
      0, 7, 0, 0, 1,
      1, 0, 2, 3, 3,
    ], [1, 1, 3, 5]);
    const pool = new Pool2DLayer([2, 3], { strict: true, stride: [1, 2] });
    // window maxima: (0,0) 7 ×3, (0,2) 7 ×2, (1,0) 7 ×1, (1,2) 3 ×2
    expect(Array.from(pool.evaluate(a).data)).toEqual([7, 7, 7, 3]);
    const da = pool.backprop(new Tensor([12, 8, 5, 6], [1, 1, 2, 2])).data;
    // (0,0): 12/3 to each 7; (0,2): 8/2 to (0,2) and (0,4); (1,0): all 5 to (1,1); (1,2): 6/2 to (2,3) and (2,4)
    // prettier-ignore
    expect(Array.from(da)).toEqual([
      4, 0, 8, 0, 4,
      0, 9, 0, 0, 0,
      0, 0, 0, 3, 3,
    ]);
    pool.dispose();
  });
});
