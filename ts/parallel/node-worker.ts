/**
 * The replica worker's entry for Node (`dist/replica-worker.js`), started by
 * `node-io.ts` with worker_threads; the browser's is `ts/worker.ts`.
 */
import { parentPort } from 'node:worker_threads';
import type { ReplicaRequest } from './protocol.js';
import { serveReplica } from './replica.js';

const port = parentPort!;
const serve = serveReplica(
  (m, transfer) => port.postMessage(m, transfer as never),
  () => process.exit(70),
);
// One request at a time, in order: a step never overlaps the next.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: ReplicaRequest) => {
  queue = queue.then(() => serve(m));
});
