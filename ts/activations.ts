/**
 * Activation functions. A layer uses its activation's `id` (the kernel in
 * `crate/src/activation.rs`) and `factor` (the scale of its initial weights).
 * Each is also usable on its own, as in the course: `evaluate(z)` keeps z,
 * and `backprop(delta)` returns φ'(z) ⊙ delta for that z.
 */
import { ShapeError, ValueError, show } from './core/errors.js';
import { growableF32 } from './core/memory.js';
import { Tensor } from './core/tensor.js';
import { kernels } from './core/wasm.js';

/** Kernel ids, matching `Activation` in `crate/src/activation.rs`. */
export const ActivationId = { Identity: 0, ReLU: 1, Sigmoid: 2, Tanh: 3, SoftMax: 4 } as const;

/**
 * An activation function φ: a layer's `afun`, or used alone as in the course (`evaluate(z)`,
 * then `backprop(delta)`). See [docs/activations.md](../docs/activations.md).
 */
export abstract class Activation {
  /** The kernel id in `crate/src/activation.rs`. */
  abstract readonly id: number;
  /** The name used in model files and messages. */
  abstract readonly name: ActivationName;
  /** Scale applied to the initializer's weights for a layer with this activation. */
  abstract readonly factor: number;

  private readonly zBuf = growableF32();
  private readonly aBuf = growableF32();
  private readonly dBuf = growableF32();
  private readonly outBuf = growableF32();
  private lastShape: readonly number[] | null = null;

  /** φ(z), elementwise (SoftMax: over the last axis). */
  evaluate(z: Tensor): Tensor {
    if (!(z instanceof Tensor)) throw new ShapeError(`${this.name}.evaluate: z must be a Tensor, got ${show(z)}`);
    const k = kernels();
    const n = z.size;
    const zb = this.zBuf.ensure(n);
    const ab = this.aBuf.ensure(n);
    zb.set(z.data);
    k.wn_activation_forward(this.id, zb.ptr, ab.ptr, n, lastAxis(z.shape));
    this.lastShape = z.shape;
    return new Tensor(ab.view().slice(0, n), z.shape);
  }

  /** φ'(z) ⊙ delta for the z of the last `evaluate` (SoftMax: the Jacobian of each row times delta). */
  backprop(delta: Tensor): Tensor {
    const shape = this.lastShape;
    if (!shape) throw new ShapeError(`${this.name}.backprop needs a preceding evaluate()`);
    if (!(delta instanceof Tensor) || delta.shape.join() !== shape.join()) {
      throw new ShapeError(`${this.name}.backprop: delta must be a Tensor of the last input's shape ${show(shape)}, got ${show(delta instanceof Tensor ? delta.shape : delta)}`);
    }
    const n = delta.size;
    const db = this.dBuf.ensure(n);
    const ob = this.outBuf.ensure(n);
    db.set(delta.data);
    kernels().wn_activation_backward(this.id, this.zBuf.current.ptr, this.aBuf.current.ptr, db.ptr, ob.ptr, n, lastAxis(shape));
    return new Tensor(ob.view().slice(0, n), shape);
  }

  /** Frees the buffers of standalone use (layers never use them). */
  dispose(): void {
    for (const b of [this.zBuf, this.aBuf, this.dBuf, this.outBuf]) b.free();
    this.lastShape = null;
  }
}

/** The activations' names, as model files store them. */
export type ActivationName = 'Identity' | 'ReLU' | 'Sigmoid' | 'Tanh' | 'SoftMax';

function lastAxis(shape: readonly number[]): number {
  return Math.max(1, shape[shape.length - 1]);
}

/** φ(z) = z. */
export class Identity extends Activation {
  readonly id = ActivationId.Identity;
  readonly name = 'Identity' as const;
  readonly factor = 1;
}

/** φ(z) = max(z, 0); φ'(0) is taken as 0. Factor √2 (He): ReLU halves the variance it passes on. */
export class ReLU extends Activation {
  readonly id = ActivationId.ReLU;
  readonly name = 'ReLU' as const;
  readonly factor = Math.SQRT2;
}

/**
 * φ(z) = 1/(1 + e^(−z)). Factor 4: the sigmoid's slope at 0 is 1/4, so
 * weights 4× the Glorot scale give it unit gain, as Glorot & Bengio (2010) suggest.
 */
export class Sigmoid extends Activation {
  readonly id = ActivationId.Sigmoid;
  readonly name = 'Sigmoid' as const;
  readonly factor = 4;
}

/** φ(z) = tanh z. Factor 1: unit slope at 0. */
export class Tanh extends Activation {
  readonly id = ActivationId.Tanh;
  readonly name = 'Tanh' as const;
  readonly factor = 1;
}

/** Row-wise φ(z)_k = e^(z_k) / Σ_j e^(z_j), computed with the row maximum subtracted. Factor 1. */
export class SoftMax extends Activation {
  readonly id = ActivationId.SoftMax;
  readonly name = 'SoftMax' as const;
  readonly factor = 1;
}

/** Builds an activation from its name (model files). */
export function activationByName(name: string): Activation {
  switch (name) {
    case 'Identity':
      return new Identity();
    case 'ReLU':
      return new ReLU();
    case 'Sigmoid':
      return new Sigmoid();
    case 'Tanh':
      return new Tanh();
    case 'SoftMax':
      return new SoftMax();
    default:
      throw new ValueError(`unknown activation ${show(name)}: expected Identity, ReLU, Sigmoid, Tanh or SoftMax`);
  }
}
