// Activations (crate/src/activation.rs, ts/activations.ts) against test/reference/activations.ts.
import { describe, expect, it } from 'vitest';
import { Identity, ReLU, Rng, Sigmoid, SoftMax, Tanh, Tensor, gradientCheck } from 'wasmnet';
import { activationBackward, activationForward } from './reference/activations.js';
import { expectClose, uniform } from './helpers/util.js';

const all = () => [new Identity(), new ReLU(), new Sigmoid(), new Tanh(), new SoftMax()];

describe('activations against the reference', () => {
  for (const act of all()) {
    for (const shape of [[1, 1], [3, 7], [5, 10], [2, 33]]) {
      it(`${act.name} forward and backprop on ${JSON.stringify(shape)}`, () => {
        const rng = new Rng(shape[0] * 100 + shape[1]);
        const z = uniform(shape, rng, -4, 4);
        const cols = shape[1];
        expectClose(act.evaluate(z).data, activationForward(act.name, z.data, cols), 1e-6, 'φ(z)');
        const delta = uniform(shape, rng);
        expectClose(act.backprop(delta).data, activationBackward(act.name, z.data, delta.data, cols), 1e-6, "φ'(z)⊙δ");
        act.dispose();
      });
    }
  }

  it('SoftMax is stable for large inputs and its rows sum to 1', () => {
    const act = new SoftMax();
    const a = act.evaluate(new Tensor([1000, 1001, 999, -1000, 0, 1000], [2, 3])).data;
    expect(a.every(Number.isFinite)).toBe(true);
    expect(a[0] + a[1] + a[2]).toBeCloseTo(1, 6);
    expect(a[5]).toBeCloseTo(1, 6);
    act.dispose();
  });

  it('Sigmoid saturates without NaN', () => {
    const act = new Sigmoid();
    expect(Array.from(act.evaluate(new Tensor([-1000, 1000], [1, 2])).data)).toEqual([0, 1]);
    act.dispose();
  });

  it('carries the documented initialization factors', () => {
    expect(all().map((a) => [a.name, a.factor])).toEqual([
      ['Identity', 1],
      ['ReLU', Math.SQRT2],
      ['Sigmoid', 4],
      ['Tanh', 1],
      ['SoftMax', 1],
    ]);
  });
});

describe('activation gradient checks (ε = 1e-3)', () => {
  for (const act of all()) {
    it(`${act.name} within 1e-3`, () => {
      const result = gradientCheck(act, uniform([4, 6], new Rng(5), -3, 3), undefined, { samples: 24 });
      expect(result.errors.input).toBeLessThan(1e-3);
      act.dispose();
    });
  }
});
