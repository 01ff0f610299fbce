// prepareDigit (ts/data/digits.ts): pictures of digits to MNIST-like 28×28 inputs.
import { describe, expect, it } from 'vitest';
import { Rng, ValueError, loadMnist, prepareDigit } from 'wasmnet';
import { prepareDigitReference } from './reference/digits.js';

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let [ma, mb] = [0, 0];
  for (let i = 0; i < n; i++) [ma, mb] = [ma + a[i] / n, mb + b[i] / n];
  let [sab, saa, sbb] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** An MNIST digit drawn `scale`× larger at (ox, oy) on a w×h RGBA picture. */
function picture(img: Float32Array, w: number, h: number, scale: number, ox: number, oy: number, mode: 'paper' | 'dark' | 'clear') {
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const sx = Math.floor((x - ox) / scale);
      const sy = Math.floor((y - oy) / scale);
      const v = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? img[sy * 28 + sx] : 0;
      const o = 4 * (y * w + x);
      const g = mode === 'paper' ? 255 * (1 - v) : mode === 'dark' ? 255 * v : 0;
      rgba[o] = rgba[o + 1] = rgba[o + 2] = g;
      rgba[o + 3] = mode === 'clear' ? 255 * v : 255;
    }
  return rgba;
}

describe('prepareDigit', () => {
  it('recovers MNIST digits from larger, shifted pictures of any polarity', async () => {
    const { xTest } = await loadMnist({ train: false, testLimit: 10 });
    for (let k = 0; k < 10; k++) {
      const img = xTest.data.subarray(k * 784, (k + 1) * 784);
      for (const mode of ['paper', 'dark', 'clear'] as const) {
        const out = prepareDigit(picture(img, 150, 130, 3, 20 + 3 * k, 10, mode), 150, 130);
        expect(out.length).toBe(784);
        expect(correlation(out, img), `digit ${k}, ${mode}`).toBeGreaterThan(0.75);
      }
    }
  });

  it('gives a blank input for a blank picture', () => {
    const white = new Uint8ClampedArray(40 * 40 * 4).fill(255);
    expect(prepareDigit(white, 40, 40).every((v) => v === 0)).toBe(true);
  });

  it('gives a blank input for a faint picture: ink everywhere, none of it above 0.1', () => {
    for (const [w, h] of [[13, 7], [7, 13], [30, 30]]) {
      const faint = new Uint8ClampedArray(w * h * 4);
      for (let i = 0; i < w * h; i++) faint.set([20, 20, 20, 255], 4 * i); // ink 20/255 ≈ 0.078 on black
      expect(prepareDigit(faint, w, h).every((v) => v === 0), `${w}×${h}`).toBe(true);
    }
  });

  it('refuses sizes that are not integers ≥ 1 and pixel data that is not width·height·4 numbers, naming them', () => {
    const px = new Uint8ClampedArray(4 * 4 * 4);
    expect(() => prepareDigit(px, 0, 4)).toThrow(ValueError);
    expect(() => prepareDigit(px, 0, 4)).toThrow(/^prepareDigit width must be an integer ≥ 1, got 0$/);
    expect(() => prepareDigit(px, 4, 2.5)).toThrow(/^prepareDigit height must be an integer ≥ 1, got 2.5$/);
    const message = (got: string) => new RegExp(`^prepareDigit rgba must hold width·height·4 = 64 bytes \\(RGBA, as ImageData\\.data\\), got ${got}$`);
    expect(() => prepareDigit(px.subarray(1), 4, 4)).toThrow(message('Uint8ClampedArray\\(63\\)'));
    expect(() => prepareDigit(null as never, 4, 4)).toThrow(message('null'));
    expect(() => prepareDigit('x'.repeat(64) as never, 4, 4)).toThrow(ValueError);
    expect(() => prepareDigit({} as never, 4, 4)).toThrow(ValueError);
    expect(() => prepareDigit({ length: '64' } as never, 4, 4)).toThrow(ValueError);
    expect(prepareDigit(px, 4, 4)).toEqual(new Float32Array(784)); // exactly 64 values: enough
  });
});

/** A picture made pixel by pixel: `pixel(x, y)` gives [r, g, b, a] in 0–255. */
function paint(w: number, h: number, pixel: (x: number, y: number) => readonly number[]): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set(pixel(x, y), 4 * (y * w + x));
  return rgba;
}

/**
 * prepareDigit against its float64 reference (test/reference/digits.ts), value by value within 2e-6 (the library
 * keeps ink and the scaled box in float32). The cases are checked to stay clear of the algorithm's decisions,
 * where float32 and float64 could part: no pixel's ink within 1e-3 of the 0.1 threshold, no centre of mass within
 * 1e-3 of a rounding tie, no mean luminance within 1e-3 of 0.5 (unless `exactHalf`, where it is 0.5 in both).
 */
function expectReference(rgba: Uint8ClampedArray, w: number, h: number, what: string, exactHalf = false): { got: Float32Array; dropped: number } {
  const got = prepareDigit(rgba, w, h);
  const ref = prepareDigitReference(rgba, w, h);
  for (const v of ref.ink) expect(Math.abs(v - 0.1), `${what}: an ink of ${v} is too near the threshold`).toBeGreaterThan(1e-3);
  for (const s of ref.shift) expect(Math.abs(Math.abs(s - Math.floor(s)) - 0.5), `${what}: a centre of mass near a tie`).toBeGreaterThan(1e-3);
  if (exactHalf) expect(ref.meanLum, what).toBe(0.5);
  else if (!Number.isNaN(ref.meanLum)) expect(Math.abs(ref.meanLum - 0.5), `${what}: mean luminance near 0.5`).toBeGreaterThan(1e-3);
  expect(got.length).toBe(784);
  let worst = 0;
  for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(got[i] - ref.out[i]));
  expect(worst, `${what}: the largest difference from the float64 reference`).toBeLessThan(2e-6);
  return { got, dropped: ref.dropped };
}

/** A random blob of strokes: ink above 0.3 inside an ellipse-like region around (cx, cy), faint (< 0.05) or none elsewhere. */
function blob(rng: Rng, cx: number, cy: number, rx: number, ry: number): (x: number, y: number) => number {
  const strength = new Map<number, number>();
  return (x, y) => {
    const key = y * 10_000 + x;
    if (!strength.has(key)) {
      const d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      const inside = d < 1 && rng.uniform() < 0.8;
      strength.set(key, inside ? 0.3 + 0.7 * rng.uniform() : rng.uniform() < 0.3 ? 0.04 * rng.uniform() : 0);
    }
    return strength.get(key)!;
  };
}

describe('prepareDigit, value by value against a float64 reference', () => {
  it('coloured light strokes on an opaque dark background: ink is alpha × luminance (0.299 R + 0.587 G + 0.114 B)', () => {
    const rng = new Rng(11);
    for (const [w, h, cx, cy, rx, ry] of [[37, 29, 15, 13, 9, 11], [23, 41, 12, 20, 6, 17], [31, 31, 20, 10, 10, 8]]) {
      const ink = blob(rng, cx, cy, rx, ry);
      const rgba = paint(w, h, (x, y) => {
        const v = ink(x, y);
        // Colour channels apart, so that each weight of the luminance matters; the alpha of a few strokes partial.
        const [r, g] = [255 * v * (0.5 + 0.5 * rng.uniform()), 255 * v * (0.5 + 0.5 * rng.uniform())];
        const b = Math.min(255, Math.max(0, (255 * v - 0.299 * r - 0.587 * g) / 0.114));
        return [r, g, b, v > 0.5 && rng.uniform() < 0.3 ? 180 + 75 * rng.uniform() : 255];
      });
      expectReference(rgba, w, h, `dark ${w}×${h}`);
    }
  });

  it('dark coloured strokes on light paper: ink is alpha × (1 − luminance)', () => {
    const rng = new Rng(12);
    for (const [w, h, cx, cy, rx, ry] of [[37, 29, 15, 13, 9, 11], [40, 22, 22, 11, 16, 8]]) {
      const ink = blob(rng, cx, cy, rx, ry);
      const rgba = paint(w, h, (x, y) => {
        const v = ink(x, y);
        const l = 255 * (1 - v);
        return [l * (0.95 + 0.05 * rng.uniform()), l, l * (0.9 + 0.1 * rng.uniform()), 255];
      });
      expectReference(rgba, w, h, `paper ${w}×${h}`);
    }
  });

  it('strokes on a mostly transparent canvas: ink is the alpha alone, whatever the colour', () => {
    const rng = new Rng(13);
    const ink = blob(rng, 14, 16, 8, 12);
    const rgba = paint(33, 35, (x, y) => [255 * rng.uniform(), 255 * rng.uniform(), 255 * rng.uniform(), 255 * ink(x, y)]);
    expectReference(rgba, 33, 35, 'clear');
  });

  it('a picture opaque on exactly half its pixels is read by its colours, not its alpha', () => {
    // Left half opaque: a dark background with light strokes of varied luminance; right half transparent.
    const rng = new Rng(14);
    const ink = blob(rng, 5, 9, 4, 7);
    const rgba = paint(20, 20, (x, y) => (x < 10 ? [255 * ink(x, y), 255 * ink(x, y), 255 * ink(x, y), 255] : [200, 200, 200, 0]));
    const { got } = expectReference(rgba, 20, 20, 'half opaque');
    expect(got.some((v) => v > 0 && v < 0.9), 'ink of the strokes, not of the opaque alpha').toBe(true);
  });

  it('a mean luminance of exactly 0.5 is not light paper: the light pixels are the ink', () => {
    // 50 black and 50 white opaque pixels; the white ones form an L, which the black ones do not.
    const white = (x: number, y: number) => x < 3 || (y >= 8 && x >= 3) || (y === 7 && x >= 4);
    let count = 0;
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) count += white(x, y) ? 1 : 0;
    expect(count).toBe(50);
    const rgba = paint(10, 10, (x, y) => (white(x, y) ? [255, 255, 255, 255] : [0, 0, 0, 255]));
    expectReference(rgba, 10, 10, 'mean 0.5', true);
  });

  it('strokes that touch the picture\'s right and bottom edges, and its left and top ones', () => {
    const rng = new Rng(15);
    for (const [cx, cy] of [[24, 27], [1, 2]]) {
      const ink = blob(rng, cx, cy, 9, 12);
      expectReference(paint(27, 30, (x, y) => [255 * ink(x, y), 255 * ink(x, y), 255 * ink(x, y), 255]), 27, 30, `at ${cx}, ${cy}`);
    }
  });

  it('a stroke in the first column only, or the first row only, is a digit (its box ends at 0)', () => {
    const rng = new Rng(16);
    const level = Array.from({ length: 33 }, () => 0.3 + 0.7 * rng.uniform());
    const { got: column } = expectReference(paint(5, 33, (x, y) => (x === 0 ? [255 * level[y], 255 * level[y], 0, 255] : [0, 0, 0, 255])), 5, 33, 'column 0');
    const { got: row } = expectReference(paint(33, 5, (x, y) => (y === 0 ? [0, 255 * level[x], 255 * level[x], 255] : [0, 0, 0, 255])), 33, 5, 'row 0');
    expect(column.some((v) => v > 0) && row.some((v) => v > 0)).toBe(true);
  });

  it('a line 45 pixels long and 1 wide scales to 20 × 1 (at least one pixel across)', () => {
    const rng = new Rng(17);
    const level = Array.from({ length: 45 }, () => 0.3 + 0.7 * rng.uniform());
    const g = (y: number) => 255 * level[y - 2];
    const { got } = expectReference(paint(3, 50, (x, y) => (x === 1 && y >= 2 && y < 47 ? [g(y), g(y), g(y), 255] : [0, 0, 0, 255])), 3, 50, 'line');
    expect(got.filter((v) => v > 0).length).toBe(20);
  });

  it('a lopsided digit, heavy at one end, is centred by its mass and loses what falls off the 28×28 field', () => {
    for (const [side, dx, dy] of [['left', 1, 0], ['right', -1, 0], ['top', 0, 1], ['bottom', 0, -1]] as const) {
      // A solid 6×4 block at one end of a faint (0.12) bar 30 long: the centre of mass lies near the block.
      const heavy = (x: number, y: number) => {
        const [u, v] = dx !== 0 ? [dx > 0 ? x : 33 - x, y] : [dy > 0 ? y : 33 - y, x];
        if (u >= 2 && u < 8 && v >= 15 && v < 19) return 1;
        return u >= 2 && u < 32 && v >= 16 && v < 18 ? 0.12 : 0;
      };
      const rgba = paint(34, 34, (x, y) => [255 * heavy(x, y), 255 * heavy(x, y), 255 * heavy(x, y), 255]);
      const { got, dropped } = expectReference(rgba, 34, 34, side);
      expect(dropped, `${side}: part of the bar falls off the field`).toBeGreaterThan(0);
      expect(got.some((v) => v === 1), `${side}: the block is on the field`).toBe(true);
    }
  });
});

