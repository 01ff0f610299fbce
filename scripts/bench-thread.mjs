// One of `npm run bench`'s independent trainers: a worker thread that trains its own copy of the course's
// network with one worker (no exchange with anyone), so that N of them at once measure what N threads of this
// machine can do side by side: the ceiling that `train({ workers: N })` is compared with.
import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { timedEpoch } from './bench-timing.mjs';

const { root, limit } = workerData;
const wasmnet = await import(join(root, 'dist', 'index.js'));
await wasmnet.init();
const data = await wasmnet.loadMnist({ limit, testLimit: 1 });
const nets = new Map();

/** Images per second of `batches` batches of `batchSize` after `warm` untimed ones (one network per batch size). */
function timed(batchSize, batches, warm) {
  if (!nets.has(batchSize)) nets.set(batchSize, wasmnet.courseCnn({ seed: 1 }));
  return timedEpoch(nets.get(batchSize), data.xTrain, data.yTrain, { batchSize, batches, warm, workers: 1 });
}

parentPort.on('message', async (m) => {
  if (m.type === 'go') parentPort.postMessage({ type: 'rate', rate: await timed(m.batchSize, m.batches, m.warm) });
  else if (m.type === 'end') {
    for (const net of nets.values()) net.dispose();
    parentPort.close();
  }
});
parentPort.postMessage({ type: 'ready' });
