// The one module that touches Node's built-ins (`ts/core/node-io.ts`): files, paths, installed packages, cores, and
// the replica worker thread's port, here around a stand-in for `Worker` (real threads train in test/parallel.test.ts).
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cpuCount, joinPath, packageDir, readFileBytes, spawnReplicaWorker } from '../ts/core/node-io.js';

/** Every `Worker` the module under test made: the script, the options, what it was told. */
const threads = vi.hoisted(() => ({ made: [] as unknown[] }));
vi.mock('node:worker_threads', async () => {
  const { EventEmitter: Emitter } = await import('node:events');
  class FakeWorker extends Emitter {
    posted: unknown[][] = [];
    refs: string[] = [];
    terminated = 0;
    constructor(
      readonly script: URL,
      readonly options: { execArgv?: string[] },
    ) {
      super();
      threads.made.push(this);
    }
    postMessage(...args: unknown[]): void {
      this.posted.push(args);
    }
    ref(): void {
      this.refs.push('ref');
    }
    unref(): void {
      this.refs.push('unref');
    }
    async terminate(): Promise<number> {
      this.terminated++;
      this.emit('exit', 1);
      return 1;
    }
  }
  return { Worker: FakeWorker, default: { Worker: FakeWorker } };
});

interface Made extends EventEmitter {
  script: URL;
  options: { execArgv?: string[] };
  posted: unknown[][];
  refs: string[];
  terminated: number;
}
const lastThread = () => threads.made[threads.made.length - 1] as Made;

const here = fileURLToPath(import.meta.url);

describe('readFileBytes', () => {
  it('reads a whole file, from a path or a file: URL', async () => {
    const want = new Uint8Array(readFileSync(here));
    expect(new Uint8Array(await readFileBytes(here))).toEqual(want);
    expect(new Uint8Array(await readFileBytes(pathToFileURL(here)))).toEqual(want);
  });

  it("rejects with the system's error for a missing file", async () => {
    await expect(readFileBytes(path.join(path.dirname(here), 'no-such-file.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('joinPath', () => {
  it("is Node's path.join", async () => {
    expect(await joinPath('a', 'b', '../c', 'd.txt')).toBe(path.join('a', 'b', '../c', 'd.txt'));
    expect(await joinPath('/x/', 'y')).toBe('/x/y');
  });
});

describe('packageDir', () => {
  const vitestDir = path.dirname(createRequire(import.meta.url).resolve('vitest/package.json'));

  it("finds an installed package's folder from a module", async () => {
    expect(await packageDir('vitest', import.meta.url)).toBe(vitestDir);
  });

  it('looks from the working directory when the module cannot see the package', async () => {
    // A module in a folder with no node_modules on its way up: only the working directory (this repository) has vitest.
    expect(await packageDir('vitest', 'file:///nowhere/at/all/module.js')).toBe(vitestDir);
  });

  it('is null for a package installed nowhere', async () => {
    expect(await packageDir('wasmnet-no-such-package', import.meta.url)).toBeNull();
  });
});

describe('cpuCount', () => {
  it('is os.availableParallelism()', async () => {
    expect(await cpuCount()).toBe(os.availableParallelism());
  });

  it('counts os.cpus() on a Node without availableParallelism (before 18.14)', async () => {
    const oldOs = { cpus: () => [{}, {}, {}], availableParallelism: undefined };
    vi.doMock('node:os', () => ({ ...oldOs, default: oldOs }));
    vi.resetModules();
    try {
      const fresh = await import('../ts/core/node-io.js');
      expect(await fresh.cpuCount()).toBe(3);
    } finally {
      vi.doUnmock('node:os');
      vi.resetModules();
    }
  });
});

describe('spawnReplicaWorker', () => {
  const flags = [...process.execArgv];
  afterEach(() => {
    process.execArgv.splice(0, process.execArgv.length, ...flags);
  });

  it('runs replica-worker.js beside the bundle, with the parent\'s flags', async () => {
    await spawnReplicaWorker();
    const t = lastThread();
    expect(t.script.href.endsWith('/replica-worker.js')).toBe(true);
    expect(t.options.execArgv).toBeUndefined();
  });

  it('drops every flag when the parent ran `node --input-type=module -e …` (a worker running a file cannot take it)', async () => {
    process.execArgv.splice(0, process.execArgv.length, '--expose-gc', '--input-type=module', '--no-warnings');
    await spawnReplicaWorker();
    expect(lastThread().options.execArgv).toEqual([]);
  });

  it('passes messages both ways, and holds the process only while busy', async () => {
    const port = await spawnReplicaWorker();
    const t = lastThread();
    const transfer = [new ArrayBuffer(8)];
    port.post({ type: 'replica-release' } as never, transfer);
    expect(t.posted).toEqual([[{ type: 'replica-release' }, transfer]]);
    const heard: unknown[] = [];
    port.onMessage((m) => heard.push(m));
    t.emit('message', { type: 'x', rank: 1 });
    expect(heard).toEqual([{ type: 'x', rank: 1 }]);
    port.hold(true);
    port.hold(false);
    expect(t.refs).toEqual(['ref', 'unref']);
  });

  it("reports the thread's first failure once, naming the error, or its exit code", async () => {
    const port = await spawnReplicaWorker();
    const t = lastThread();
    const reasons: string[] = [];
    port.onFailure((r) => reasons.push(r));
    t.emit('error', new TypeError('boom'));
    t.emit('exit', 1);
    expect(reasons).toEqual(['threw TypeError: boom']);

    const other = await spawnReplicaWorker();
    const u = lastThread();
    const more: string[] = [];
    other.onFailure((r) => more.push(r));
    u.emit('exit', 3);
    expect(more).toEqual(['ended (exit code 3)']);
  });

  it('names what was thrown when it is not an Error', async () => {
    for (const [thrown, said] of [
      [undefined, 'threw Error: undefined'],
      ['just text', 'threw Error: just text'],
      [{ name: 'Custom' }, 'threw Custom: [object Object]'],
    ] as const) {
      const port = await spawnReplicaWorker();
      const reasons: string[] = [];
      port.onFailure((r) => reasons.push(r));
      lastThread().emit('error', thrown);
      expect(reasons).toEqual([said]);
    }
  });

  it('ends the thread on terminate() without reporting its exit as a failure', async () => {
    const port = await spawnReplicaWorker();
    const t = lastThread();
    const reasons: string[] = [];
    port.onFailure((r) => reasons.push(r));
    await port.terminate();
    expect(t.terminated).toBe(1);
    expect(reasons).toEqual([]);
  });
});
