// The loss gradient of a batch of n is the mean of the per-sample gradients (crate/src/loss.rs), checked
// directly against float64 for n ∈ {1, 3, 7}: the fused softmax + cross-entropy delta (wn_softmax_cross_entropy_delta,
// which SequentialNet uses for a SoftMax output) and mean squared error, through the raw kernels and through
// SequentialNet.computeGradients. (Training under Adam cannot see a constant scale of the gradient; these can.)
import { describe, expect, it } from 'vitest';
import { CrossEntropy, DenseLayer, Identity, MeanSquaredError, Rng, SequentialNet, SoftMax, Tensor } from 'wasmnet';
import { allocF32, kernels } from 'wasmnet/internal';
import { expectClose, uniform } from './helpers/util.js';

const k = 5;

function softmaxRows(z: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const p = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, z[r * cols + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += (p[r * cols + j] = Math.exp(z[r * cols + j] - max));
    for (let j = 0; j < cols; j++) p[r * cols + j] /= sum;
  }
  return p;
}

function oneHot(n: number, rng: Rng): Tensor {
  return Tensor.oneHot(Array.from({ length: n }, () => rng.int(k)), k);
}

describe('the loss gradient of a batch is the mean over the batch (float64 reference)', () => {
  for (const n of [1, 3, 7]) {
    it(`softmax + cross-entropy delta (ŷ − y)/n, raw kernel, n = ${n} (also a chunk of a batch of ${n + 2})`, () => {
      const rng = new Rng(10 + n);
      const p = softmaxRows(uniform([n, k], rng, -2, 2).data, n, k);
      const y = oneHot(n, rng);
      const yhat = allocF32(n * k);
      const labels = allocF32(n * k);
      const out = allocF32(n * k);
      yhat.set(p);
      labels.set(y.data);
      for (const batch of [n, n + 2]) {
        kernels().wn_softmax_cross_entropy_delta(yhat.ptr, labels.ptr, n, k, out.ptr, batch);
        const want = Float64Array.from(p, (q, i) => (Math.fround(q) - y.data[i]) / batch);
        expectClose(out.toArray(), want, 1e-6, `delta, batch ${batch}`);
      }
      for (const a of [yhat, labels, out]) a.free();
    });

    it(`mean squared error gradient (ŷ − y)/n, raw kernel, n = ${n}`, () => {
      const rng = new Rng(20 + n);
      const yh = uniform([n, k], rng);
      const y = uniform([n, k], rng);
      const [yhat, labels, grad] = [allocF32(n * k), allocF32(n * k), allocF32(n * k)];
      yhat.set(yh.data);
      labels.set(y.data);
      const loss = kernels().wn_mean_squared_error(yhat.ptr, labels.ptr, n, k, grad.ptr, n);
      let want = 0;
      for (let i = 0; i < n * k; i++) want += 0.5 * (yh.data[i] - y.data[i]) ** 2;
      expect(loss).toBeCloseTo(want / n, 6);
      expectClose(grad.toArray(), Float64Array.from(yh.data, (q, i) => (q - y.data[i]) / n), 1e-6, 'grad');
      for (const a of [yhat, labels, grad]) a.free();
    });

    for (const kind of ['softmax + cross-entropy', 'identity + mean squared error'] as const) {
      it(`SequentialNet.computeGradients: ${kind}, one dense layer, n = ${n}, loss and ∂C/∂x`, () => {
        // z = x·W + b (W is [inputs, k]); ∂C/∂z = (ŷ − y)/n for both (the softmax's Jacobian folds into the cross-entropy's); ∂C/∂x = ∂C/∂z · W.
        const rng = new Rng(30 + n);
        const inputs = 4;
        const softmax = kind.startsWith('softmax');
        const net = new SequentialNet([inputs], { seed: n, loss: softmax ? new CrossEntropy() : new MeanSquaredError() });
        net.addDense(k, { afun: softmax ? new SoftMax() : new Identity() });
        const x = uniform([n, inputs], rng);
        const y = softmax ? oneHot(n, rng) : uniform([n, k], rng);
        const layer = net.layers[0] as DenseLayer;
        const W = Array.from(layer.w);
        const b = Array.from(layer.b);
        expect(W.length).toBe(k * inputs);
        const z = new Float64Array(n * k);
        for (let r = 0; r < n; r++)
          for (let j = 0; j < k; j++) {
            let s = b[j];
            for (let i = 0; i < inputs; i++) s += x.data[r * inputs + i] * W[i * k + j];
            z[r * k + j] = s;
          }
        const yhat = softmax ? softmaxRows(z, n, k) : z;
        let loss = 0;
        for (let i = 0; i < n * k; i++) loss += softmax ? (y.data[i] ? -Math.log(yhat[i]) : 0) : 0.5 * (yhat[i] - y.data[i]) ** 2;
        const dx = new Float64Array(n * inputs);
        for (let r = 0; r < n; r++)
          for (let j = 0; j < k; j++) {
            const dz = (yhat[r * k + j] - y.data[r * k + j]) / n;
            for (let i = 0; i < inputs; i++) dx[r * inputs + i] += dz * W[i * k + j];
          }
        const got = net.computeGradients(x, y);
        expect(got.loss).toBeCloseTo(loss / n, 5);
        expectClose(got.inputGradient.data, dx, 1e-5, '∂C/∂x');
        net.dispose();
      });
    }
  }
});
