/**
 * The training loop's guards: a batch whose loss or gradient is not finite
 * never reaches the model, and an update that overflows the weights is
 * undone. Kept apart from the loop so the all-or-nothing rule reads in one
 * place.
 *
 * What a rejected batch leaves as it was: the parameters, the buffers its
 * forward pass moved (batch norm's running statistics) and the layers'
 * training progress (dropout's step). The optimizers' moments are left as the
 * failed update made them when the update itself overflowed (finite values:
 * the gradient was checked first); copying them every batch would cost ~3 %
 * of a small batch's time.
 */
import { ValueError } from '../core/errors.js';
import { type F32Array, allocF32 } from '../core/memory.js';
import { kernels } from '../core/wasm.js';
import type { Layer, NamedBuffer, NamedParameter } from '../layers/layer.js';
import type { Vouched } from './shards.js';

const ADVICE = 'the network keeps the weights it had before this batch; lower the learning rate or check the data for huge values';

const floats = (list: readonly { value: F32Array }[]) => list.reduce((s, p) => s + p.value.length, 0);

/** Copies every tensor of `list` into `store` ('save') or back ('restore'): a memmove inside wasm memory. */
function copy(list: readonly { value: F32Array }[], store: F32Array, direction: 'save' | 'restore'): void {
  const all = store.view();
  let offset = 0;
  for (const t of list) {
    const v = t.value.view();
    if (direction === 'save') all.set(v, offset);
    else v.set(all.subarray(offset, offset + v.length));
    offset += v.length;
  }
}

export class Checkpoint {
  private readonly paramStore: F32Array;
  private readonly bufferStore: F32Array;
  private states: (Record<string, number> | null)[] = [];
  /** For each of `params` (the layers' parameters in layer order): its layer's index and its name on the layer. */
  private readonly owners: { layer: number; name: string }[] = [];

  constructor(
    private readonly params: readonly NamedParameter[],
    private readonly buffers: readonly NamedBuffer[],
    private readonly layers: readonly Layer[],
  ) {
    layers.forEach((l, i) => l.parameters().forEach((p) => this.owners.push({ layer: i, name: p.name })));
    if (this.owners.length !== params.length) throw new ValueError(`a checkpoint of ${params.length} parameters found ${this.owners.length} in its layers (a wasmnet bug)`);
    this.paramStore = allocF32(floats(params));
    this.bufferStore = allocF32(floats(buffers));
  }

  /** Bytes a checkpoint takes (for refusing a training run up front). */
  static bytes(params: readonly NamedParameter[], buffers: readonly NamedBuffer[]): number {
    return 4 * (floats(params) + floats(buffers));
  }

  /** Before a batch's forward pass: what it and its update may change besides the parameters. */
  beginBatch(): void {
    copy(this.buffers, this.bufferStore, 'save');
    this.states = this.layers.map((l) => l.trainingState());
  }

  /**
   * Throws, with the batch undone, when the batch's loss or any gradient is not finite. `gradientsFinite`: which
   * gradients the gradient tree's last add found finite as it wrote them (`GradientTree.finish`), so that they need
   * no second look.
   */
  checkBeforeUpdate(loss: number, where: string, gradientsFinite: Vouched = false): void {
    const k = kernels();
    let problem: string | null = null;
    if (!Number.isFinite(loss)) problem = `the loss is ${loss}`;
    else if (gradientsFinite !== true) {
      const toCheck = gradientsFinite === false ? this.params : this.params.filter((p) => gradientsFinite.except.has(p.name));
      const bad = toCheck.find((p) => !k.wn_all_finite(p.grad.ptr, p.grad.length));
      if (bad) problem = `the gradient of ${bad.name} is not finite`;
    }
    if (problem === null) return;
    this.undoBatch();
    throw new ValueError(`training stopped: ${problem} ${where}; ${ADVICE}`);
  }

  /** Throws, with the batch undone, for a problem found before the update (e.g. a learning rate that is not a number). */
  refuse(problem: string, where: string): never {
    this.undoBatch();
    throw new ValueError(`training stopped: ${problem} ${where}; ${ADVICE}`);
  }

  /**
   * Runs `update`; if it throws, or any parameter is then not finite, puts
   * the parameters and the batch's other changes back and throws: a batch's
   * update is all or nothing. `update` returns, for each of the layers (in
   * order), whether its optimizer found its new parameters finite as it wrote
   * them: only the others' are checked here.
   */
  guard(update: () => boolean[], where: string): void {
    // What a layer still holds as it was at the step's start (a dense layer's packed w) is not copied aside.
    const kept = this.layers.map((l) => new Set(l.parametersKeptForStep()));
    const saved = this.params.filter((_, j) => !kept[this.owners[j].layer].has(this.owners[j].name));
    const restore = () => {
      copy(saved, this.paramStore, 'restore');
      this.layers.forEach((l, i) => kept[i].size > 0 && l.restoreParametersOfStep());
      this.undoBatch();
    };
    try {
      copy(saved, this.paramStore, 'save');
      let checked: boolean[];
      try {
        checked = update();
      } catch (e) {
        restore();
        throw e;
      }
      const k = kernels();
      const bad = this.params.find((p, j) => checked[this.owners[j].layer] !== true && !k.wn_all_finite(p.value.ptr, p.value.length));
      if (!bad) return;
      restore();
      throw new ValueError(`training stopped: the update made ${bad.name} overflow ${where}; ${ADVICE} (the update is undone)`);
    } finally {
      for (const l of this.layers) l.releaseParametersOfStep();
    }
  }

  /** Puts back what the batch changed besides the parameters, for a step abandoned before its update (a worker failed). */
  undo(): void {
    this.undoBatch();
  }

  private undoBatch(): void {
    copy(this.buffers, this.bufferStore, 'restore');
    this.layers.forEach((l, i) => {
      const s = this.states[i];
      if (s) l.setTrainingState(s);
    });
  }

  free(): void {
    this.paramStore.free();
    this.bufferStore.free();
  }
}
