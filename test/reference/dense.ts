/** Reference dense layer in float64: z = a·w + b; dw = aᵀ·δ, db = Σ_i δ_i, da = δ·wᵀ. */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

export function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

export function denseForward(a: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, n: number, nin: number, nout: number): Float64Array {
  const z = matmul(a, w, n, nin, nout);
  for (let i = 0; i < n; i++) for (let j = 0; j < nout; j++) z[i * nout + j] += b[j];
  return z;
}

export function denseBackward(a: ArrayLike<number>, w: ArrayLike<number>, dz: ArrayLike<number>, n: number, nin: number, nout: number) {
  const dw = matmul(transpose(a, n, nin), dz, nin, n, nout);
  const db = new Float64Array(nout);
  for (let i = 0; i < n; i++) for (let j = 0; j < nout; j++) db[j] += dz[i * nout + j];
  const da = matmul(dz, transpose(w, nin, nout), n, nout, nin);
  return { dw, db, da };
}
