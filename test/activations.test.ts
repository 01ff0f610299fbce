// Activations (crate/src/activation.rs, ts/activations.ts) against test/reference/activations.ts.
import { describe, expect, it } from 'vitest';
import { Identity, ReLU, Rng, Sigmoid, SoftMax, Tanh, Tensor, activationByName, gradientCheck, wasmBytesInUse } from 'wasmnet';
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

describe('an activation used on its own', () => {
  it('evaluate refuses what is not a Tensor; backprop needs an evaluate first and delta of its shape', () => {
    const act = new Tanh();
    expect(() => act.evaluate([1, 2] as never)).toThrow(/^Tanh\.evaluate: z must be a Tensor, got \[1, 2\]$/);
    expect(() => act.backprop(new Tensor([1], [1, 1]))).toThrow(/^Tanh\.backprop needs a preceding evaluate\(\)$/);
    act.evaluate(new Tensor([0.5, -1, 2, 0], [2, 2]));
    expect(() => act.backprop(new Tensor([1, 2, 3, 4], [4, 1]))).toThrow(/^Tanh\.backprop: delta must be a Tensor of the last input's shape \[2, 2\], got \[4, 1\]$/);
    expect(() => act.backprop([1, 2, 3, 4] as never)).toThrow(/^Tanh\.backprop: delta must be a Tensor of the last input's shape \[2, 2\], got \[1, 2, 3, 4\]$/);
    expect(act.backprop(new Tensor([1, 1, 1, 1], [2, 2])).shape).toEqual([2, 2]);
    act.dispose();
  });

  it('dispose frees its buffers and forgets the last input', () => {
    const before = wasmBytesInUse();
    const act = new ReLU();
    act.evaluate(new Tensor(new Float32Array(4096), [4, 1024]));
    act.backprop(new Tensor(new Float32Array(4096), [4, 1024]));
    expect(wasmBytesInUse()).toBeGreaterThan(before);
    act.dispose();
    expect(wasmBytesInUse()).toBe(before);
    expect(() => act.backprop(new Tensor(new Float32Array(4096), [4, 1024]))).toThrow(/needs a preceding evaluate/);
  });

  it('returns copies: a second evaluate does not change the first result', () => {
    const act = new Sigmoid();
    const first = act.evaluate(new Tensor([0], [1, 1]));
    act.evaluate(new Tensor([100], [1, 1]));
    expect(Array.from(first.data)).toEqual([0.5]);
    act.dispose();
  });

  it('SoftMax of rows of 0 values (shape [2, 0]) is empty', () => {
    const act = new SoftMax();
    expect(act.evaluate(new Tensor([], [2, 0])).shape).toEqual([2, 0]);
    act.dispose();
  });

  it('activationByName builds each kind, with its kernel id', () => {
    const made = ['Identity', 'ReLU', 'Sigmoid', 'Tanh', 'SoftMax'].map((n) => activationByName(n));
    expect(made.map((a) => [a.constructor.name, a.name, a.id])).toEqual([
      ['Identity', 'Identity', 0], ['ReLU', 'ReLU', 1], ['Sigmoid', 'Sigmoid', 2], ['Tanh', 'Tanh', 3], ['SoftMax', 'SoftMax', 4],
    ]);
  });
});

describe('an activation used on its own, more', () => {
  it('backprop returns a copy: a second backprop does not change the first result', () => {
    const act = new Identity();
    act.evaluate(new Tensor([1, 2], [1, 2]));
    const first = act.backprop(new Tensor([3, 4], [1, 2]));
    act.backprop(new Tensor([5, 6], [1, 2]));
    expect(Array.from(first.data)).toEqual([3, 4]);
    act.dispose();
  });

  it('activationByName suggests each name for its misspelling', () => {
    for (const [typo, name] of [['Identiti', 'Identity'], ['Relu', 'ReLU'], ['Sigmoud', 'Sigmoid'], ['tanh', 'Tanh'], ['Softmax', 'SoftMax']]) {
      expect(() => activationByName(typo)).toThrow(`(did you mean "${name}"?)`);
    }
  });
});
