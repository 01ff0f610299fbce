// One of `npm run bench`'s independent trainers: a worker thread that trains its own copy of the course's
// network with one worker (no exchange with anyone), so that N of them at once measure what N threads of this
// machine can do side by side: the ceiling that `train({ workers: N })` is compared with. In step, the N threads
// meet at a barrier after every batch, as workers do, each on its share of the batch: what N threads give when
// each step waits for the slowest of them, still with nothing exchanged.
import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { timedEpoch } from './bench-timing.mjs';

const { root, limit } = workerData;
const wasmnet = await import(join(root, 'dist', 'index.js'));
await wasmnet.init();
const data = await wasmnet.loadMnist({ limit, testLimit: 1 });
const nets = new Map();

/**
 * Images per second of `batches` batches of `batchSize` after `warm` untimed ones (one network per batch size);
 * with `barrier` (a SharedArrayBuffer's two int32s: arrived, generation), meeting `threads` threads after each batch.
 */
function timed(batchSize, batches, warm, barrier = null, threads = 1) {
  if (!nets.has(batchSize)) nets.set(batchSize, wasmnet.courseCnn({ seed: 1 }));
  let generation = 0;
  const ctrl = barrier && new Int32Array(barrier);
  const afterBatch = () => {
    if (!ctrl) return;
    generation++;
    if (Atomics.add(ctrl, 0, 1) === threads - 1) {
      Atomics.store(ctrl, 0, 0);
      Atomics.store(ctrl, 1, generation);
      Atomics.notify(ctrl, 1);
      return;
    }
    for (let open = Atomics.load(ctrl, 1); open !== generation; open = Atomics.load(ctrl, 1)) Atomics.wait(ctrl, 1, open, 1000);
  };
  return timedEpoch(nets.get(batchSize), data.xTrain, data.yTrain, { batchSize, batches, warm, workers: 1, afterBatch });
}

parentPort.on('message', async (m) => {
  if (m.type === 'go') parentPort.postMessage({ type: 'rate', rate: await timed(m.batchSize, m.batches, m.warm, m.barrier, m.threads) });
  else if (m.type === 'end') {
    for (const net of nets.values()) net.dispose();
    parentPort.close();
  }
});
parentPort.postMessage({ type: 'ready' });
