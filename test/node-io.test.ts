// The one module that touches Node's built-ins (`ts/core/node-io.ts`): files, paths, installed packages, cores.
// Its worker threads are tested through the pool (test/parallel.test.ts, test/train-faults.test.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpuCount, joinPath, packageDir, readFileBytes } from '../ts/core/node-io.js';

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
});
