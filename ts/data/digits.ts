/**
 * Turning any picture of a digit into an MNIST-like 28×28 input, the way
 * MNIST itself was made: ink in [0, 1] (light strokes on dark, whatever the
 * picture's polarity), cropped to the strokes, scaled so the longer side is
 * 20 pixels, centred by its centre of mass. Works in browsers (canvas
 * ImageData) and in Node (decoded PNGs).
 */
import { ValueError, checkInt, show } from '../core/errors.js';
import { MNIST_PIXELS, MNIST_SIDE } from './mnist.js';

/**
 * `rgba`: width·height·4 bytes (ImageData or a decoded PNG). Returns 28·28
 * values in [0, 1], row-major.
 */
export function prepareDigit(rgba: ArrayLike<number>, width: number, height: number): Float32Array {
  checkInt('prepareDigit width', width);
  checkInt('prepareDigit height', height);
  if (!rgba || typeof rgba !== 'object' || typeof rgba.length !== 'number' || rgba.length < width * height * 4) {
    throw new ValueError(`prepareDigit rgba must hold width·height·4 = ${width * height * 4} bytes (RGBA, as ImageData.data), got ${show(rgba)}`);
  }
  const n = width * height;
  const lum = new Float32Array(n);
  let opaque = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    lum[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
    const a = rgba[4 * i + 3] / 255;
    opaque += a;
    sum += a * lum[i];
  }
  // Dark strokes on a light background (paper, most drawings) are inverted to MNIST's light-on-dark.
  const lightBackground = opaque > 0 && sum / opaque > 0.5;
  // A mostly transparent picture (strokes on a clear canvas) is read by its alpha alone;
  // otherwise transparent pixels are background and carry no ink.
  const strokesByAlpha = opaque < 0.5 * n;
  const ink = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = rgba[4 * i + 3] / 255;
    ink[i] = strokesByAlpha ? a : a * (lightBackground ? 1 - lum[i] : lum[i]);
  }
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (ink[y * width + x] > 0.1) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
  const out = new Float32Array(MNIST_PIXELS);
  if (x1 < 0) return out;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = 20 / Math.max(bw, bh);
  const sw = Math.max(1, Math.round(bw * scale));
  const sh = Math.max(1, Math.round(bh * scale));
  // Area-average the box into sw × sh.
  const small = new Float32Array(sw * sh);
  for (let sy = 0; sy < sh; sy++)
    for (let sx = 0; sx < sw; sx++) {
      const fy0 = y0 + (sy * bh) / sh;
      const fy1 = y0 + ((sy + 1) * bh) / sh;
      const fx0 = x0 + (sx * bw) / sw;
      const fx1 = x0 + ((sx + 1) * bw) / sw;
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(fy0); y < Math.ceil(fy1); y++) {
        const wy = Math.min(fy1, y + 1) - Math.max(fy0, y);
        for (let x = Math.floor(fx0); x < Math.ceil(fx1); x++) {
          const wx = Math.min(fx1, x + 1) - Math.max(fx0, x);
          sum += wx * wy * ink[y * width + x];
          area += wx * wy;
        }
      }
      small[sy * sw + sx] = area > 0 ? sum / area : 0;
    }
  // Centre of mass to the middle of the 28×28 field.
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < sh; y++)
    for (let x = 0; x < sw; x++) {
      const v = small[y * sw + x];
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  const ox = Math.round(MNIST_SIDE / 2 - (mass > 0 ? cx / mass : sw / 2));
  const oy = Math.round(MNIST_SIDE / 2 - (mass > 0 ? cy / mass : sh / 2));
  for (let y = 0; y < sh; y++)
    for (let x = 0; x < sw; x++) {
      const tx = x + ox;
      const ty = y + oy;
      if (tx >= 0 && tx < MNIST_SIDE && ty >= 0 && ty < MNIST_SIDE) out[ty * MNIST_SIDE + tx] = Math.min(1, small[y * sw + x]);
    }
  return out;
}
