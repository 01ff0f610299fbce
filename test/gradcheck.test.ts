// gradientCheck (ts/gradcheck.ts) must fail when backprop is wrong, or it proves nothing.
import { describe, expect, it } from 'vitest';
import { DenseLayer, Identity, ReLU, Rng, Tanh, gradientCheck } from 'wasmnet';
import type { F32Array } from 'wasmnet/internal';
import { uniform } from './helpers/util.js';

/** A dense layer with a classic bug: the weight gradient is transposed-indexed wrongly (scaled rows). */
class BuggyDense extends DenseLayer {
  override backwardFromDeltaZ(wantInputGrad: boolean): F32Array | null {
    const da = super.backwardFromDeltaZ(wantInputGrad);
    const dw = this.dw;
    for (let i = 0; i < dw.length; i += 2) dw[i] *= 1.1; // 10 % off on half the entries
    return da;
  }
}

/** A dense layer that forgets the activation's derivative in its input gradient. */
class ForgetfulDense extends DenseLayer {
  override backwardBuffer(delta: F32Array, wantInputGrad: boolean): F32Array | null {
    this.deltaZBuffer().set(delta.view().subarray(0, this.deltaZBuffer().length));
    return this.backwardFromDeltaZ(wantInputGrad);
  }
}

describe('gradientCheck catches wrong gradients', () => {
  it('flags a weight gradient that is 10 % off', () => {
    const layer = new BuggyDense(6, 4, { afun: new Identity(), seed: 1 });
    const result = gradientCheck(layer, uniform([3, 6], new Rng(1)));
    expect(result.errors.w).toBeGreaterThan(0.05);
    expect(result.errors.b).toBeLessThan(1e-3);
    layer.dispose();
  });

  it('flags a missing activation derivative', () => {
    const layer = new ForgetfulDense(5, 4, { afun: new Tanh(), seed: 2 });
    const result = gradientCheck(layer, uniform([3, 5], new Rng(2), -2, 2));
    expect(result.errors.input).toBeGreaterThan(0.05);
    expect(result.errors.w).toBeGreaterThan(0.05);
    layer.dispose();
  });

  it('skips entries at a ReLU kink instead of reporting them, and counts them', () => {
    const layer = new DenseLayer(1, 1, { afun: new ReLU(), seed: 3 });
    layer.w = [1];
    layer.b = [0];
    // z = x exactly at the kink for the first sample
    const result = gradientCheck(layer, uniform([1, 1], new Rng(0), 0, 0), undefined, { samples: 1 });
    expect(result.tensors.find((t) => t.name === 'input')!.skipped).toBe(1);
    layer.dispose();
  });

  it('samples at most `samples` entries per tensor', () => {
    const layer = new DenseLayer(50, 20, { afun: new Identity(), seed: 4 });
    const result = gradientCheck(layer, uniform([2, 50], new Rng(4)), undefined, { samples: 7 });
    expect(result.tensors.map((t) => [t.name, t.checked + t.skipped])).toEqual([['w', 7], ['b', 7], ['input', 7]]);
    layer.dispose();
  });
});
