// The threads core (dist/wasmnet-threads.wasm): the workers of a training run are instances of it in one shared
// memory. What that needs beyond the plain core: an allocator that several threads can use at once, a shadow stack
// per instance, and a clear refusal where it does not belong. (That training with it gives the bits of one worker
// is test/parallel.test.ts.)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { init } from 'wasmnet';
import { threadMemory, threadsModule } from 'wasmnet/internal';

await init();
const repo = join(import.meta.dirname, '..');

describe('the threads core', () => {
  it('is built beside the plain core, and the library finds it', async () => {
    const module = await threadsModule();
    expect(module).toBeInstanceOf(WebAssembly.Module);
    // It imports its memory (shared, made by the pool) and exports the stack pointer each instance moves.
    expect(WebAssembly.Module.imports(module!)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WebAssembly.Module.exports(module!).map((e) => e.name)).toEqual(expect.arrayContaining(['__stack_pointer', '__heap_base', 'wn_alloc', 'wn_adam']));
  });

  it('three threads allocating and freeing at once in one memory get disjoint blocks and keep their contents', async () => {
    const module = (await threadsModule())!;
    const threads = 3;
    const memory = threadMemory(threads);
    const go = new SharedArrayBuffer(8);
    const workers = Array.from(
      { length: threads },
      (_, slot) => new Worker(join(repo, 'test', 'helpers', 'threads-alloc-worker.mjs'), { workerData: { module, memory, slot, rounds: 4000, go } }),
    );
    const flag = new Int32Array(go);
    while (Atomics.load(flag, 1) < threads) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const results = await Promise.all(workers.map((w) => new Promise<{ broken: number; blocks: [number, number][] }>((resolve, reject) => w.once('message', resolve).once('error', reject))));
    await Promise.all(workers.map((w) => w.terminate()));
    expect(results.map((r) => r.broken), 'blocks whose contents another thread overwrote').toEqual([0, 0, 0]);
    const blocks = results.flatMap((r) => r.blocks).sort((a, b) => a[0] - b[0]);
    expect(blocks.length).toBeGreaterThan(3000);
    const overlaps = blocks.filter(([ptr], i) => i > 0 && blocks[i - 1][0] + blocks[i - 1][1] > ptr).length;
    expect(overlaps, 'live blocks of different threads that overlap').toBe(0);
  }, 60_000);

  it('init() refuses it with a clear error: it is for workers, and imports its memory', () => {
    const script = `import('wasmnet').then((w) => w.init({ wasm: ${JSON.stringify(join(repo, 'dist', 'wasmnet-threads.wasm'))} })).then(() => console.log('loaded'), (e) => console.log(e.name + ': ' + e.message))`;
    const out = spawnSync(process.execPath, ['-e', script], { cwd: repo, encoding: 'utf8' });
    expect(out.stdout.trim()).toBe('InitError: the loaded WebAssembly module is the threads core (wasmnet-threads.wasm, for workers): init() takes wasmnet.wasm');
  });
});
