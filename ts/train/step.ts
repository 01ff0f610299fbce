/**
 * One training step's work on a range of shards (see `shards.ts`): forward
 * and backward per shard, each shard's gradient from zero, pushed into the
 * gradient tree. The same code runs in-process (all shards) and in each
 * worker (its shards), which is why the result does not depend on the number
 * of workers.
 */
import { product } from '../core/tensor.js';
import { kernels } from '../core/wasm.js';
import type { F32Array } from '../core/memory.js';
import type { SequentialNet } from '../network.js';
import { ValueError } from '../core/errors.js';
import type { Checkpoint } from './guards.js';
import type { Vouched } from './shards.js';

/** Fills `xb` and `yb` with `rows` samples: those at positions `from` … `from + rows − 1` of the epoch's order. */
export type GatherRows = (from: number, rows: number, xb: F32Array, yb: F32Array) => void;

export interface ShardPlan {
  /** Samples in the batch (the loss is a mean over them). */
  m: number;
  /** Position of the batch's first sample in the epoch's order. */
  start: number;
  /** Samples per shard. */
  size: number;
}

/** Where each shard's gradient goes: `before(i, rows)` runs before shard i's passes (to choose where its gradient is written), `took(i)` after them. */
export interface ShardSink {
  before(shard: number, rows: number): void;
  took(shard: number): void;
}

/**
 * Runs a batch's shards `shards` (in the order given; a worker's own run, then those it claims); shard i's loss
 * (its share of the batch mean) and its number of right answers go to `losses[i]` and `correct[i]`, and
 * `sink.took(i)` runs once shard i's gradient is in the parameters' `grad` (to push it into the gradient tree, or
 * hand it over), before the next shard's backward pass replaces it. With `sink` null the batch is one shard and
 * its gradient stays in the parameters as the backward pass left it.
 */
export function runShards(
  net: SequentialNet,
  plan: ShardPlan,
  shards: Iterable<number>,
  gather: GatherRows,
  labelsAreDistributions: boolean,
  sink: ShardSink | null,
  losses: { [i: number]: number },
  correct: { [i: number]: number },
): void {
  const k = kernels();
  const inLen = product(net.inputShape);
  const outLen = product(net.outputShape);
  net.inStep(() => {
    for (const i of shards) {
      const offset = i * plan.size;
      const rows = Math.min(plan.size, plan.m - offset);
      const xb = net.inputBuf.ensure(rows * inLen);
      const yb = net.labelBuf.ensure(rows * outLen);
      gather(plan.start + offset, rows, xb, yb);
      sink?.before(i, rows);
      const out = net.forwardBuffer(xb, rows, true, offset);
      correct[i] = k.wn_count_correct(out.ptr, yb.ptr, rows, outLen);
      losses[i] = net.backwardBuffer(yb, rows, plan.m, false, labelsAreDistributions, false).loss;
      sink?.took(i);
    }
  });
}

/** Shards first … end − 1. */
export function* shardRange(first: number, end: number): Generator<number> {
  for (let i = first; i < end; i++) yield i;
}

/**
 * Applies the batch's gradient (in the parameters) to every layer, all or
 * nothing: the loss and gradients are checked, then every optimizer's rate,
 * before any layer moves; an update that overflows is undone.
 */
export function applyUpdate(net: SequentialNet, checkpoint: Checkpoint, loss: number, where: string, gradientsFinite: Vouched = false): void {
  checkpoint.checkBeforeUpdate(loss, where, gradientsFinite);
  for (const layer of net.layers) {
    for (const opt of layer.optimizers()) {
      try {
        opt.checkedLr();
      } catch (e) {
        if (e instanceof ValueError) checkpoint.refuse(e.message, where);
        throw e;
      }
    }
  }
  checkpoint.guard(() => net.layers.map((layer) => layer.update() === true), where);
}
