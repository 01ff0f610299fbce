/** Reference optimizer steps in float64, as PyTorch's SGD and Adam define them. */
export function sgdSteps(p0: ArrayLike<number>, grads: ArrayLike<number>[], lr: number, momentum: number): Float64Array {
  const p = Float64Array.from(p0 as ArrayLike<number>);
  const v = new Float64Array(p.length);
  for (const g of grads)
    for (let i = 0; i < p.length; i++) {
      v[i] = momentum * v[i] + g[i];
      p[i] -= lr * (momentum === 0 ? g[i] : v[i]);
    }
  return p;
}

export function adamSteps(p0: ArrayLike<number>, grads: ArrayLike<number>[], lr: number, beta1 = 0.9, beta2 = 0.999, eps = 1e-8): Float64Array {
  const p = Float64Array.from(p0 as ArrayLike<number>);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g, step) => {
    const t = step + 1;
    for (let i = 0; i < p.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const mhat = m[i] / (1 - beta1 ** t);
      const vhat = v[i] / (1 - beta2 ** t);
      p[i] -= (lr * mhat) / (Math.sqrt(vhat) + eps);
    }
  });
  return p;
}
