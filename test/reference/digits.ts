/**
 * Reference of `prepareDigit` in float64, from its documented algorithm (MNIST's own preparation):
 * 1. ink in [0, 1] per pixel: luminance 0.299 R + 0.587 G + 0.114 B over 255, alpha over 255. A picture whose
 *    alpha sums to less than half its pixels is read by its alpha alone; otherwise ink is alpha × luminance, or
 *    alpha × (1 − luminance) when the alpha-weighted mean luminance is above 0.5 (dark strokes on light paper).
 * 2. the box of the pixels whose ink is above 0.1; none: a blank input.
 * 3. the box scaled so that its longer side is 20 (each side rounded, at least 1), each new cell the mean of the
 *    ink under its rectangle of the box (pixels weighted by their overlap with it).
 * 4. the scaled box placed on 28×28 so that its centre of mass falls at 14 (the offset rounded), values above 1
 *    cut to 1, what falls outside the field dropped.
 *
 * The area average is written as an integral over every pixel of the box (overlap × ink), not by the library's
 * loops over the covered rows and columns.
 */

export interface DigitReference {
  out: Float64Array;
  /** The pixels' ink, for checking that none lies near the 0.1 threshold (float32 there). */
  ink: Float64Array;
  /** 14 − centre of mass, x and y, for checking that neither lies near a rounding tie. */
  shift: [number, number];
  /** Alpha-weighted mean luminance, for checking that it is not near 0.5. */
  meanLum: number;
  /** How many cells of the scaled box with ink fell off the 28×28 field. */
  dropped: number;
}

const overlap = (a0: number, a1: number, b0: number, b1: number): number => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));

export function prepareDigitReference(rgba: ArrayLike<number>, width: number, height: number): DigitReference {
  const n = width * height;
  const lum = new Float64Array(n);
  const alpha = new Float64Array(n);
  let opaque = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    lum[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
    alpha[i] = rgba[4 * i + 3] / 255;
    opaque += alpha[i];
    weighted += alpha[i] * lum[i];
  }
  const meanLum = opaque > 0 ? weighted / opaque : NaN;
  const byAlpha = opaque < n / 2;
  const ink = new Float64Array(n);
  for (let i = 0; i < n; i++) ink[i] = byAlpha ? alpha[i] : alpha[i] * (meanLum > 0.5 ? 1 - lum[i] : lum[i]);

  const out = new Float64Array(28 * 28);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    if (ink[i] > 0.1) {
      xs.push(i % width);
      ys.push(Math.floor(i / width));
    }
  }
  if (xs.length === 0) return { out, ink, shift: [NaN, NaN], meanLum, dropped: 0 };
  const [left, right, top, bottom] = [Math.min(...xs), Math.max(...xs) + 1, Math.min(...ys), Math.max(...ys) + 1];
  const [bw, bh] = [right - left, bottom - top];
  const sw = Math.max(1, Math.round((bw * 20) / Math.max(bw, bh)));
  const sh = Math.max(1, Math.round((bh * 20) / Math.max(bw, bh)));

  const small = new Float64Array(sw * sh);
  for (let sy = 0; sy < sh; sy++) {
    for (let sx = 0; sx < sw; sx++) {
      const [rx0, rx1] = [left + (sx * bw) / sw, left + ((sx + 1) * bw) / sw];
      const [ry0, ry1] = [top + (sy * bh) / sh, top + ((sy + 1) * bh) / sh];
      let integral = 0;
      for (let y = top; y < bottom; y++) {
        for (let x = left; x < right; x++) integral += overlap(rx0, rx1, x, x + 1) * overlap(ry0, ry1, y, y + 1) * ink[y * width + x];
      }
      small[sy * sw + sx] = integral / ((rx1 - rx0) * (ry1 - ry0));
    }
  }

  let [mass, mx, my] = [0, 0, 0];
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      mass += small[y * sw + x];
      mx += x * small[y * sw + x];
      my += y * small[y * sw + x];
    }
  }
  const shift: [number, number] = [14 - mx / mass, 14 - my / mass];
  const [ox, oy] = shift.map(Math.round);
  let dropped = 0;
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const [tx, ty] = [x + ox, y + oy];
      if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) out[ty * 28 + tx] = Math.min(1, small[y * sw + x]);
      else if (small[y * sw + x] > 0) dropped++;
    }
  }
  return { out, ink, shift, meanLum, dropped };
}
