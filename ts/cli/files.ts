/** Reading and writing model files for the command line: clear errors, and never half a file. */
import { randomInt } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SequentialNet, WasmnetError } from '../index.js';

export async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new WasmnetError(`cannot read the model file ${path} (--model takes a .wnet file written by wasmnet train --save or net.save()): ${(e as Error).message}`);
  }
}

/** Reads and loads a model file; every error names the file (the library's own messages cannot know it). */
export async function loadModelFile(path: string): Promise<SequentialNet> {
  const bytes = await readModelFile(path);
  try {
    return SequentialNet.load(bytes);
  } catch (e) {
    if (!(e instanceof WasmnetError)) throw e;
    const Class = e.constructor as new (message: string) => WasmnetError;
    throw new Class(`${path}: ${e.message}`);
  }
}

/** Writes to a temporary file beside `path`, then renames: a crash never leaves half a model. */
export async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomInt(1e9)}.tmp`);
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}
