/**
 * The training loop: epochs, shuffled mini-batches gathered in wasm memory,
 * each batch's gradient computed in chunks, callbacks, the learning-rate
 * schedule, and the guards that keep a bad batch away from the weights.
 */
import { ValueError, checkInt, optionsObject, show } from '../core/errors.js';
import { type F32Array, type U32Array, allocF32, allocU32, ensureFits } from '../core/memory.js';
import { type Tensor, product } from '../core/tensor.js';
import { kernels } from '../core/wasm.js';
import type { NamedBuffer, NamedParameter } from '../layers/layer.js';
import { rowsAreDistributions } from '../losses.js';
import type { SequentialNet } from '../network.js';
import { resolveWorkers, startWorkerPool } from '../parallel/pool.js';
import { Checkpoint } from './guards.js';
import { GradientTree, type Vouched, shardCount, shardSize } from './shards.js';
import { ShardNets, runAllShardsTogether, trainsTogether } from './together.js';
import { type GatherRows, applyUpdate, runShards, shardRange } from './step.js';
import { type LrFunction, type LrSchedule, asLrSchedule } from './schedules.js';

/** What `onBatch` receives after each batch. */
export interface BatchInfo {
  /** Epoch number: the network's `epochsTrained` + 1 for the first epoch of a `train` call. */
  epoch: number;
  /** Batch index within the epoch, from 0. */
  batch: number;
  /** Batches in the epoch. */
  batches: number;
  /** Samples in this batch. */
  size: number;
  /** The batch's mean loss. */
  loss: number;
  /** The batch's accuracy. */
  accuracy: number;
}

/** What `train` resolves to per epoch, and what `onEpoch` receives. */
export interface EpochStats {
  /** Epoch number, counted over the network's whole life (from 1; a loaded model continues its count). */
  epoch: number;
  /** Mean training loss over the epoch's batches, weighted by batch size. */
  loss: number;
  /** Training accuracy over the epoch (argmax of output = argmax of label), measured during the pass. */
  accuracy: number;
  /** The learning rate of the first layer's optimizer during this epoch. */
  lr: number;
  /** Wall time of the epoch, in seconds. */
  seconds: number;
  /** Training samples per second. */
  imagesPerSecond: number;
  /** Loss and accuracy on `validationData`, when given. */
  valLoss?: number;
  /** Accuracy on `validationData`, when given. */
  valAccuracy?: number;
}

/** Options of `SequentialNet.train`. */
export interface TrainOptions {
  /** Samples per gradient step (default 32); the last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Epochs to train now (default 1). */
  epochs?: number;
  /** Reshuffle the samples before each epoch (default true), from the network's seeded generator. */
  shuffle?: boolean;
  /**
   * The learning rate per epoch: a schedule (`new StepDecay(…)`,
   * `new CosineAnnealing(…)`, …) or a function `(epoch, baseLr) => lr` with
   * `epoch` counted from 0 over the network's life. `baseLr` is each
   * optimizer's own `lr`, which the schedule leaves as it is (it sets
   * `scheduledLr`), so a model file saved at any time stores the base rate.
   */
  lrSchedule?: LrSchedule | LrFunction;
  /** `[x, y]` evaluated after every epoch. */
  validationData?: readonly [Tensor, Tensor];
  /** Called after each batch. */
  onBatch?: (info: BatchInfo) => void;
  /** Called after each epoch. */
  onEpoch?: (stats: EpochStats) => void;
  /**
   * Workers computing each batch (default 1: in this thread): an integer ≥ 1,
   * or 'auto' for the cores available (`os.availableParallelism()` in Node,
   * `navigator.hardwareConcurrency` in browsers). Every worker holds a
   * replica of the network and computes a share of each batch's shards; the
   * trained weights are the same bits for any number of workers. With more
   * than one, the network's own weights are brought up to date at the end of
   * each epoch (before `onEpoch`) and when `train` ends, not after every batch.
   * The workers are kept idle for 10 s after `train` resolves, for the next
   * call (of any network) with as many; `dispose()` ends them.
   */
  workers?: number | 'auto';
}

export const TRAIN_OPTIONS = ['batchSize', 'epochs', 'shuffle', 'lrSchedule', 'validationData', 'onBatch', 'onEpoch', 'workers'] as const;

/** A step the loop will take next: its first position in the epoch's order, its size, and how errors name it. */
export interface NextStep {
  start: number;
  m: number;
  where: string;
}

/**
 * What computes a training step and applies its update: this thread
 * (`InProcessSteps`) or a pool of workers (`parallel/pool.ts`). `step`
 * either applies the whole update or throws with the network as it was.
 */
export interface StepEngine {
  /** The epoch's sample order is `order` (positions index into it). */
  beginEpoch(order: Uint32Array): void | Promise<void>;
  /** `next`: the epoch's next step, which an engine may start before this one is over (its workers then never wait for a message). */
  step(start: number, m: number, where: string, next?: NextStep): { loss: number; correct: number } | Promise<{ loss: number; correct: number }>;
  /** Brings the network's own weights and training state up to date. */
  sync(): void | Promise<void>;
  close(): void | Promise<void>;
}


/** Yield to the event loop at most this often while training, so pages and progress bars stay alive. */
const YIELD_MS = 50;

/**
 * Lets other work run (timers, I/O, a page's events, a `dispose()` from elsewhere). Node's setImmediate does
 * that without setTimeout's 1 ms minimum (2 % of training time at 50 ms between yields); browsers keep
 * setTimeout, which leaves a page room to render.
 */
function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}

export async function trainNetwork(net: SequentialNet, x: Tensor, y: Tensor, options: TrainOptions): Promise<EpochStats[]> {
  const o = optionsObject('train options', options, TRAIN_OPTIONS);
  const { batchSize = 32, epochs = 1, shuffle = true, validationData, onBatch, onEpoch } = o;
  const n = net.checkPair(x, y);
  checkInt('batchSize', batchSize);
  checkInt('epochs', epochs);
  if (typeof shuffle !== 'boolean') throw new ValueError(`shuffle must be true or false, got ${show(shuffle)}`);
  if (onBatch !== undefined && typeof onBatch !== 'function') throw new ValueError(`onBatch must be a function, got ${show(onBatch)}`);
  if (onEpoch !== undefined && typeof onEpoch !== 'function') throw new ValueError(`onEpoch must be a function, got ${show(onEpoch)}`);
  const schedule = o.lrSchedule === undefined ? null : asLrSchedule(o.lrSchedule);
  if (validationData !== undefined) {
    if (!Array.isArray(validationData) || validationData.length !== 2) {
      throw new ValueError(`validationData must be [x, y], got ${show(validationData)}`);
    }
    net.checkPair(validationData[0], validationData[1], 'validationData');
  }
  const layers = net.layers;
  // Before anything is trained: every batch size the epochs will use (the last batch holds the remainder).
  for (const size of new Set([Math.min(n, batchSize), n % batchSize || batchSize])) for (const l of layers) l.checkTrainingBatch(size);
  const params = net.parameters();
  const buffers = net.buffers();
  const workers = await resolveWorkers(o.workers);
  const optimizers = [...new Set(layers.flatMap((l) => l.optimizers()))];
  const engine: StepEngine =
    workers > 1 ? await startWorkerPool(net, x, y, workers, rowsAreDistributions(y), batchSize) : new InProcessSteps(net, x, y, params, buffers, batchSize);
  const modes = layers.map((l) => l.training);
  const history: EpochStats[] = [];
  try {
    // Each epoch shuffles the previous epoch's order (as since 0.1.0); the order lives on the network,
    // so that training in several calls, or after save and load, continues it exactly.
    const perm = net.sampleOrder(n);
    const batches = Math.ceil(n / batchSize);
    let lastYield = Date.now();
    for (let e = 0; e < epochs; e++) {
      const epoch = net.epochsTrained + 1;
      for (const opt of optimizers) opt.scheduledLr = schedule ? schedule.lrAt(epoch - 1, opt.lr) : null;
      for (const l of layers) l.training = true;
      const started = performance.now();
      if (shuffle) net.shuffleRng.shuffle(perm);
      await engine.beginEpoch(perm);
      let lossSum = 0;
      let correct = 0;
      const stepAt = (b: number): NextStep => ({ start: b * batchSize, m: Math.min(batchSize, n - b * batchSize), where: `at epoch ${epoch}, batch ${b + 1} of ${batches}` });
      for (let b = 0, next: NextStep | undefined = stepAt(0); next; b++) {
        const { start, m, where } = next;
        next = b + 1 < batches ? stepAt(b + 1) : undefined;
        const r = await engine.step(start, m, where, next);
        lossSum += r.loss * m;
        correct += r.correct;
        if (onBatch) {
          onBatch({ epoch, batch: b, batches, size: m, loss: r.loss, accuracy: r.correct / m });
          // A callback may dispose the network: stop before the next batch allocates anything.
          net.assertReady();
        }
        if (Date.now() - lastYield > YIELD_MS) {
          await yieldToEventLoop();
          net.assertReady();
          lastYield = Date.now();
        }
      }
      await engine.sync();
      const seconds = (performance.now() - started) / 1000;
      net.epochsTrained = epoch;
      const lr = optimizers.length > 0 ? optimizers[0].effectiveLr : 0;
      const stats: EpochStats = { epoch, loss: lossSum / n, accuracy: correct / n, lr, seconds, imagesPerSecond: n / seconds };
      if (validationData) {
        const [vx, vy] = validationData;
        const v = net.measure(vx, vy);
        stats.valLoss = v.loss;
        stats.valAccuracy = v.accuracy;
      }
      history.push(stats);
      if (onEpoch) {
        onEpoch(stats);
        net.assertReady();
      }
    }
  } finally {
    await engine.close();
    if (!net.isDisposed) layers.forEach((l, i) => (l.training = modes[i]));
    for (const opt of optimizers) opt.scheduledLr = null;
  }
  return history;
}

/**
 * Steps in this thread: the dataset copied into wasm memory once, each batch
 * gathered there by the epoch's order, its shards run one after the other.
 */
class InProcessSteps implements StepEngine {
  private readonly xs: F32Array;
  private readonly ys: F32Array;
  private readonly order: U32Array;
  private readonly checkpoint: Checkpoint;
  private readonly tree: GradientTree;
  private readonly fused: boolean;
  /** A network whose batch-norm layers need every shard's statistics: one copy per shard (`together.ts`). */
  private readonly shardNets: ShardNets | null;
  private readonly losses: number[] = [];
  private readonly correct: number[] = [];

  constructor(
    private readonly net: SequentialNet,
    x: Tensor,
    y: Tensor,
    params: NamedParameter[],
    buffers: NamedBuffer[],
    batchSize: number,
  ) {
    const n = x.shape[0];
    const m = Math.min(n, batchSize);
    // Dataset, shuffled order, a checkpoint, the gradient tree and the shard buffers, refused up front.
    const size = shardSize(m);
    const shardBytes = trainsTogether(net) ? ShardNets.bytes(net, shardCount(m), size) : net.batchBytes(size);
    ensureFits(
      4 * (x.size + y.size + n) + Checkpoint.bytes(params, buffers) + GradientTree.bytes(params, shardCount(m)) + shardBytes,
      `training on ${n} samples in batches of ${batchSize}`,
    );
    this.shardNets = trainsTogether(net) ? new ShardNets(net) : null;
    this.fused = rowsAreDistributions(y);
    this.xs = allocF32(x.size);
    this.ys = allocF32(y.size);
    this.order = allocU32(n);
    this.checkpoint = new Checkpoint(params, buffers, net.layers);
    this.tree = new GradientTree(params);
    this.xs.set(x.data);
    this.ys.set(y.data);
  }

  beginEpoch(order: Uint32Array): void {
    this.order.set(order);
  }

  step(start: number, m: number, where: string): { loss: number; correct: number } {
    const { net, checkpoint, tree, losses, correct } = this;
    const k = kernels();
    const n = this.order.length;
    const inLen = product(net.inputShape);
    const outLen = product(net.outputShape);
    const size = shardSize(m);
    const shards = Math.ceil(m / size);
    const gather: GatherRows = (from, rows, xb, yb) => {
      k.wn_gather_rows(this.xs.ptr, n, inLen, this.order.ptr + 4 * from, rows, xb.ptr);
      k.wn_gather_rows(this.ys.ptr, n, outLen, this.order.ptr + 4 * from, rows, yb.ptr);
    };
    checkpoint.beginBatch();
    tree.reset(shards);
    let gradientsFinite: Vouched = false;
    try {
      if (this.shardNets) {
        runAllShardsTogether(net, this.shardNets, { m, start, size }, 0, shards, gather, this.fused, tree, losses, correct);
        gradientsFinite = tree.finish();
      } else {
        runShards(net, { m, start, size }, shardRange(0, shards), gather, this.fused, shards > 1 ? { before: (i, rows) => tree.prepareShard(i, rows, i + 1 < shards), took: (i) => tree.pushShard(i) } : null, losses, correct);
        if (shards > 1) gradientsFinite = tree.finish();
      }
    } catch (e) {
      tree.reset(); // the parameters' own gradient buffers back, if a shard's were in the tree's
      checkpoint.undo(); // batch norm's running statistics as they were: the batch never happened
      throw e;
    }
    let loss = 0;
    let right = 0;
    for (let i = 0; i < shards; i++) {
      loss += losses[i];
      right += correct[i];
    }
    applyUpdate(net, checkpoint, loss, where, gradientsFinite);
    return { loss, correct: right };
  }

  sync(): void {}

  close(): void {
    this.xs.free();
    this.ys.free();
    this.order.free();
    this.checkpoint.free();
    this.tree.free();
    this.shardNets?.free();
  }
}
