/**
 * The training loop: epochs, shuffled mini-batches gathered in wasm memory,
 * each batch's gradient computed in chunks, callbacks, the learning-rate
 * schedule, and the guards that keep a bad batch away from the weights.
 */
import { ValueError, checkInt, optionsObject, show } from '../core/errors.js';
import { allocF32, allocU32, ensureFits } from '../core/memory.js';
import { type Tensor, product } from '../core/tensor.js';
import { kernels } from '../core/wasm.js';
import { rowsAreDistributions } from '../losses.js';
import type { SequentialNet } from '../network.js';
import { Checkpoint } from './guards.js';
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
}

export const TRAIN_OPTIONS = ['batchSize', 'epochs', 'shuffle', 'lrSchedule', 'validationData', 'onBatch', 'onEpoch'] as const;

/**
 * Training computes each batch's gradient in chunks of at most this many
 * samples, adding up the parameter gradients: the same gradient step (the
 * float sums run in another order), with a chunk's activations in cache.
 * A network with a layer that looks across the batch (batch norm) takes each
 * batch whole instead, so its statistics are the mini-batch's.
 */
export const TRAIN_CHUNK = 64;

/** Yield to the event loop at most this often while training, so pages and progress bars stay alive. */
const YIELD_MS = 50;

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
  const chunk = layers.some((l) => l.batchWide) ? batchSize : TRAIN_CHUNK;
  const params = net.parameters();
  const buffers = net.buffers();
  // Dataset, shuffled order, a checkpoint of the weights and the chunk buffers, refused up front.
  ensureFits(4 * (x.size + y.size + n) + Checkpoint.bytes(params, buffers) + net.batchBytes(Math.min(n, batchSize, chunk)), `training on ${n} samples in batches of ${batchSize}`);
  const optimizers = [...new Set(layers.flatMap((l) => l.optimizers()))];
  const k = kernels();
  const inLen = product(net.inputShape);
  const outLen = product(net.outputShape);
  const fused = rowsAreDistributions(y);
  const xs = allocF32(x.size);
  const ys = allocF32(y.size);
  const order = allocU32(n);
  const checkpoint = new Checkpoint(params, buffers, layers);
  const modes = layers.map((l) => l.training);
  const history: EpochStats[] = [];
  try {
    xs.set(x.data);
    ys.set(y.data);
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
      order.set(perm);
      let lossSum = 0;
      let correct = 0;
      for (let b = 0; b < batches; b++) {
        const start = b * batchSize;
        const m = Math.min(batchSize, n - start);
        // One gradient step, computed in chunks: forward and backward run chunk by chunk and
        // the parameter gradients add up, so each chunk's activations stay in cache.
        let loss = 0;
        let right = 0;
        checkpoint.beginBatch();
        for (let c = 0; c < m; c += chunk) {
          const rows = Math.min(chunk, m - c);
          const xb = net.inputBuf.ensure(rows * inLen);
          const yb = net.labelBuf.ensure(rows * outLen);
          k.wn_gather_rows(xs.ptr, n, inLen, order.ptr + 4 * (start + c), rows, xb.ptr);
          k.wn_gather_rows(ys.ptr, n, outLen, order.ptr + 4 * (start + c), rows, yb.ptr);
          const out = net.forwardBuffer(xb, rows, true, c);
          right += k.wn_count_correct(out.ptr, yb.ptr, rows, outLen);
          loss += net.backwardBuffer(yb, rows, m, false, fused, c > 0).loss;
        }
        const where = `at epoch ${epoch}, batch ${b + 1} of ${batches}`;
        checkpoint.checkBeforeUpdate(loss, where);
        checkpoint.guard(() => {
          for (const layer of layers) layer.update();
        }, where);
        lossSum += loss * m;
        correct += right;
        onBatch?.({ epoch, batch: b, batches, size: m, loss, accuracy: right / m });
        if (Date.now() - lastYield > YIELD_MS) {
          await new Promise((r) => setTimeout(r, 0));
          net.assertReady();
          lastYield = Date.now();
        }
      }
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
      onEpoch?.(stats);
    }
  } finally {
    if (!net.isDisposed) layers.forEach((l, i) => (l.training = modes[i]));
    for (const opt of optimizers) opt.scheduledLr = null;
    xs.free();
    ys.free();
    order.free();
    checkpoint.free();
  }
  return history;
}
