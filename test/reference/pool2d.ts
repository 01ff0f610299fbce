/**
 * Reference pooling in float64, by definition (exercise 3, extended by a
 * stride as PyTorch's MaxPool2d without padding): ph×pw windows
 * whose top-left corners are sh, sw apart (default: the area, so windows
 * tile the input); floor((h − ph)/sh) + 1 rows of windows, likewise columns;
 * inputs no window reaches are left out (gradient 0).
 *
 * Max: the mask marks every input that is a maximum of some window holding
 * it; backprop gives each window's maxima that window's delta, divided by the
 * number of maxima in the window when strict, summed over windows.
 */
export interface PoolDims {
  n: number;
  c: number;
  h: number;
  w: number;
  ph: number;
  pw: number;
  sh?: number;
  sw?: number;
}

/** Output rows and columns, and the flat input indices of every window, in output order. */
export function poolWindows(d: PoolDims): { oh: number; ow: number; windows: number[][] } {
  const { n, c, h, w, ph, pw } = d;
  const sh = d.sh ?? ph;
  const sw = d.sw ?? pw;
  const oh = Math.floor((h - ph) / sh) + 1;
  const ow = Math.floor((w - pw) / sw) + 1;
  const windows: number[][] = [];
  for (let q = 0; q < n * c; q++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const cells: number[] = [];
        for (let y = oy * sh; y < oy * sh + ph; y++) for (let x = ox * sw; x < ox * sw + pw; x++) cells.push(q * h * w + y * w + x);
        windows.push(cells);
      }
  return { oh, ow, windows };
}

export function maxPoolForward(d: PoolDims, a: ArrayLike<number>) {
  const { windows } = poolWindows(d);
  const out = new Float64Array(windows.length);
  const mask = new Uint8Array(d.n * d.c * d.h * d.w);
  windows.forEach((cells, o) => {
    const best = Math.max(...cells.map((i) => a[i]));
    out[o] = best;
    for (const i of cells) if (a[i] === best) mask[i] = 1;
  });
  return { out, mask };
}

/** ∂C/∂a: each window's delta to the window's own maxima (found again in `a`). */
export function maxPoolBackward(d: PoolDims, a: ArrayLike<number>, delta: ArrayLike<number>, strict: boolean): Float64Array {
  const { windows } = poolWindows(d);
  const da = new Float64Array(d.n * d.c * d.h * d.w);
  windows.forEach((cells, o) => {
    const best = Math.max(...cells.map((i) => a[i]));
    const winners = cells.filter((i) => a[i] === best);
    const share = delta[o] / (strict ? winners.length : 1);
    for (const i of winners) da[i] += share;
  });
  return da;
}
