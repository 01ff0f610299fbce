/** Messages between a page and the training worker (`ts/worker.ts`). */
import type { ModelName } from './models.js';
import type { BatchInfo, EpochStats } from './train/loop.js';

/** The message that starts training in the worker (`trainInWorker` sends it). */
export interface TrainRequest {
  /** The message kind. */
  type: 'train';
  /** Training images and labels, as Tensor data and shapes (transfer the buffers to avoid a copy). */
  x: Float32Array;
  /** Shape of `x`. */
  xShape: number[];
  /** Labels, one row per sample. */
  y: Float32Array;
  /** Shape of `y`. */
  yShape: number[];
  /** Validation data, evaluated after each epoch. */
  validation?: { x: Float32Array; xShape: number[]; y: Float32Array; yShape: number[] };
  /** The zoo model (`modelZoo` in `ts/models.ts`) to build with `seed` and `lr`; default 'course'. */
  model?: ModelName;
  /** A model file (`net.save()` bytes) to continue training from, instead of building `model`. */
  modelFile?: Uint8Array;
  /** Seed of the model and its training. */
  seed?: number;
  /** Learning rate of the zoo model. */
  lr?: number;
  /** Samples per batch. */
  batchSize?: number;
  /** Epochs to train. */
  epochs?: number;
  /** Replica workers the worker trains with (`train`'s `workers`); they need a cross-origin isolated page. */
  workers?: number | 'auto';
  /** Where the worker loads the .wasm from, if not beside its own module. */
  wasm?: string;
}

/**
 * What the worker sends back: `batch` and `epoch` progress, `done` with the model file and the
 * history, or `error` with the error's class name and message.
 */
export type WorkerMessage =
  | { type: 'batch'; info: BatchInfo }
  | { type: 'epoch'; stats: EpochStats }
  | { type: 'done'; model: Uint8Array; history: EpochStats[] }
  | { type: 'error'; name: string; message: string };
