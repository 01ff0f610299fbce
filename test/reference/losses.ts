/** Reference losses in float64, averaged over the n rows. */
export function crossEntropy(yhat: ArrayLike<number>, y: ArrayLike<number>, n: number) {
  let loss = 0;
  const grad = new Float64Array(yhat.length);
  for (let i = 0; i < yhat.length; i++) {
    if (y[i] !== 0) {
      loss -= y[i] * Math.log(yhat[i]);
      grad[i] = -y[i] / yhat[i] / n;
    }
  }
  return { loss: loss / n, grad };
}

export function meanSquaredError(yhat: ArrayLike<number>, y: ArrayLike<number>, n: number) {
  let loss = 0;
  const grad = new Float64Array(yhat.length);
  for (let i = 0; i < yhat.length; i++) {
    loss += 0.5 * (yhat[i] - y[i]) ** 2;
    grad[i] = (yhat[i] - y[i]) / n;
  }
  return { loss: loss / n, grad };
}
