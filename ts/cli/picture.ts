/**
 * PNG pictures for the command line: a grid of test digits with label and
 * guess (wrong ones framed in red) and the training curves, like the course's
 * matplotlib figures. Drawn on a small RGB canvas, encoded by pngjs.
 */
import { PNG } from 'pngjs';
import { MNIST_PIXELS, MNIST_SIDE } from '../data/mnist.js';
import type { EpochStats } from '../train/loop.js';

type Rgb = readonly [number, number, number];
const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [40, 40, 48];
const GRID: Rgb = [225, 225, 230];
const RED: Rgb = [214, 39, 40];
const BLUE: Rgb = [31, 119, 180];
const ORANGE: Rgb = [255, 127, 14];
const GREEN: Rgb = [44, 160, 44];

/** A 3×5 pixel font: each glyph is five rows of three bits. */
const FONT: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 2, 2, 2], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
  A: [2, 5, 7, 5, 5], B: [6, 5, 6, 5, 6], C: [3, 4, 4, 4, 3], D: [6, 5, 5, 5, 6], E: [7, 4, 6, 4, 7],
  F: [7, 4, 6, 4, 4], G: [3, 4, 5, 5, 3], H: [5, 5, 7, 5, 5], I: [7, 2, 2, 2, 7], J: [1, 1, 1, 5, 2],
  K: [5, 5, 6, 5, 5], L: [4, 4, 4, 4, 7], M: [5, 7, 7, 5, 5], N: [6, 5, 5, 5, 5], O: [2, 5, 5, 5, 2],
  P: [6, 5, 6, 4, 4], Q: [2, 5, 5, 6, 3], R: [6, 5, 6, 5, 5], S: [3, 4, 2, 1, 6], T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7], V: [5, 5, 5, 5, 2], W: [5, 5, 7, 7, 5], X: [5, 5, 2, 5, 5], Y: [5, 5, 2, 2, 2],
  Z: [7, 1, 2, 4, 7], '.': [0, 0, 0, 0, 2], '%': [5, 1, 2, 4, 5], ':': [0, 2, 0, 2, 0], '-': [0, 0, 7, 0, 0],
  '/': [1, 1, 2, 4, 4], '(': [2, 4, 4, 4, 2], ')': [2, 1, 1, 1, 2], '=': [0, 7, 0, 7, 0], ',': [0, 0, 0, 2, 4],
  ' ': [0, 0, 0, 0, 0],
};

export class Canvas {
  readonly png: PNG;
  constructor(readonly width: number, readonly height: number) {
    this.png = new PNG({ width, height });
    this.fill(0, 0, width, height, WHITE);
  }

  pixel(x: number, y: number, [r, g, b]: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = 4 * (Math.floor(y) * this.width + Math.floor(x));
    const d = this.png.data;
    d[o] = r;
    d[o + 1] = g;
    d[o + 2] = b;
    d[o + 3] = 255;
  }

  fill(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) this.pixel(i, j, c);
  }

  frame(x: number, y: number, w: number, h: number, c: Rgb, t = 2): void {
    this.fill(x, y, w, t, c);
    this.fill(x, y + h - t, w, t, c);
    this.fill(x, y, t, h, c);
    this.fill(x + w - t, y, t, h, c);
  }

  /** Text in the 3×5 font at `scale` pixels per font pixel; returns the width drawn. */
  text(x: number, y: number, s: string, c: Rgb, scale = 2): number {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const glyph = FONT[ch] ?? FONT[' '];
      glyph.forEach((row, r) => {
        for (let b = 0; b < 3; b++) if (row & (4 >> b)) this.fill(cx + b * scale, y + r * scale, scale, scale, c);
      });
      cx += 4 * scale;
    }
    return cx - x;
  }

  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, t = 2): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      this.fill(Math.round(x - t / 2), Math.round(y - t / 2), t, t, c);
    }
  }

  /** A grayscale image (values in [0, 1], white background, dark ink) scaled by `scale`. */
  gray(x: number, y: number, img: ArrayLike<number>, rows: number, cols: number, scale: number): void {
    for (let r = 0; r < rows; r++)
      for (let q = 0; q < cols; q++) {
        const v = Math.round(255 * (1 - Math.min(1, Math.max(0, img[r * cols + q]))));
        this.fill(x + q * scale, y + r * scale, scale, scale, [v, v, v]);
      }
  }

  encode(): Buffer {
    return PNG.sync.write(this.png);
  }
}

export interface Series {
  label: string;
  values: number[];
  color: Rgb;
}

/** A line chart of `series` over their index, with a title and a legend. */
function chart(cv: Canvas, x: number, y: number, w: number, h: number, title: string, series: Series[], yRange?: [number, number]): void {
  cv.text(x, y, title, INK, 2);
  const top = y + 18;
  const plotH = h - 18 - 26;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let [lo, hi] = yRange ?? [Math.min(...all), Math.max(...all)];
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  for (let i = 0; i <= 4; i++) {
    const gy = top + Math.round((plotH * i) / 4);
    cv.fill(x + 40, gy, w - 40, 1, GRID);
    cv.text(x, gy - 4, (hi - ((hi - lo) * i) / 4).toFixed(hi - lo < 0.5 ? 3 : 2), INK, 1);
  }
  cv.frame(x + 40, top, w - 40, plotH, INK, 1);
  for (const s of series) {
    const n = s.values.length;
    const px = (i: number) => x + 40 + (n === 1 ? (w - 40) / 2 : ((w - 41) * i) / (n - 1));
    const py = (v: number) => top + plotH - ((v - lo) / (hi - lo)) * plotH;
    for (let i = 1; i < n; i++) cv.line(px(i - 1), py(s.values[i - 1]), px(i), py(s.values[i]), s.color);
    if (n <= 30) s.values.forEach((v, i) => cv.fill(Math.round(px(i)) - 2, Math.round(py(v)) - 2, 5, 5, s.color));
  }
  let lx = x + 40;
  for (const s of series) {
    cv.fill(lx, top + plotH + 12, 12, 4, s.color);
    lx += 16 + cv.text(lx + 16, top + plotH + 10, s.label, INK, 1) + 12;
  }
}

export interface ResultPicture {
  /** What was trained, for the title (default: the course CNN). */
  title?: string;
  images: Float32Array; // [n, 28, 28] test images
  labels: ArrayLike<number>;
  guesses: ArrayLike<number>;
  /** Indices of the digits to show. */
  picks: number[];
  batchLosses: number[];
  history: EpochStats[];
  testAccuracy: number;
}

/** The picture `wasmnet train --png` writes. Returns PNG bytes. */
export function resultPicture(r: ResultPicture): Buffer {
  const cols = 8;
  const rowsOfDigits = Math.ceil(r.picks.length / cols);
  const cell = MNIST_SIDE * 3 + 12;
  const gridW = cols * cell;
  const chartW = 440;
  const width = 20 + gridW + 30 + chartW + 20;
  const height = Math.max(60 + rowsOfDigits * (cell + 16), 60 + 2 * 250) + 20;
  const cv = new Canvas(width, height);
  cv.text(20, 12, `wasmnet - ${r.title ?? 'the course CNN'} on MNIST - test accuracy ${(100 * r.testAccuracy).toFixed(2)}%`, INK, 3);
  cv.text(20, 36, 'L = label, G = guess - wrong guesses framed in red', INK, 2);
  r.picks.forEach((k, i) => {
    const x = 20 + (i % cols) * cell;
    const y = 60 + Math.floor(i / cols) * (cell + 16);
    const wrong = r.labels[k] !== r.guesses[k];
    cv.gray(x + 6, y + 6, r.images.subarray(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS), MNIST_SIDE, MNIST_SIDE, 3);
    if (wrong) cv.frame(x + 2, y + 2, cell - 4, cell - 4, RED, 3);
    cv.text(x + 8, y + cell, `L${r.labels[k]} G${r.guesses[k]}`, wrong ? RED : INK, 2);
  });
  const cx = 20 + gridW + 30;
  chart(cv, cx, 60, chartW, 230, 'training loss per batch', [{ label: 'loss', values: r.batchLosses, color: BLUE }]);
  chart(
    cv, cx, 60 + 250, chartW, 230, 'accuracy per epoch',
    [
      { label: 'train', values: r.history.map((h) => h.accuracy), color: ORANGE },
      { label: 'test', values: r.history.map((h) => h.valAccuracy ?? NaN), color: GREEN },
    ],
  );
  return cv.encode();
}
