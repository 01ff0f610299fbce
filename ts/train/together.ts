/**
 * Training steps of a network with a layer that looks across the batch (batch
 * norm, whose statistics are the whole mini-batch's), in shards like every
 * other network (see `shards.ts`), so that any number of workers gives the
 * same bits.
 *
 * Each of a worker's shards runs in a copy of the network of its own
 * (`ShardNets`: its own activations and gradients, the network's parameter
 * values), all of them in step: at each batch-norm layer every shard hands
 * over its per-feature sums, every shard's sums are combined in shard order —
 * across workers, by whoever owns the shards — and every shard goes on with
 * the batch's statistics. The forward pass meets once per batch-norm layer
 * ('stats'), the backward pass once more in reverse order ('grads'), so the
 * exchanges of a step are fixed by the network alone (`exchangePlan`): a
 * worker with no shard of a small batch still takes part.
 */
import { WasmnetError } from '../core/errors.js';
import type { F32Array } from '../core/memory.js';
import { product } from '../core/tensor.js';
import { kernels } from '../core/wasm.js';
import { ActivatedLayer } from '../layers/activated.js';
import { BatchNormLayer } from '../layers/batchnorm.js';
import type { SequentialNet, ShardExchange } from '../network.js';
import { saveForCopies } from './copies.js';
import type { GradientTree } from './shards.js';
import type { GatherRows, ShardPlan } from './step.js';

/** Whether a network trains its batches with `runShardsTogether` (it has a layer that looks across the batch). */
export function trainsTogether(net: SequentialNet): boolean {
  return net.layers.some((l) => l.batchWide);
}

/** One meeting of a step's shards: at which layer, in which pass, and how many f64s each shard hands over. */
export interface ExchangePoint {
  layer: number;
  kind: 'stats' | 'grads';
  floats: number;
}

/** The meetings of every training step of `net`, in order. */
export function exchangePlan(net: SequentialNet): ExchangePoint[] {
  const forward: ExchangePoint[] = [];
  net.layers.forEach((l, i) => {
    if (l instanceof BatchNormLayer) forward.push({ layer: i, kind: 'stats', floats: 2 * l.numFeatures });
  });
  const backward = forward.map((p) => ({ ...p, kind: 'grads' as const })).reverse();
  return [...forward, ...backward];
}

/** The most f64s one shard hands over at any meeting (for sizing shared memory). */
export function maxExchangeFloats(net: SequentialNet): number {
  return exchangePlan(net).reduce((most, p) => Math.max(most, p.floats), 0);
}

/** For the benchmark's per-layer profile: called with each shard's copy of a network as it is made. */
export const shardNetHooks: { onCopy: ((copy: SequentialNet, net: SequentialNet) => void) | null } = { onCopy: null };

/**
 * Copies of a network in training, one per shard a worker runs at once: each
 * computes with the network's own parameter values (borrowed, never copied)
 * and has its own activations and gradients.
 */
export class ShardNets {
  private readonly copies: SequentialNet[] = [];

  constructor(private readonly net: SequentialNet) {}

  /** Bytes the copies take for `shards` shards of `size` samples (for refusing a run up front). */
  static bytes(net: SequentialNet, shards: number, size: number): number {
    const grads = net.parameters().reduce((s, p) => s + 4 * p.grad.length, 0);
    return shards * (net.batchBytes(size) + grads);
  }

  /** `count` copies, made on first need, with the network's training state (dropout's step). */
  take(count: number): SequentialNet[] {
    while (this.copies.length < count) this.copies.push(this.copy());
    const copies = this.copies.slice(0, count);
    for (const copy of copies) {
      copy.layers.forEach((l, i) => {
        const state = this.net.layers[i].trainingState();
        if (state) l.setTrainingState(state);
      });
    }
    return copies;
  }

  /** Copies made so far. */
  get count(): number {
    return this.copies.length;
  }

  free(): void {
    for (const c of this.copies) c.dispose();
    this.copies.length = 0;
  }

  private copy(): SequentialNet {
    const Net = this.net.constructor as typeof SequentialNet;
    const copy = Net.load(saveForCopies(this.net, false));
    copy.layers.forEach((l, i) => {
      l.training = true;
      if (l instanceof ActivatedLayer) l.borrowParametersOf(this.net.layers[i] as ActivatedLayer);
    });
    shardNetHooks.onCopy?.(copy, this.net);
    return copy;
  }
}

/** What `runShardsTogether` yields at each meeting: this worker's shards' sums (in shard order), and their length. */
export interface LocalSums {
  point: ExchangePoint;
  partials: Float64Array[];
}

/**
 * Runs shards [first, end) of a batch in step (see the file's comment). At each
 * meeting it yields this worker's shards' sums and must be given back every
 * shard's, in shard order; in the end each shard's gradient is pushed into
 * `tree` and its loss and right answers are in `losses[i]`, `correct[i]`.
 * The network's batch-norm layers take the batch's statistics into their
 * running ones, once per step, in every replica alike.
 */
export function* runShardsTogether(
  net: SequentialNet,
  shardNets: ShardNets,
  plan: ShardPlan,
  first: number,
  end: number,
  gather: GatherRows,
  labelsAreDistributions: boolean,
  tree: GradientTree,
  losses: { [i: number]: number },
  correct: { [i: number]: number },
): Generator<LocalSums, void, Float64Array[]> {
  const inLen = product(net.inputShape);
  const outLen = product(net.outputShape);
  const shards = Math.ceil(plan.m / plan.size);
  const rowsOf = Array.from({ length: shards }, (_, i) => Math.min(plan.size, plan.m - i * plan.size));
  const copies = shardNets.take(end - first);
  const passes: Generator<ShardExchange, { loss: number; correct: number }, Float64Array>[] = [];
  let begun = 0;
  try {
    for (const layer of net.layers) {
      layer.beginStep();
      begun++;
    }
    copies.forEach((copy, j) => {
      const i = first + j;
      const rows = rowsOf[i];
      const xb = copy.inputBuf.ensure(rows * inLen);
      const yb = copy.labelBuf.ensure(rows * outLen);
      gather(plan.start + i * plan.size, rows, xb, yb);
      passes.push(shardPass(copy, xb, yb, rows, plan.m, i * plan.size, labelsAreDistributions));
    });
    let given: Float64Array | undefined;
    for (const point of exchangePlan(net)) {
      const partials = passes.map((pass, j) => {
        const r = pass.next(given!);
        if (r.done || r.value.layer !== point.layer || r.value.kind !== point.kind) {
          throw new WasmnetError(`shard ${first + j} did not reach layer ${point.layer}'s ${point.kind} exchange (a wasmnet bug)`);
        }
        return r.value.partial;
      });
      const all = yield { point, partials };
      if (all.length !== shards) throw new WasmnetError(`a batch of ${shards} shards got ${all.length} shards' sums (a wasmnet bug)`);
      const layer = net.layers[point.layer] as BatchNormLayer;
      if (point.kind === 'stats') {
        given = layer.combineStats(all, rowsOf);
        layer.acceptStats(given);
      } else {
        given = layer.combineGradSums(all);
      }
    }
    passes.forEach((pass, j) => {
      const r = pass.next(given!);
      if (!r.done) throw new WasmnetError(`shard ${first + j} asked for an exchange no layer plans (a wasmnet bug)`);
      losses[first + j] = r.value.loss;
      correct[first + j] = r.value.correct;
      tree.pushShard(first + j, copies[j].parameters());
    });
  } finally {
    for (const pass of passes) pass.return(undefined as never);
    for (let i = 0; i < begun; i++) net.layers[i].endStep();
  }
}

/** One shard's forward and backward pass in its own copy of the network; it stops at every meeting. */
function* shardPass(
  copy: SequentialNet,
  xb: F32Array,
  yb: F32Array,
  rows: number,
  m: number,
  offset: number,
  labelsAreDistributions: boolean,
): Generator<ShardExchange, { loss: number; correct: number }, Float64Array> {
  const out = yield* copy.forwardShard(xb, rows, offset);
  const right = kernels().wn_count_correct(out.ptr, yb.ptr, rows, product(copy.outputShape));
  const { loss } = yield* copy.backwardSteps(yb, rows, m, false, labelsAreDistributions, false, true);
  return { loss, correct: right };
}

/** Drives `runShardsTogether` in one thread that holds every shard: each meeting's sums are all the sums. */
export function runAllShardsTogether(...args: Parameters<typeof runShardsTogether>): void {
  const steps = runShardsTogether(...args);
  for (let r = steps.next(); !r.done; r = steps.next(r.value.partials));
}
