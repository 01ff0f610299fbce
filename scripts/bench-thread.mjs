// One of `npm run bench`'s independent trainers: a worker thread that trains its own copy of the course's
// network with one worker (no exchange with anyone), so that N of them at once measure what N threads of this
// machine can do side by side: the ceiling that `train({ workers: N })` is compared with.
import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';

const { root, limit } = workerData;
const wasmnet = await import(join(root, 'dist', 'index.js'));
await wasmnet.init();
const data = await wasmnet.loadMnist({ limit, testLimit: 1 });
const nets = new Map();

/** Trains `batches` batches of `batchSize` after `warm` untimed ones; images per second of the timed ones. */
async function timed(batchSize, batches, warm) {
  if (!nets.has(batchSize)) nets.set(batchSize, wasmnet.courseCnn({ seed: 1 }));
  const net = nets.get(batchSize);
  const n = Math.min(data.xTrain.shape[0], batchSize * (batches + warm));
  let first = 0;
  let last = 0;
  let images = 0;
  await net.train(data.xTrain.slice(0, n), data.yTrain.slice(0, n), {
    batchSize,
    epochs: 1,
    workers: 1,
    onBatch: (b) => {
      const now = performance.now();
      if (b.batch === warm - 1) first = now;
      else if (b.batch >= warm) images += b.size;
      last = now;
    },
  });
  return images / ((last - first) / 1000);
}

parentPort.on('message', async (m) => {
  if (m.type === 'go') parentPort.postMessage({ type: 'rate', rate: await timed(m.batchSize, m.batches, m.warm) });
  else if (m.type === 'end') {
    for (const net of nets.values()) net.dispose();
    parentPort.close();
  }
});
parentPort.postMessage({ type: 'ready' });
