/**
 * Training in a Web Worker (the `wasmnet/worker` module): the page stays
 * responsive while the network trains. Start it with
 * `new Worker(new URL('wasmnet/worker', import.meta.url), { type: 'module' })`
 * (or the file's URL in a static folder) and drive it with `trainInWorker`.
 *
 * The request names a zoo model (`model`, default 'course') or carries a model
 * file to continue from (`modelFile`).
 *
 * Protocol: the page posts a `TrainRequest`; the worker answers with
 * `progress` messages per batch and epoch, then `done` with the trained model
 * file (`net.save()` bytes, transferred, not copied) or `error`.
 */
import { init } from './core/wasm.js';
import { Tensor } from './core/tensor.js';
import { ValueError, WasmnetError, show } from './core/errors.js';
import { type ModelName, modelZoo } from './models.js';
import { SequentialNet } from './network.js';
import type { TrainRequest, WorkerMessage } from './worker-protocol.js';
import type { ReplicaRequest } from './parallel/protocol.js';
import { serveReplica } from './parallel/replica.js';
import { suggestionAfter } from './core/words.js';

// What `wasmnet/worker` exports to TypeScript: its message protocol (the module itself only listens).
export type { TrainRequest, WorkerMessage } from './worker-protocol.js';

/** The network a request asks for: its model file, or the named zoo model built with its seed and learning rate. */
function networkFor(r: TrainRequest): SequentialNet {
  if (r.modelFile !== undefined && r.model !== undefined) {
    throw new ValueError(`give either model (a zoo name) or modelFile (a saved network), not both; got model ${show(r.model)} and modelFile ${show(r.modelFile)}`);
  }
  if (r.modelFile !== undefined) return SequentialNet.load(r.modelFile);
  const name: ModelName = r.model ?? 'course';
  if (!Object.prototype.hasOwnProperty.call(modelZoo, name)) {
    throw new ValueError(`model must be one of ${Object.keys(modelZoo).map((k) => JSON.stringify(k)).join(', ')}, got ${show(name)}${suggestionAfter(String(name), Object.keys(modelZoo))}`);
  }
  return modelZoo[name]({ seed: r.seed, lr: r.lr });
}

if (typeof self === 'undefined') {
  throw new WasmnetError("wasmnet/worker is a module Web Worker for browsers: start it with new Worker(…, { type: 'module' }); in Node, train({ workers }) starts workers itself");
}

const post = (message: WorkerMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(message, transfer);

// This worker is also a replica for data-parallel training (`train({ workers })` in a page): one request at a time, in order.
const serve = serveReplica(
  (m, transfer) => post(m as never, transfer),
  () => self.close(),
);
let replicaQueue: Promise<void> = Promise.resolve();

self.addEventListener('message', async (event: MessageEvent<TrainRequest | ReplicaRequest>) => {
  const r = event.data;
  if (typeof r?.type === 'string' && r.type.startsWith('replica-')) {
    replicaQueue = replicaQueue.then(() => serve(r as ReplicaRequest));
    return;
  }
  if (r?.type !== 'train') return;
  let net: SequentialNet | null = null;
  try {
    await init(r.wasm ? { wasm: r.wasm } : {});
    net = networkFor(r);
    const x = new Tensor(r.x, r.xShape);
    const y = new Tensor(r.y, r.yShape);
    const history = await net.train(x, y, {
      batchSize: r.batchSize,
      epochs: r.epochs,
      workers: r.workers,
      validationData: r.validation ? [new Tensor(r.validation.x, r.validation.xShape), new Tensor(r.validation.y, r.validation.yShape)] : undefined,
      onBatch: (info) => post({ type: 'batch', info }),
      onEpoch: (stats) => post({ type: 'epoch', stats }),
    });
    const model = net.save({ meta: { model: r.modelFile ? 'file' : (r.model ?? 'course'), epochs: r.epochs, batchSize: r.batchSize, trainedIn: 'worker' } });
    post({ type: 'done', model, history }, [model.buffer]);
  } catch (e) {
    post({ type: 'error', name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) });
  } finally {
    net?.dispose();
  }
});
