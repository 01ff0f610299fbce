/**
 * `vite dev` pre-bundles dependencies into <root>/node_modules/.vite/deps/ without their assets, so
 * `new URL('./wasmnet.wasm', import.meta.url)` (and './worker.js') point at files that are not there.
 * Vite's dev server does serve the package's own folder, two levels up: this is that file's URL when the
 * bundle runs from Vite's pre-bundle folder, else null. The path is a variable, so that bundlers do not
 * take it for an asset; the literal `new URL('./…', import.meta.url)` stays beside each call for them.
 */
const VITE_DEPS = /\/node_modules\/\.vite\/deps(_[a-z]+)?\/[^/]*$/;

export function fromViteDeps(file: string): URL | null {
  const here = new URL(import.meta.url);
  if (!VITE_DEPS.test(here.pathname)) return null;
  const path = `../../wasmnet/dist/${file}`;
  return new URL(path, here);
}
