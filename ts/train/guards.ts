/**
 * The training loop's guards: a batch whose loss or gradient is not finite
 * never reaches the weights, and an update that overflows them is undone.
 * Kept apart from the loop so the all-or-nothing rule reads in one place.
 */
import { ValueError } from '../core/errors.js';
import { type F32Array, allocF32 } from '../core/memory.js';
import { kernels } from '../core/wasm.js';
import type { NamedParameter } from '../layers/layer.js';

const ADVICE = 'the network keeps the weights it had before this batch; lower the learning rate or check the data for huge values';

/** Throws before the update when the batch's loss or any gradient is not finite. */
export function checkBatchBeforeUpdate(loss: number, params: readonly NamedParameter[], where: string): void {
  if (!Number.isFinite(loss)) throw new ValueError(`training stopped: the loss is ${loss} ${where}; ${ADVICE}`);
  const k = kernels();
  const bad = params.find((p) => !k.wn_all_finite(p.grad.ptr, p.grad.length));
  if (bad) throw new ValueError(`training stopped: the gradient of ${bad.name} is not finite ${where}; ${ADVICE}`);
}

/** A copy of every parameter inside wasm memory, to undo an update that overflowed. */
export class Checkpoint {
  private readonly store: F32Array;

  constructor(private readonly params: readonly NamedParameter[]) {
    this.store = allocF32(params.reduce((s, p) => s + p.value.length, 0));
  }

  /** Bytes a checkpoint of `params` takes (for refusing a training run up front). */
  static bytes(params: readonly NamedParameter[]): number {
    return 4 * params.reduce((s, p) => s + p.value.length, 0);
  }

  save(): void {
    const store = this.store.view();
    let offset = 0;
    for (const p of this.params) {
      const v = p.value.view();
      store.set(v, offset);
      offset += v.length;
    }
  }

  /** Runs `update`; if any parameter is then not finite, puts every parameter back and throws. */
  guard(update: () => void, where: string): void {
    this.save();
    update();
    const k = kernels();
    const bad = this.params.find((p) => !k.wn_all_finite(p.value.ptr, p.value.length));
    if (!bad) return;
    const store = this.store.view();
    let offset = 0;
    for (const p of this.params) {
      const v = p.value.view();
      v.set(store.subarray(offset, offset + v.length));
      offset += v.length;
    }
    throw new ValueError(`training stopped: the update made ${bad.name} overflow ${where}; ${ADVICE}`);
  }

  free(): void {
    this.store.free();
  }
}
