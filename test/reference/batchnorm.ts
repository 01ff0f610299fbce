/**
 * Reference batch normalization in float64, from PyTorch's BatchNorm2d
 * definition on NCHW data seen as [n, c, hw] (BatchNorm1d: hw = 1).
 *
 * Training: per channel over all N = n·hw values, mean μ and BIASED variance
 * σ²_b; x̂ = (x − μ)/sqrt(σ²_b + eps), y = γ·x̂ + β; the running statistics
 * become (1 − momentum)·running + momentum·batch, with the UNBIASED variance
 * σ²_b·N/(N − 1). Evaluation: x̂ = (x − running_mean)/sqrt(running_var + eps).
 * Backward: dβ = Σ dy, dγ = Σ dy·x̂; dx = γ·invstd/N·(N·dy − Σdy − x̂·Σ(dy·x̂))
 * in training mode (the statistics depend on x), dx = γ·invstd·dy in
 * evaluation mode (they are constants).
 */
export interface BnDims {
  n: number;
  c: number;
  hw: number;
}

/** The flat indices of channel `ch`'s values, image by image. */
function channelIndices(d: BnDims, ch: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < d.n; i++) for (let p = 0; p < d.hw; p++) idx.push((i * d.c + ch) * d.hw + p);
  return idx;
}

function normalize(d: BnDims, x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>, variance: ArrayLike<number>, eps: number) {
  const y = new Float64Array(d.n * d.c * d.hw);
  const xhat = new Float64Array(y.length);
  const invstd = new Float64Array(d.c);
  for (let ch = 0; ch < d.c; ch++) {
    invstd[ch] = 1 / Math.sqrt(variance[ch] + eps);
    for (const j of channelIndices(d, ch)) {
      xhat[j] = (x[j] - mean[ch]) * invstd[ch];
      y[j] = gamma[ch] * xhat[j] + beta[ch];
    }
  }
  return { y, xhat, invstd };
}

export function batchNormForwardTrain(
  d: BnDims, x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number, momentum: number,
  runningMean: ArrayLike<number>, runningVar: ArrayLike<number>,
) {
  const count = d.n * d.hw;
  const mean = new Float64Array(d.c);
  const varBiased = new Float64Array(d.c);
  for (let ch = 0; ch < d.c; ch++) {
    const idx = channelIndices(d, ch);
    for (const j of idx) mean[ch] += x[j];
    mean[ch] /= count;
    for (const j of idx) varBiased[ch] += (x[j] - mean[ch]) ** 2;
    varBiased[ch] /= count;
  }
  const newMean = Float64Array.from({ length: d.c }, (_, ch) => (1 - momentum) * runningMean[ch] + momentum * mean[ch]);
  const newVar = Float64Array.from({ length: d.c }, (_, ch) => (1 - momentum) * runningVar[ch] + momentum * varBiased[ch] * count / (count - 1));
  return { ...normalize(d, x, gamma, beta, mean, varBiased, eps), mean, varBiased, runningMean: newMean, runningVar: newVar };
}

export function batchNormForwardEval(
  d: BnDims, x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>,
  runningMean: ArrayLike<number>, runningVar: ArrayLike<number>, eps: number,
) {
  return normalize(d, x, gamma, beta, runningMean, runningVar, eps);
}

/** Gradients from the forward pass's x̂ and invstd; `training` says whether the statistics came from the batch. */
export function batchNormBackward(
  d: BnDims, dy: ArrayLike<number>, xhat: ArrayLike<number>, gamma: ArrayLike<number>, invstd: ArrayLike<number>, training: boolean,
) {
  const count = d.n * d.hw;
  const dx = new Float64Array(d.n * d.c * d.hw);
  const dgamma = new Float64Array(d.c);
  const dbeta = new Float64Array(d.c);
  for (let ch = 0; ch < d.c; ch++) {
    const idx = channelIndices(d, ch);
    for (const j of idx) {
      dbeta[ch] += dy[j];
      dgamma[ch] += dy[j] * xhat[j];
    }
    const k = gamma[ch] * invstd[ch];
    for (const j of idx) dx[j] = training ? (k / count) * (count * dy[j] - dbeta[ch] - xhat[j] * dgamma[ch]) : k * dy[j];
  }
  return { dx, dgamma, dbeta };
}
