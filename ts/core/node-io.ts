/**
 * The only place wasmnet touches Node's built-ins: reading files and finding
 * packages. Browser builds replace this module with `node-io.browser.ts`
 * (see tsup.config.ts), so no `node:` import reaches a page or a bundler.
 */

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
