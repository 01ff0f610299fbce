/** The page's side of training in a Web Worker (see `ts/worker.ts`). */
import { DisposedError, InitError, OutOfMemoryError, ShapeError, ValueError, WasmnetError, optionsObject } from './core/errors.js';
import type { Tensor } from './core/tensor.js';
import type { ModelName } from './models.js';
import type { EpochStats, TrainOptions } from './train/loop.js';
import type { TrainRequest, WorkerMessage } from './worker-protocol.js';

/** Options of `trainInWorker`. */
export interface WorkerTrainOptions extends Pick<TrainOptions, 'batchSize' | 'epochs' | 'validationData' | 'onBatch' | 'onEpoch' | 'workers'> {
  /** Seeds the model and its training. */
  seed?: number;
  /** Adam's learning rate for the zoo model. */
  lr?: number;
  /** The zoo model to build: 'course' (default), 'lenet5' or 'vgg-mini' (see `modelZoo`). */
  model?: ModelName;
  /** A model file (`net.save()` bytes) to continue training from, instead of building `model`. */
  modelFile?: Uint8Array;
  /** Where the worker loads the .wasm from, if not beside its own module. */
  wasm?: string;
}

const WORKER_TRAIN_OPTIONS = ['batchSize', 'epochs', 'validationData', 'onBatch', 'onEpoch', 'workers', 'seed', 'lr', 'model', 'modelFile', 'wasm'];

/**
 * What to post for `a` so that only its own values cross: a view onto part
 * of a larger buffer (`Tensor.slice()`) is copied and the copy transferred
 * (posting the view would clone the whole buffer behind it); an array that
 * is its whole buffer is cloned once; shared memory is shared.
 */
function ownRows(a: Float32Array, transfer: Transferable[]): Float32Array {
  if (a.buffer instanceof SharedArrayBuffer || (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength)) return a;
  const copy = a.slice();
  transfer.push(copy.buffer);
  return copy;
}

// The worker sends errors as name + message; the page gets the same class back (a ValueError stays a ValueError).
const ERROR_CLASSES: Record<string, new (message: string) => WasmnetError> = { ShapeError, ValueError, DisposedError, OutOfMemoryError, InitError };

/**
 * Trains a zoo model (`options.model`, the course's CNN by default) or the
 * network in `options.modelFile` on `(x, y)` in `worker` and resolves to the
 * trained model file and the history; load it with `SequentialNet.load`.
 * Only the tensors' own values cross to the worker (a `slice()` view does
 * not take the buffer behind it along). An error in the worker rejects
 * with the same error class (e.g. ValueError for an unknown model name).
 */
export async function trainInWorker(worker: Worker, x: Tensor, y: Tensor, options: WorkerTrainOptions = {}): Promise<{ model: Uint8Array; history: EpochStats[] }> {
  const { onBatch, onEpoch, validationData, ...settings } = optionsObject('trainInWorker options', options, WORKER_TRAIN_OPTIONS);
  const transfer: Transferable[] = [];
  const request: TrainRequest = {
    type: 'train',
    x: ownRows(x.data, transfer),
    xShape: [...x.shape],
    y: ownRows(y.data, transfer),
    yShape: [...y.shape],
    validation: validationData
      ? {
          x: ownRows(validationData[0].data, transfer),
          xShape: [...validationData[0].shape],
          y: ownRows(validationData[1].data, transfer),
          yShape: [...validationData[1].shape],
        }
      : undefined,
    ...settings,
  };
  return new Promise((resolve, reject) => {
    const listener = (event: MessageEvent<WorkerMessage>) => {
      const m = event.data;
      if (m.type === 'batch') onBatch?.(m.info);
      else if (m.type === 'epoch') onEpoch?.(m.stats);
      else {
        worker.removeEventListener('message', listener);
        if (m.type === 'done') resolve({ model: m.model, history: m.history });
        else {
          const ErrorClass = ERROR_CLASSES[m.name];
          reject(ErrorClass ? new ErrorClass(`training in the worker failed: ${m.message}`) : new WasmnetError(`training in the worker failed: ${m.name}: ${m.message}`));
        }
      }
    };
    worker.addEventListener('message', listener);
    worker.addEventListener('error', (e) => reject(new WasmnetError(`the training worker failed to start: ${e.message}`)), { once: true });
    worker.postMessage(request, transfer);
  });
}
