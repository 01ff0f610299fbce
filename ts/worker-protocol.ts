/** Messages between a page and the training worker (`ts/worker.ts`). */
import type { ModelName } from './models.js';
import type { BatchInfo, EpochStats } from './train/loop.js';

export interface TrainRequest {
  type: 'train';
  /** Training images and labels, as Tensor data and shapes (transfer the buffers to avoid a copy). */
  x: Float32Array;
  xShape: number[];
  y: Float32Array;
  yShape: number[];
  validation?: { x: Float32Array; xShape: number[]; y: Float32Array; yShape: number[] };
  /** The zoo model (`modelZoo` in `ts/models.ts`) to build with `seed` and `lr`; default 'course'. */
  model?: ModelName;
  /** A model file (`net.save()` bytes) to continue training from, instead of building `model`. */
  modelFile?: Uint8Array;
  seed?: number;
  lr?: number;
  batchSize?: number;
  epochs?: number;
  /** Replica workers the worker trains with (`train`'s `workers`); they need a cross-origin isolated page. */
  workers?: number | 'auto';
  /** Where the worker loads the .wasm from, if not beside its own module. */
  wasm?: string;
}

export type WorkerMessage =
  | { type: 'batch'; info: BatchInfo }
  | { type: 'epoch'; stats: EpochStats }
  | { type: 'done'; model: Uint8Array; history: EpochStats[] }
  | { type: 'error'; name: string; message: string };
