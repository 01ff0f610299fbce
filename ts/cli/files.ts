/** Reading and writing model files for the command line: clear errors, and never half a file. */
import { randomInt } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw new WasmnetError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/**
 * Fails now, not after training, when `path` cannot be written: its folder must exist and take
 * files, and `path` must not be a folder. `option` names the option in the message (--save, --png).
 */
export async function checkWritable(path: string, option: string): Promise<void> {
  const folder = dirname(path);
  const isFolder = await stat(path).then((s) => s.isDirectory(), () => false);
  if (isFolder) throw new WasmnetError(`${option} ${path}: that is a folder; give a file name, e.g. ${join(path, option === '--png' ? 'result.png' : 'model.wnet')}`);
  try {
    await access(folder, constants.W_OK);
  } catch {
    const exists = await stat(folder).then(() => true, () => false);
    throw new WasmnetError(`${option} ${path}: ${exists ? `cannot write into ${folder}` : `the folder ${folder} does not exist`} (checked before training, so no work is lost)`);
  }
}
