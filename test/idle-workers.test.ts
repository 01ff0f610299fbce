// Tests for the idle worker pool, the CRC word loop and Rng.skippingNormals.
// Written in a review of the kept workers: three of them failed before its fixes (short CRC views at odd offsets, an
// idle worker that died handed to the next call, an idle pool keeping the last run's data); "trains twice" kills a
// mutant without `hold(true)` on reuse.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Adam, ReLU, Rng, SequentialNet, SoftMax, Tensor } from 'wasmnet';
import { idleWorkerCount, poolTestHooks, workerLife } from 'wasmnet/internal';
import { crc32 } from '../ts/core/crc32.js';
import { pictures } from './helpers/pictures.js';
import { batchNormNet } from './helpers/small-nets.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('CRC-32 (slicing by 8)', () => {
  it('matches zlib on every short view at odd offsets, in an ArrayBuffer and a SharedArrayBuffer', () => {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 255);
    const sab = new Uint8Array(new SharedArrayBuffer(64));
    sab.set(bytes);
    const failures: string[] = [];
    for (const src of [bytes, sab]) {
      for (let offset = 0; offset < 8; offset++) {
        for (let length = 0; length <= 40; length++) {
          const v = src.subarray(offset, offset + length);
          try {
            if (crc32(v) !== zlibCrc32(v)) failures.push(`${offset}+${length}: wrong`);
          } catch (e) {
            // fdd3cf8: new Uint32Array(buffer, byteOffset + head, 0) with an unaligned offset throws a RangeError.
            failures.push(`${offset}+${length}: ${(e as Error).message}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('Rng.skippingNormals moves the generator exactly as normal() would', () => {
  type Skipping = Rng & { skippingNormals<T>(f: () => T): T };
  it('with a spare pending before the skip, odd and even counts, then getState, normal, uniform, fork, setState', () => {
    for (const seed of [1, 7]) {
      for (let before = 0; before < 3; before++) {
        for (let count = 0; count < 5; count++) {
          const a = new Rng(seed);
          const b = new Rng(seed) as Skipping;
          for (let i = 0; i < before; i++) (a.normal(), b.normal());
          for (let i = 0; i < count; i++) a.normal();
          b.skippingNormals(() => {
            for (let i = 0; i < count; i++) b.normal();
          });
          const what = `seed ${seed}, ${before} before, ${count} skipped`;
          expect(b.getState(), what).toEqual(a.getState());
          const next = (r: Rng) => [r.normal(), r.uniform(), r.normal(), r.fork().normal(), r.normal()];
          expect(next(b), what).toEqual(next(a));
        }
      }
    }
    // setState inside the skip; a throwing callback leaves normal() drawing again.
    const other = new Rng(5);
    other.normal();
    const state = other.getState();
    const a = new Rng(3);
    a.setState(state);
    const b = new Rng(3) as Skipping;
    b.skippingNormals(() => (b.normal(), b.setState(state)));
    expect(b.normal()).toBe(a.normal());
    expect(() => b.skippingNormals(() => { throw new Error('x'); })).toThrow('x');
    expect(b.normal()).toBe(a.normal());
  });
});

/** n random 1×12×12 pictures and one-hot labels of 5 classes. */
const data = (n: number, seed: number) => pictures(n, seed, 12, 5);

const bnNet = () => batchNormNet();

describe('idle workers', () => {
  const [x, y] = data(150, 5);
  const [x2, y2] = data(90, 6);

  /** Two calls (another dataset and batch size the second time); `fresh`: the workers end in between. */
  async function twoCalls(workers: number, messagesOnly: boolean, fresh: boolean): Promise<string> {
    const net = bnNet();
    poolTestHooks.messagesOnly = messagesOnly;
    if (fresh) poolTestHooks.idleMs = 1;
    try {
      await net.train(x, y, { batchSize: 32, epochs: 2, workers });
    } finally {
      poolTestHooks.idleMs = null;
    }
    if (fresh) for (let i = 0; i < 100 && idleWorkerCount(net) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    poolTestHooks.messagesOnly = messagesOnly;
    await net.train(x2, y2, { batchSize: 20, epochs: 1, workers });
    const file = sha(net.save({ trainingState: true }));
    net.dispose();
    return file;
  }

  it('reused workers give fresh workers\' bits, with batch norm, by messages and with shared memory', async () => {
    const reference = await twoCalls(1, false, false);
    for (const messagesOnly of [false, true]) {
      expect(await twoCalls(2, messagesOnly, false), `reused, messagesOnly ${messagesOnly}`).toBe(reference);
      expect(await twoCalls(2, messagesOnly, true), `fresh, messagesOnly ${messagesOnly}`).toBe(reference);
    }
  });

  it('a Node process that trains twice (the second call on the kept workers) finishes both calls and exits', () => {
    const dist = join(import.meta.dirname, '..', 'dist', 'index.js');
    // Reused workers must hold the process again while they train: without it, Node ends it mid-call (exit code 13).
    const script = `
      import { init, Tensor, courseCnn } from ${JSON.stringify(dist)};
      await init();
      const x = new Tensor(new Float32Array(64 * 784).fill(0.5), [64, 1, 28, 28]);
      const y = new Tensor(new Float32Array(64 * 10).fill(0.1), [64, 10]);
      const net = courseCnn({ seed: 1 });
      await net.train(x, y, { batchSize: 32, epochs: 1, workers: 2 });
      await net.train(x, y, { batchSize: 32, epochs: 2, workers: 2 });
      console.log('trained twice');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, 'trained twice', '']);
  });

  it('an idle worker that died is not handed to the next call (which starts new workers instead of failing)', async () => {
    // Every worker thread the pool starts, so that one can end while idle (as a crash or an out-of-memory kill would).
    const wt = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
    const Original = wt.Worker;
    const made: InstanceType<typeof Original>[] = [];
    wt.Worker = class extends Original {
      constructor(...args: ConstructorParameters<typeof Original>) {
        super(...args);
        made.push(this);
      }
    } as typeof Original;
    syncBuiltinESMExports();
    const net = bnNet();
    try {
      await net.train(x, y, { batchSize: 32, workers: 2 });
      expect(made.length).toBe(2);
      await made[1].terminate();
      await new Promise((r) => setTimeout(r, 50));
      // fdd3cf8: "training stopped: worker 2 of 2 failed while starting: it ended (exit code 1); the network is unchanged".
      await net.train(x, y, { batchSize: 32, workers: 2 });
    } finally {
      wt.Worker = Original;
      syncBuiltinESMExports();
      net.dispose();
    }
  });

  it('an idle pool does not keep the last run\'s data alive (the Float32Arrays it trained on)', async () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    const net = bnNet();
    let collected = 0;
    const registry = new FinalizationRegistry(() => collected++);
    // In a function of its own, so that no suspended frame of this test holds the tensors.
    const trainOnce = async () => {
      const [bx, by] = data(4000, 9);
      registry.register(bx.data, 'x');
      registry.register(by.data, 'y');
      await net.train(bx, by, { batchSize: 1000, workers: 2 });
    };
    await trainOnce();
    for (let i = 0; i < 6 && collected < 2; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(idleWorkerCount(net)).toBe(2);
    // fdd3cf8: the idle pool keeps x and y (WorkerPool.x, .y; and .order without shared memory) until it ends.
    expect(collected).toBe(2);
    net.dispose();
  });

  it('counts: the workers started and ended balance after dispose', async () => {
    const { started, ended } = workerLife;
    const net = bnNet();
    await net.train(x, y, { batchSize: 32, workers: 2 });
    net.dispose();
    expect(workerLife.started - started).toBe(workerLife.ended - ended);
  });
});
