/**
 * Losses, averaged over the batch (summed over a sample's outputs):
 * cross-entropy C = −(1/n) Σ_i Σ_k y_ik ln ŷ_ik, and
 * mean squared error C = (1/n) Σ_i ½‖ŷ_i − y_i‖².
 * Kernels: `crate/src/loss.rs`.
 */
import { ShapeError, ValueError, show } from './core/errors.js';
import { growableF32 } from './core/memory.js';
import { Tensor } from './core/tensor.js';
import { kernels } from './core/wasm.js';

/** The losses' names, as model files store them. */
export type LossName = 'CrossEntropy' | 'MeanSquaredError';

/** A loss C(ŷ, y), a mean over the batch's rows. See [docs/activations.md](../docs/activations.md). */
export abstract class Loss {
  /** The name used in model files and messages. */
  abstract readonly name: LossName;
  private readonly bufs = [growableF32(), growableF32(), growableF32()];

  /**
   * The loss and, when `grad` is not 0, ∂C/∂ŷ written there (pointers into
   * wasm memory), for `rows` samples of a batch of `n` (the mean's divisor).
   */
  abstract compute(yhat: number, y: number, rows: number, cols: number, grad: number, n?: number): number;

  /** C(ŷ, y) for 2-D tensors `[n, outputs]`. */
  evaluate(yhat: Tensor, y: Tensor): number {
    return this.run(yhat, y, false).loss;
  }

  /** ∂C/∂ŷ. */
  gradient(yhat: Tensor, y: Tensor): Tensor {
    return this.run(yhat, y, true).grad!;
  }

  private run(yhat: Tensor, y: Tensor, wantGrad: boolean): { loss: number; grad?: Tensor } {
    if (!(yhat instanceof Tensor) || !(y instanceof Tensor)) {
      throw new ShapeError(`${this.name}: yhat and y must be Tensors, got ${show(yhat)} and ${show(y)}`);
    }
    if (yhat.shape.length !== 2 || y.shape.join() !== yhat.shape.join()) {
      throw new ShapeError(`${this.name}: yhat and y must be 2-D tensors of one shape [n, outputs], got ${show(yhat.shape)} and ${show(y.shape)}`);
    }
    const [rows, cols] = yhat.shape;
    if (rows === 0) throw new ShapeError(`${this.name}: the batch is empty`);
    const [pb, yb, gb] = this.bufs.map((b) => b.ensure(yhat.size));
    pb.set(yhat.data);
    yb.set(y.data);
    const loss = this.compute(pb.ptr, yb.ptr, rows, cols, wantGrad ? gb.ptr : 0);
    return { loss, grad: wantGrad ? new Tensor(gb.view().slice(0, yhat.size), yhat.shape) : undefined };
  }

  /** Frees the wasm buffers of standalone use. */
  dispose(): void {
    this.bufs.forEach((b) => b.free());
  }
}

/** Cross-entropy C = −(1/n) Σ_i Σ_k y_ik ln ŷ_ik, for SoftMax outputs (ŷ below 1e-30 counts as 1e-30 in the logarithm). */
export class CrossEntropy extends Loss {
  readonly name = 'CrossEntropy' as const;
  compute(yhat: number, y: number, rows: number, cols: number, grad: number, n = rows): number {
    return kernels().wn_cross_entropy(yhat, y, rows, cols, grad, n);
  }
}

/** Mean squared error C = (1/n) Σ_i ½‖ŷ_i − y_i‖². */
export class MeanSquaredError extends Loss {
  readonly name = 'MeanSquaredError' as const;
  compute(yhat: number, y: number, rows: number, cols: number, grad: number, n = rows): number {
    return kernels().wn_mean_squared_error(yhat, y, rows, cols, grad, n);
  }
}

/** Builds a loss from its name (model files). */
export function lossByName(name: string): Loss {
  if (name === 'CrossEntropy') return new CrossEntropy();
  if (name === 'MeanSquaredError') return new MeanSquaredError();
  throw new ValueError(`unknown loss ${show(name)}: expected CrossEntropy or MeanSquaredError`);
}

/** Whether every row of a 2-D label tensor sums to 1 (one-hot or probabilities), within float rounding. */
export function rowsAreDistributions(y: Tensor): boolean {
  const cols = y.shape[y.shape.length - 1];
  const d = y.data;
  for (let r = 0; r < d.length; r += cols) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const v = d[r + j];
      if (v < 0) return false;
      s += v;
    }
    if (Math.abs(s - 1) > 1e-6) return false;
  }
  return true;
}
