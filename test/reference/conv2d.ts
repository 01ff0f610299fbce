/**
 * Reference convolution layer in float64, written as exercise 1 states it,
 * with scipy.signal.convolve2d's 'valid' and 'full' modes spelled out.
 * Arrays are flat, row-major (NCHW).
 */

/** scipy.signal.convolve2d(a, f, mode='valid'): out[y][x] = Σ_{u,v} a[y+u][x+v] · f[fh-1-u][fw-1-v]. */
export function convolve2dValid(a: ArrayLike<number>, h: number, w: number, f: ArrayLike<number>, fh: number, fw: number): Float64Array {
  const zh = h - fh + 1;
  const zw = w - fw + 1;
  const out = new Float64Array(zh * zw);
  for (let y = 0; y < zh; y++)
    for (let x = 0; x < zw; x++) {
      let s = 0;
      for (let u = 0; u < fh; u++) for (let v = 0; v < fw; v++) s += a[(y + u) * w + x + v] * f[(fh - 1 - u) * fw + (fw - 1 - v)];
      out[y * zw + x] = s;
    }
  return out;
}

/** scipy.signal.convolve2d(d, f, mode='full'): out[y][x] = Σ_{p,q} d[p][q] · f[y-p][x-q]. */
export function convolve2dFull(d: ArrayLike<number>, dh: number, dw: number, f: ArrayLike<number>, fh: number, fw: number): Float64Array {
  const oh = dh + fh - 1;
  const ow = dw + fw - 1;
  const out = new Float64Array(oh * ow);
  for (let p = 0; p < dh; p++)
    for (let q = 0; q < dw; q++)
      for (let u = 0; u < fh; u++) for (let v = 0; v < fw; v++) out[(p + u) * ow + q + v] += d[p * dw + q] * f[u * fw + v];
  return out;
}

/** X[::-1, ::-1] of an h×w plane. */
export function flip2d(x: ArrayLike<number>, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) for (let v = 0; v < w; v++) out[y * w + v] = x[(h - 1 - y) * w + (w - 1 - v)];
  return out;
}

export interface ConvDims {
  n: number;
  c: number;
  h: number;
  w: number;
  m: number;
  fh: number;
  fw: number;
}

const plane = (x: ArrayLike<number>, index: number, size: number) => Array.prototype.slice.call(x, index * size, (index + 1) * size) as number[];

/** Z(i,j,:,:) = b(j)·E + Σ_k A(i,k,:,:) * F(j,k,:,:). */
export function conv2dForward(d: ConvDims, a: ArrayLike<number>, f: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const { n, c, h, w, m, fh, fw } = d;
  const zh = h - fh + 1;
  const zw = w - fw + 1;
  const z = new Float64Array(n * m * zh * zw);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const out = z.subarray((i * m + j) * zh * zw, (i * m + j + 1) * zh * zw);
      out.fill(b[j]);
      for (let k = 0; k < c; k++) {
        const conv = convolve2dValid(plane(a, i * c + k, h * w), h, w, plane(f, j * c + k, fh * fw), fh, fw);
        for (let q = 0; q < out.length; q++) out[q] += conv[q];
      }
    }
  return z;
}

/**
 * Exercise 1's backpropagation for Δ = ∂C/∂Z:
 * db(j) = Σ_{i,k,l} Δ(i,j,k,l);
 * dF(j,k,::-1,::-1) = Σ_i A(i,k) * Δ(i,j,::-1,::-1)  (valid);
 * dA(i,k) = Σ_j Δ(i,j) *full F(j,k,::-1,::-1).
 */
export function conv2dBackward(d: ConvDims, a: ArrayLike<number>, f: ArrayLike<number>, delta: ArrayLike<number>) {
  const { n, c, h, w, m, fh, fw } = d;
  const zh = h - fh + 1;
  const zw = w - fw + 1;
  const db = new Float64Array(m);
  const df = new Float64Array(m * c * fh * fw);
  const da = new Float64Array(n * c * h * w);
  for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) for (const v of plane(delta, i * m + j, zh * zw)) db[j] += v;
  for (let j = 0; j < m; j++)
    for (let k = 0; k < c; k++) {
      const acc = new Float64Array(fh * fw);
      for (let i = 0; i < n; i++) {
        const conv = convolve2dValid(plane(a, i * c + k, h * w), h, w, flip2d(plane(delta, i * m + j, zh * zw), zh, zw), zh, zw);
        for (let q = 0; q < acc.length; q++) acc[q] += conv[q];
      }
      df.set(flip2d(acc, fh, fw), (j * c + k) * fh * fw);
    }
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++) {
      const out = da.subarray((i * c + k) * h * w, (i * c + k + 1) * h * w);
      for (let j = 0; j < m; j++) {
        const full = convolve2dFull(plane(delta, i * m + j, zh * zw), zh, zw, flip2d(plane(f, j * c + k, fh * fw), fh, fw), fh, fw);
        for (let q = 0; q < out.length; q++) out[q] += full[q];
      }
    }
  return { db, df, da };
}
