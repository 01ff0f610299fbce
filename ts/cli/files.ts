/** Reading and writing model files for the command line: clear errors, and never half a file. */
import { randomInt } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { WasmnetError } from '../index.js';

export async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new WasmnetError(`cannot read the model file ${path} (--model takes a .wnet file written by wasmnet train --save or net.save()): ${(e as Error).message}`);
  }
}

/** Writes to a temporary file beside `path`, then renames: a crash never leaves half a model. */
export async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomInt(1e9)}.tmp`);
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}
