/**
 * The browser build's stand-in for `node-io.ts`: file access needs Node.
 * In a page, fetch the bytes and use readIdx, parseNpz or SequentialNet.load.
 */
import type { WorkerPort } from '../parallel/protocol.js';
import { WasmnetError } from './errors.js';

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
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  let failed = false;
  let closing = false;
  const failure: ((reason: string) => void)[] = [];
  const fail = (reason: string) => {
    if (failed || closing) return;
    failed = true;
    for (const f of failure) f(reason);
  };
  worker.addEventListener('error', (e) => {
    e.preventDefault();
    fail(`threw ${e.message || 'an error (the worker script may have failed to load)'}`);
  });
  worker.addEventListener('messageerror', () => fail('sent a message that could not be read'));
  return {
    post: (m, transfer) => worker.postMessage(m, transfer ?? []),
    onMessage: (listener) => worker.addEventListener('message', (e: MessageEvent) => listener(e.data)),
    onFailure: (listener) => failure.push(listener),
    terminate: async () => {
      closing = true;
      worker.terminate();
    },
  };
}
