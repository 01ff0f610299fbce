/**
 * The browser build's stand-in for `node-io.ts`: file access needs Node.
 * In a page, fetch the bytes and use readIdx, parseNpz or SequentialNet.load.
 */
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
