/**
 * Reference max pooling in float64, by definition (exercise 3): non-overlapping
 * ph×pw areas, trailing rows/columns cropped; mask marks every maximum of an
 * area; backprop gives each maximum the area's delta, divided by the number
 * of maxima when strict.
 */
export interface PoolDims {
  n: number;
  c: number;
  h: number;
  w: number;
  ph: number;
  pw: number;
}

export function maxPoolForward(d: PoolDims, a: ArrayLike<number>) {
  const { n, c, h, w, ph, pw } = d;
  const oh = Math.floor(h / ph);
  const ow = Math.floor(w / pw);
  const out = new Float64Array(n * c * oh * ow);
  const mask = new Uint8Array(n * c * h * w);
  for (let q = 0; q < n * c; q++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity;
        for (let y = oy * ph; y < (oy + 1) * ph; y++) for (let x = ox * pw; x < (ox + 1) * pw; x++) best = Math.max(best, a[q * h * w + y * w + x]);
        out[(q * oh + oy) * ow + ox] = best;
        for (let y = oy * ph; y < (oy + 1) * ph; y++)
          for (let x = ox * pw; x < (ox + 1) * pw; x++) mask[q * h * w + y * w + x] = a[q * h * w + y * w + x] === best ? 1 : 0;
      }
  return { out, mask };
}

export function maxPoolBackward(d: PoolDims, mask: ArrayLike<number>, delta: ArrayLike<number>, strict: boolean): Float64Array {
  const { n, c, h, w, ph, pw } = d;
  const oh = Math.floor(h / ph);
  const ow = Math.floor(w / pw);
  const da = new Float64Array(n * c * h * w);
  for (let q = 0; q < n * c; q++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        let winners = 0;
        for (let y = oy * ph; y < (oy + 1) * ph; y++) for (let x = ox * pw; x < (ox + 1) * pw; x++) winners += mask[q * h * w + y * w + x];
        const share = delta[(q * oh + oy) * ow + ox] / (strict ? winners : 1);
        for (let y = oy * ph; y < (oy + 1) * ph; y++)
          for (let x = ox * pw; x < (ox + 1) * pw; x++) if (mask[q * h * w + y * w + x]) da[q * h * w + y * w + x] = share;
      }
  return da;
}
