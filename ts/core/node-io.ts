/**
 * The only place wasmnet touches Node's built-ins: reading files and finding
 * packages. Browser builds replace this module with `node-io.browser.ts`
 * (see tsup.config.ts), so no `node:` import reaches a page or a bundler.
 */
import { type WorkerPort, failureReport } from '../parallel/protocol.js';

/** Reads a whole file; rejects with the system's error when it cannot. */
export async function readFileBytes(path: string | URL): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  return fs.readFile(path);
}

export async function joinPath(...parts: string[]): Promise<string> {
  const path = await import('node:path');
  return path.join(...parts);
}

/** The folder of an installed npm package, looked up from this module and from the working directory; null if absent. */
export async function packageDir(name: string, from: string): Promise<string | null> {
  const { createRequire } = await import('node:module');
  const path = await import('node:path');
  for (const base of [from, `file://${process.cwd()}/`]) {
    try {
      return path.dirname(createRequire(base).resolve(`${name}/package.json`));
    } catch {
      // not found from this base: try the next
    }
  }
  return null;
}

/** The cores this process may use (`os.availableParallelism()`). */
export async function cpuCount(): Promise<number> {
  const os = await import('node:os');
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** A replica worker thread (`dist/replica-worker.js`, beside this bundle) for data-parallel training. */
export async function spawnReplicaWorker(): Promise<WorkerPort> {
  const { Worker } = await import('node:worker_threads');
  // The worker inherits the parent's flags, except that it runs a file: `node --input-type=module -e …`'s flag would stop it.
  const execArgv = process.execArgv.some((a) => a.startsWith('--input-type')) ? [] : undefined;
  const worker = new Worker(new URL('./replica-worker.js', import.meta.url), { execArgv });
  const failure = failureReport();
  worker.on('error', (e) => failure.fail(`threw ${e?.name ?? 'Error'}: ${e?.message ?? String(e)}`));
  worker.on('exit', (code) => failure.fail(`ended (exit code ${code})`));
  return {
    post: (m, transfer) => worker.postMessage(m, transfer as never),
    onMessage: (listener) => worker.on('message', listener),
    onFailure: failure.listen,
    hold: (busy) => (busy ? worker.ref() : worker.unref()),
    terminate: async () => {
      failure.closing();
      await worker.terminate();
    },
  };
}
