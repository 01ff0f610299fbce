/**
 * Reference convolution layer in float64, written as exercise 1 states it,
 * with scipy.signal.convolve2d's 'valid' and 'full' modes spelled out; and
 * padding and stride as PyTorch defines them, composed around it: zero-pad,
 * valid true convolution, keep every s-th output (and, backward, the adjoints
 * of those three steps). Arrays are flat, row-major (NCHW).
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

/** Zero padding `[top, bottom, left, right]` and stride `[sh, sw]`. */
export interface ConvGeometry {
  pad: readonly [number, number, number, number];
  stride: readonly [number, number];
}

/** Each of `planes` h×w planes placed in a (pt+h+pb)×(pl+w+pr) plane of zeros. */
export function pad2d(src: ArrayLike<number>, planes: number, h: number, w: number, [pt, pb, pl, pr]: ConvGeometry['pad']): Float64Array {
  const [hp, wp] = [h + pt + pb, w + pl + pr];
  const out = new Float64Array(planes * hp * wp);
  for (let q = 0; q < planes; q++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(q * hp + pt + y) * wp + pl + x] = src[(q * h + y) * w + x];
  return out;
}

/** The adjoint of `pad2d`: the h×w interior of each padded plane. */
export function crop2d(src: ArrayLike<number>, planes: number, h: number, w: number, [pt, pb, pl, pr]: ConvGeometry['pad']): Float64Array {
  const [hp, wp] = [h + pt + pb, w + pl + pr];
  const out = new Float64Array(planes * h * w);
  for (let q = 0; q < planes; q++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(q * h + y) * w + x] = src[(q * hp + pt + y) * wp + pl + x];
  return out;
}

/** Rows 0, sh, 2·sh, … and columns 0, sw, … of each h×w plane. */
export function subsample2d(src: ArrayLike<number>, planes: number, h: number, w: number, [sh, sw]: ConvGeometry['stride']): Float64Array {
  const [oh, ow] = [Math.ceil(h / sh), Math.ceil(w / sw)];
  const out = new Float64Array(planes * oh * ow);
  for (let q = 0; q < planes; q++) for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) out[(q * oh + y) * ow + x] = src[(q * h + y * sh) * w + x * sw];
  return out;
}

/** The adjoint of `subsample2d`: each ⌈h/sh⌉×⌈w/sw⌉ plane scattered into an h×w plane of zeros. */
export function upsample2d(src: ArrayLike<number>, planes: number, h: number, w: number, [sh, sw]: ConvGeometry['stride']): Float64Array {
  const [oh, ow] = [Math.ceil(h / sh), Math.ceil(w / sw)];
  const out = new Float64Array(planes * h * w);
  for (let q = 0; q < planes; q++) for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) out[(q * h + y * sh) * w + x * sw] = src[(q * oh + y) * ow + x];
  return out;
}

/** Output size `⌊(h + pt + pb − fh)/sh⌋ + 1` by `⌊(w + pl + pr − fw)/sw⌋ + 1`. */
export function paddedOutputSize(d: ConvDims, g: ConvGeometry): [number, number] {
  const [pt, pb, pl, pr] = g.pad;
  return [Math.floor((d.h + pt + pb - d.fh) / g.stride[0]) + 1, Math.floor((d.w + pl + pr - d.fw) / g.stride[1]) + 1];
}

/** The dimensions of exercise 1's convolution (valid, stride 1) on the padded input. */
function paddedDims(d: ConvDims, g: ConvGeometry): ConvDims {
  const [pt, pb, pl, pr] = g.pad;
  return { ...d, h: d.h + pt + pb, w: d.w + pl + pr };
}

/** Z = subsample(b + pad(A) * F): pad, the valid true convolution, keep every s-th output. */
export function conv2dForwardPadded(d: ConvDims, g: ConvGeometry, a: ArrayLike<number>, f: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const p = paddedDims(d, g);
  const z = conv2dForward(p, pad2d(a, d.n * d.c, d.h, d.w, g.pad), f, b);
  return subsample2d(z, d.n * d.m, p.h - d.fh + 1, p.w - d.fw + 1, g.stride);
}

/** Backward through the same three steps: Δ scattered back to the stride-1 output, exercise 1's gradients, ∂C/∂A cropped to the unpadded input. */
export function conv2dBackwardPadded(d: ConvDims, g: ConvGeometry, a: ArrayLike<number>, f: ArrayLike<number>, delta: ArrayLike<number>) {
  const p = paddedDims(d, g);
  const full = upsample2d(delta, d.n * d.m, p.h - d.fh + 1, p.w - d.fw + 1, g.stride);
  const { db, df, da } = conv2dBackward(p, pad2d(a, d.n * d.c, d.h, d.w, g.pad), f, full);
  return { db, df, da: crop2d(da, d.n * d.c, d.h, d.w, g.pad) };
}
