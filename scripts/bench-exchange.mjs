// `npm run bench`'s probe of what moving a gradient node between two cores costs on this machine: two threads of the
// threads core in one wasm memory, in lockstep. Each round every thread writes its node (the course network's 2.2 MB
// of gradients, as an add of two arrays of its own) into one of two buffers in turn, as a worker's gradient tree
// does, meets the other at a barrier, adds its node and the other's into a sum of its own (what a worker does with
// the other's node after the step's barrier), and meets it again. Against the same rounds with the other's node
// replaced by an array of its own, the difference is the cross-core penalty of a batch-64 step's exchange
// (DEVELOPERS.md, session 28).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';

/** Floats of the course network's gradient, one tree node. */
const FLOATS = 5408 * 100 + 100 + 32 * 9 + 32 + 100 * 10 + 10;
/** Each thread's node buffers, used in turn, as a worker's gradient tree alternates two. */
const NODES = 2;

/** Waits until both threads have arrived at barrier `generation` (spinning: both are busy, and a sleep's wake-up costs). */
function barrier(ctrl, generation) {
  if (Atomics.add(ctrl, 0, 1) === 1) {
    Atomics.store(ctrl, 0, 0);
    Atomics.store(ctrl, 1, generation);
    return;
  }
  while (Atomics.load(ctrl, 1) !== generation);
}

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

/**
 * Milliseconds a round, each the median over both threads and `repeats` runs of `rounds`: writing a node the other
 * thread read two rounds before, and with no other reader; adding the other's node to one's own, and one's own two.
 * Null without the threads core or shared memory, or if a probe thread fails (the bench goes on without it).
 */
export async function exchangeCosts(root, rounds = 200, repeats = 3) {
  const internal = await import(join(root, 'dist', 'internal.js'));
  await (await import(join(root, 'dist', 'index.js'))).init();
  const module = typeof SharedArrayBuffer === 'undefined' ? null : await internal.threadsModule();
  const memory = module ? internal.threadMemory(2) : null;
  if (!module || !memory) return null;
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  let ending = false;
  // A thread that throws or ends early fails every wait for it (its partner, spinning at the barrier, is terminated).
  let failed = null;
  const failures = [];
  const threads = [0, 1].map((slot) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { root, module, memory, slot, ctrl } });
    const replies = [];
    const waiting = [];
    const fail = (why) => {
      failed ??= why;
      for (const reject of failures) reject(failed);
    };
    worker.on('message', (m) => (waiting.length ? waiting.shift().resolve(m) : replies.push(m)));
    worker.on('error', (e) => fail(e));
    worker.on('exit', (code) => ending || fail(new Error(`exchange probe thread ${slot} exited (code ${code})`)));
    const next = () =>
      new Promise((resolve, reject) => {
        if (failed) reject(failed);
        else if (replies.length) resolve(replies.shift());
        else {
          waiting.push({ resolve });
          failures.push(reject);
        }
      });
    return { worker, next };
  });
  const end = () => {
    ending = true;
    return Promise.all(threads.map((t) => t.worker.terminate()));
  };
  const times = { cross: { write: [], add: [] }, own: { write: [], add: [] } };
  try {
    const nodes = await Promise.all(threads.map((t) => t.next()));
    let generation = 0;
    // An untimed run of each mode first: the kernels optimised, the buffers touched.
    for (let r = -1; r < repeats; r++) {
      for (const mode of r % 2 ? ['own', 'cross'] : ['cross', 'own']) {
        threads.forEach((t, i) => t.worker.postMessage({ mode, rounds, generation, others: nodes[1 - i] }));
        for (const m of await Promise.all(threads.map((t) => t.next()))) {
          if (r < 0) continue;
          times[mode].write.push(m.write);
          times[mode].add.push(m.add);
        }
        generation += 2 * rounds;
      }
    }
  } catch (e) {
    console.error(`bench: the exchange probe failed, left out: ${e?.message ?? e}`);
    await end();
    return null;
  }
  await end();
  return {
    floats: FLOATS,
    writeAfterRead: median(times.cross.write),
    writePrivate: median(times.own.write),
    addOthers: median(times.cross.add),
    addOwn: median(times.own.add),
  };
}

if (!isMainThread) {
  const { root, module, memory, slot, ctrl } = workerData;
  const internal = await import(join(root, 'dist', 'internal.js'));
  const wasmnet = await import(join(root, 'dist', 'index.js'));
  internal.joinThreadMemory(memory, slot);
  await wasmnet.init({ wasm: module });
  const k = internal.kernels();
  const alloc = () => {
    const a = internal.allocF32(FLOATS);
    a.view().forEach((_, i, v) => (v[i] = Math.sin(i + slot) * 0.01));
    return a.ptr;
  };
  const [x, y, sum] = [alloc(), alloc(), alloc()];
  const nodes = Array.from({ length: NODES }, alloc);
  parentPort.postMessage(nodes);
  parentPort.on('message', ({ mode, rounds, generation, others }) => {
    let write = 0;
    let add = 0;
    for (let i = 0; i < rounds; i++) {
      const node = nodes[i % NODES];
      const t0 = performance.now();
      k.wn_add_to(node, x, y, FLOATS);
      const t1 = performance.now();
      barrier(ctrl, ++generation);
      const t2 = performance.now();
      k.wn_add_to(sum, node, mode === 'cross' ? others[i % NODES] : x, FLOATS);
      const t3 = performance.now();
      barrier(ctrl, ++generation);
      write += t1 - t0;
      add += t3 - t2;
    }
    parentPort.postMessage({ write: write / rounds, add: add / rounds });
  });
}
