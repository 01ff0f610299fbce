// One thread of test/threads-core.test.ts: an instance of the threads core in the memory the test shares between
// threads, allocating and freeing blocks of its own while the others do the same, then checking its blocks.
import { parentPort, workerData } from 'node:worker_threads';
import { init } from 'wasmnet';
import { allocF32, joinThreadMemory } from 'wasmnet/internal';

const { module, memory, slot, rounds, go } = workerData;
joinThreadMemory(memory, slot);
await init({ wasm: module });
// Start together, so that the threads' allocations overlap in time.
const flag = new Int32Array(go);
Atomics.add(flag, 1, 1);
while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 10);
let seed = 12345 + slot;
const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const live = [];
for (let i = 0; i < rounds; i++) {
  const a = allocF32(1 + Math.floor(random() * 3000));
  a.view().fill(slot * 1e6 + i);
  live.push({ a, value: slot * 1e6 + i });
  // Free about half of them as it goes, so that freed blocks are reused by everyone.
  if (random() < 0.5) live.splice(Math.floor(random() * live.length), 1)[0].a.free();
}
const broken = live.filter(({ a, value }) => !a.view().every((v) => v === value)).length;
parentPort.postMessage({ broken, blocks: live.map(({ a }) => [a.ptr, a.byteLength]) });
