/** Messages between a page and the training worker (`ts/worker.ts`). */
import type { BatchInfo, EpochStats } from './train/loop.js';

export interface TrainRequest {
  type: 'train';
  /** Training images and labels, as Tensor data and shapes (transfer the buffers to avoid a copy). */
  x: Float32Array;
  xShape: number[];
  y: Float32Array;
  yShape: number[];
  validation?: { x: Float32Array; xShape: number[]; y: Float32Array; yShape: number[] };
  /** A model file to continue from; without it the course's CNN is built with `seed` and `lr`. */
  model?: Uint8Array;
  seed?: number;
  lr?: number;
  batchSize?: number;
  epochs?: number;
  /** Where the worker loads the .wasm from, if not beside its own module. */
  wasm?: string;
}

export type WorkerMessage =
  | { type: 'batch'; info: BatchInfo }
  | { type: 'epoch'; stats: EpochStats }
  | { type: 'done'; model: Uint8Array; history: EpochStats[] }
  | { type: 'error'; name: string; message: string };
