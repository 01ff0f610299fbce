// Optimizers (crate/src/optim.rs, ts/optimizers.ts) against test/reference/optimizers.ts.
import { describe, expect, it } from 'vitest';
import { Adam, DenseLayer, Identity, Rng, SGD, ValueError, type Optimizer } from 'wasmnet';
import { adamSteps, sgdSteps } from './reference/optimizers.js';
import { expectClose, uniform, values } from './helpers/util.js';

/** Runs `steps` updates on a dense layer whose gradients are set directly, returning w and the gradients used. */
function run(optim: Optimizer, steps: number, nin = 5, nout = 7) {
  const rng = new Rng(11);
  const dense = new DenseLayer(nin, nout, { afun: new Identity(), optim, seed: 3 });
  const w0 = dense.w.slice();
  const grads: Float32Array[] = [];
  for (let t = 0; t < steps; t++) {
    const g = values(nin * nout, rng);
    grads.push(g);
    // Write the gradient the optimizer will read, through a real backprop: a = e_i rows make dw = delta rows.
    dense.evaluate(uniform([1, nin], rng));
    dense.backprop(uniform([1, nout], rng));
    dense.dw.set(g);
    dense.update();
  }
  const w = dense.w.slice();
  dense.dispose();
  return { w0, w, grads };
}

describe('optimizers against the reference', () => {
  it('SGD: p ← p − lr·g', () => {
    const { w0, w, grads } = run(new SGD(0.1), 3);
    expectClose(w, sgdSteps(w0, grads, 0.1, 0), 1e-6);
  });
  it('SGD with momentum 0.9, as PyTorch', () => {
    const { w0, w, grads } = run(new SGD(0.05, { momentum: 0.9 }), 5);
    expectClose(w, sgdSteps(w0, grads, 0.05, 0.9), 1e-6);
  });
  it('Adam, bias-corrected, as PyTorch (35 parameters: not a multiple of 4)', () => {
    const { w0, w, grads } = run(new Adam(0.01), 6);
    expectClose(w, adamSteps(w0, grads, 0.01), 1e-5);
  });
  it('Adam with custom betas and eps', () => {
    const { w0, w, grads } = run(new Adam(0.003, { beta1: 0.5, beta2: 0.9, eps: 1e-3 }), 4, 3, 3);
    expectClose(w, adamSteps(w0, grads, 0.003, 0.5, 0.9, 1e-3), 1e-5);
  });

  it('one Adam shared by two layers keeps separate state per parameter tensor', () => {
    const shared = new Adam(0.01);
    const rng = new Rng(1);
    const a = new DenseLayer(3, 4, { afun: new Identity(), optim: shared, seed: 1 });
    const b = new DenseLayer(3, 4, { afun: new Identity(), optim: shared, seed: 2 });
    const alone = new DenseLayer(3, 4, { afun: new Identity(), optim: new Adam(0.01), seed: 1 });
    for (let t = 0; t < 3; t++) {
      const x = uniform([2, 3], rng);
      const d = uniform([2, 4], rng);
      for (const layer of [a, b, alone]) {
        layer.evaluate(x);
        layer.backprop(d);
        layer.update();
      }
    }
    // a saw the same data as `alone`; sharing the optimizer with b must not change its steps.
    expect(Array.from(a.w)).toEqual(Array.from(alone.w));
    for (const l of [a, b, alone]) l.dispose();
  });

  it('rejects learning rates that are not finite and positive', () => {
    expect(() => new SGD(0)).toThrow(ValueError);
    expect(() => new Adam(NaN)).toThrow(/Adam lr must be a finite number > 0, got NaN/);
    expect(() => new Adam(0.1, { beta1: 1 })).toThrow(/beta1/);
  });
});
