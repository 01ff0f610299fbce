/**
 * The browser build's stand-in for `node-io.ts`: file access needs Node.
 * In a page, fetch the bytes and use readIdx, parseNpz or SequentialNet.load.
 */
import { type WorkerPort, failureReport } from '../parallel/protocol.js';
import { WasmnetError } from './errors.js';
import { fromViteDeps } from './vite-dev.js';

function nodeOnly(what: string): never {
  throw new WasmnetError(`${what} needs Node.js; in a browser, fetch the bytes and use readIdx, parseNpz or SequentialNet.load`);
}

export async function readFileBytes(path: string | URL): Promise<Uint8Array> {
  return nodeOnly(`reading ${String(path)}`);
}

export async function joinPath(..._parts: string[]): Promise<string> {
  return nodeOnly('a file path');
}

export async function packageDir(name: string, _from: string): Promise<string | null> {
  return nodeOnly(`finding the npm package ${name}`);
}

/** The cores the browser reports (`navigator.hardwareConcurrency`). */
export async function cpuCount(): Promise<number> {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n >= 1 ? n : 1;
}

/** A replica worker for data-parallel training: the package's `worker.js` (beside this bundle) as a module Web Worker. */
export async function spawnReplicaWorker(): Promise<WorkerPort> {
  // The literal pattern lets bundlers (Vite) find and bundle the worker; `vite dev`'s pre-bundled copy needs the package's file.
  const inViteDev = fromViteDeps('worker.js');
  const worker = inViteDev ? new Worker(inViteDev, { type: 'module' }) : new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const failure = failureReport();
  worker.addEventListener('error', (e) => {
    e.preventDefault();
    failure.fail(`threw ${e.message || "an error (the worker script may have failed to load: serve wasmnet's worker.js and its chunk files beside the bundle)"}`);
  });
  worker.addEventListener('messageerror', () => failure.fail('sent a message that could not be read'));
  return {
    post: (m, transfer) => worker.postMessage(m, transfer ?? []),
    onMessage: (listener) => worker.addEventListener('message', (e: MessageEvent) => listener(e.data)),
    onFailure: failure.listen,
    // A page's workers keep nothing alive.
    hold: () => {},
    terminate: async () => {
      failure.closing();
      worker.terminate();
    },
  };
}
