/** Reading and writing model files for the command line: clear errors, and never half a file nor a lost one. */
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SequentialNet, WasmnetError } from '../index.js';
import { UsageError } from './args.js';

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
    throw e;
  }
}

/** Why a file cannot be written at `path`, in words, from the error the file system gave. */
function reason(path: string, e: unknown): string {
  const dir = dirname(resolve(path));
  switch ((e as NodeJS.ErrnoException)?.code) {
    case 'ENOENT':
      return `the directory ${dir} does not exist`;
    case 'ENOTDIR':
      return `a part of ${dir} is a file, not a directory`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `the directory ${dir} is not writable`;
    case 'EISDIR':
      return `${path} is a directory`;
    default:
      return (e as Error)?.message ?? String(e);
  }
}

/**
 * Throws a UsageError (one line, exit code 2) unless a file can be written
 * at `path`, by writing and removing an empty one beside it: checked before
 * a long run, so that the run's result is not lost at its end.
 */
export async function checkWritable(path: string, option: string): Promise<void> {
  const found = await stat(path).catch(() => null);
  if (found?.isDirectory()) throw new UsageError(`--${option} ${path}: cannot write there (${path} is a directory)`);
  const probe = join(dirname(path), `.${basename(path)}.${process.pid}.${randomInt(1e9)}.probe`);
  try {
    await writeFile(probe, new Uint8Array(0));
  } catch (e) {
    throw new UsageError(`--${option} ${path}: cannot write there (${reason(path, e)})`);
  }
  await rm(probe, { force: true });
}

/**
 * Writes `bytes` to `path` (atomically). If that fails even so (the
 * directory went away during the run, the disk is full), the bytes are kept
 * in a new temporary directory instead: resolves to where they are and why
 * `path` failed, so the caller can say so in one line.
 */
export async function writeOrKeep(path: string, bytes: Uint8Array): Promise<{ kept: string | null; error: string | null }> {
  try {
    await writeAtomically(path, bytes);
    return { kept: null, error: null };
  } catch (e) {
    try {
      const kept = join(await mkdtemp(join(tmpdir(), 'wasmnet-')), basename(path) || 'model.wnet');
      await writeFile(kept, bytes);
      return { kept, error: reason(path, e) };
    } catch (e2) {
      throw new WasmnetError(`could not write ${path} (${reason(path, e)}), nor keep it in ${tmpdir()} (${(e2 as Error).message})`);
    }
  }
}
