/**
 * Training in a Web Worker (the `wasmnet/worker` module): the page stays
 * responsive while the network trains. Start it with
 * `new Worker(new URL('wasmnet/worker', import.meta.url), { type: 'module' })`
 * (or the file's URL in a static folder) and drive it with `trainInWorker`.
 *
 * Protocol: the page posts a `TrainRequest`; the worker answers with
 * `progress` messages per batch and epoch, then `done` with the trained model
 * file (`net.save()` bytes, transferred, not copied) or `error`.
 */
import { init } from './core/wasm.js';
import { Tensor } from './core/tensor.js';
import { courseCnn } from './models.js';
import { SequentialNet } from './network.js';
import type { TrainRequest, WorkerMessage } from './worker-protocol.js';

const post = (message: WorkerMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(message, transfer);

self.addEventListener('message', async (event: MessageEvent<TrainRequest>) => {
  const r = event.data;
  if (r?.type !== 'train') return;
  let net: SequentialNet | null = null;
  try {
    await init(r.wasm ? { wasm: r.wasm } : {});
    net = r.model ? SequentialNet.load(r.model) : courseCnn({ seed: r.seed, lr: r.lr });
    const x = new Tensor(r.x, r.xShape);
    const y = new Tensor(r.y, r.yShape);
    const history = await net.train(x, y, {
      batchSize: r.batchSize,
      epochs: r.epochs,
      validationData: r.validation ? [new Tensor(r.validation.x, r.validation.xShape), new Tensor(r.validation.y, r.validation.yShape)] : undefined,
      onBatch: (info) => post({ type: 'batch', info }),
      onEpoch: (stats) => post({ type: 'epoch', stats }),
    });
    const model = net.save({ meta: { epochs: r.epochs, batchSize: r.batchSize, trainedIn: 'worker' } });
    post({ type: 'done', model, history }, [model.buffer]);
  } catch (e) {
    post({ type: 'error', name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) });
  } finally {
    net?.dispose();
  }
});
