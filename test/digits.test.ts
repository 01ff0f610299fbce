// prepareDigit (ts/data/digits.ts): pictures of digits to MNIST-like 28×28 inputs.
import { describe, expect, it } from 'vitest';
import { loadMnist, prepareDigit } from 'wasmnet';

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
});
