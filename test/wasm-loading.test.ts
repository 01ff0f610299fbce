// Loading the WebAssembly core (`ts/core/wasm.ts`) from every kind of source `init({ wasm })` takes, and each way
// it can fail. Every test loads a fresh copy of the module (`vi.resetModules()`), so nothing is loaded yet: the
// setup file's `init()` loaded another copy. The sources are given explicitly, from dist/wasmnet.wasm.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';

const wasmPath = fileURLToPath(new URL('../dist/wasmnet.wasm', import.meta.url));
const wasmBytes = new Uint8Array(readFileSync(wasmPath));
/** The smallest valid module: a header and nothing else (no `wn_alloc`, no memory). */
const emptyModule = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
/** A module that exports a memory called `memory` and nothing else (no `wn_alloc`). */
const memoryOnlyModule = Uint8Array.from([
  ...emptyModule,
  ...[0x05, 0x03, 0x01, 0x00, 0x01], // memory section: one memory of at least 1 page
  ...[0x07, 0x0a, 0x01, 0x06, ...Array.from('memory', (c) => c.charCodeAt(0)), 0x02, 0x00], // export "memory" = memory 0
]);

// Where `init()` without a source looks (the Vite lookup comes first in wasm.ts's default location): pointed at
// dist/wasmnet.wasm or at a missing file, so that `init()` behaves the same under `npm test` and `npm run mutate:ts`.
const defaultFile = vi.hoisted(() => ({ url: null as URL | null }));
vi.mock('../ts/core/vite-dev.js', () => ({ fromViteDeps: (file: string) => (file === 'wasmnet.wasm' ? defaultFile.url : null) }));

const scratch = mkdtempSync(path.join(tmpdir(), 'wasmnet-loading-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type WasmModule = typeof import('../ts/core/wasm.js');
type ErrorsModule = typeof import('../ts/core/errors.js');
let wasm: WasmModule;
let errors: ErrorsModule;

beforeEach(async () => {
  defaultFile.url = pathToFileURL(wasmPath);
  vi.resetModules();
  wasm = await import('../ts/core/wasm.js');
  errors = await import('../ts/core/errors.js');
});

/** A fetch-like response, as a server would send the file. */
function response(body: BodyInit | null, status: number, type: string): Response {
  return new Response(body, { status, headers: { 'content-type': type } });
}

/** `init()`'s rejection: an InitError of this copy of the module, with its message. */
async function initError(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(errors.InitError);
  return (err as Error).message;
}

describe('before init', () => {
  it('kernels() and wasmModule() throw a clear InitError, and isInitialized() is false', () => {
    expect(wasm.isInitialized()).toBe(false);
    expect(() => wasm.kernels()).toThrow(errors.InitError);
    expect(() => wasm.kernels()).toThrow('wasmnet is not initialized: call `await init()` once before building layers or networks');
    expect(() => wasm.wasmModule()).toThrow(errors.InitError);
  });
});

describe('WASM_FILE', () => {
  it("is the name of the core the build puts beside the bundles", () => {
    expect(wasm.WASM_FILE).toBe('wasmnet.wasm');
    expect(existsSync(fileURLToPath(new URL(`../dist/${wasm.WASM_FILE}`, import.meta.url)))).toBe(true);
  });
});

describe('init() with no source', () => {
  it('loads the default location, and so do init({}), init(null) and a wasm option of undefined or null', async () => {
    for (const args of [[], [{}], [null], [{ wasm: undefined }], [{ wasm: null }]]) {
      vi.resetModules();
      const fresh = await import('../ts/core/wasm.js');
      await (fresh.init as (...a: unknown[]) => Promise<void>)(...args);
      expect(fresh.isInitialized()).toBe(true);
      // Once loaded, a later call's options are still checked.
      const later = await fresh.init({ wasm: 42 } as never).catch((e: unknown) => e);
      expect((later as Error).message).toMatch(/^init options: wasm must be a URL or path, .* got 42$/);
    }
  });

  it('outside a Vite dev server, looks for wasmnet.wasm beside the module', async () => {
    defaultFile.url = null;
    // Beside the built bundle (as under `npm run mutate:ts`) it loads; beside ts/core/wasm.ts (as under `npm test`)
    // there is no .wasm, and the error names the file it looked for.
    const outcome = await wasm.init().then(
      () => 'loaded',
      (e: Error) => e.message,
    );
    expect(outcome === 'loaded' || /ENOENT.*[\\/]ts[\\/]core[\\/]wasmnet\.wasm/.test(outcome)).toBe(true);
  });

  it("rethrows Node's error for a missing default file, wrapped once (the advice about serving the file is for pages)", async () => {
    const missing = path.join(scratch, 'missing', 'wasmnet.wasm');
    defaultFile.url = pathToFileURL(missing);
    const message = await initError(wasm.init());
    expect(message.startsWith('could not load the wasmnet WebAssembly core: ENOENT')).toBe(true);
    expect(message).toContain(missing);
    expect(message).not.toContain('Serve dist/wasmnet.wasm');
  });
});

describe('init({ wasm }) from each kind of source', () => {
  const sources: [string, () => unknown][] = [
    ['bytes (Uint8Array)', () => wasmBytes],
    ['an ArrayBuffer', () => wasmBytes.slice().buffer],
    ['a compiled WebAssembly.Module', () => new WebAssembly.Module(wasmBytes)],
    ['a file path', () => wasmPath],
    ['a file: URL', () => pathToFileURL(wasmPath)],
    ['a file: URL as a string', () => pathToFileURL(wasmPath).href],
    ['a Response with application/wasm', () => response(wasmBytes, 200, 'application/wasm')],
    ['a Response with another MIME type (compiled from its bytes)', () => response(wasmBytes, 200, 'application/octet-stream')],
  ];
  for (const [what, source] of sources) {
    it(what, async () => {
      await wasm.init({ wasm: source() as never });
      expect(wasm.isInitialized()).toBe(true);
      const k = wasm.kernels();
      expect(k.memory).toBeInstanceOf(WebAssembly.Memory);
      expect(k.__stack_pointer).toBeInstanceOf(WebAssembly.Global);
      // A kernel runs: 4·5 floats allocated, then freed.
      const p = k.wn_alloc(20);
      expect(p).toBeGreaterThan(0);
      k.wn_free(p, 20);
      expect(wasm.wasmModule()).toBeInstanceOf(WebAssembly.Module);
    });
  }

  it('a relative path whose folder has a colon in its name: relative to the working directory, not a URL scheme', async () => {
    const folder = path.join(scratch, 'a:b');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'wasmnet.wasm'), wasmBytes);
    await wasm.init({ wasm: path.relative(process.cwd(), path.join(folder, 'wasmnet.wasm')) });
    expect(wasm.isInitialized()).toBe(true);
  });

  it('an http: URL, fetched (as a string and as a URL)', async () => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/wasmnet.wasm' ? 200 : 404, { 'content-type': 'application/wasm' });
      res.end(req.url === '/wasmnet.wasm' ? wasmBytes : undefined);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await wasm.init({ wasm: `${base}/wasmnet.wasm` });
      expect(wasm.isInitialized()).toBe(true);
      vi.resetModules();
      const fresh = await import('../ts/core/wasm.js');
      await fresh.init({ wasm: new URL(`${base}/wasmnet.wasm`) });
      expect(fresh.isInitialized()).toBe(true);
      vi.resetModules();
      const again = await import('../ts/core/wasm.js');
      const freshErrors = await import('../ts/core/errors.js');
      const err = await again.init({ wasm: `${base}/elsewhere.wasm` }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(freshErrors.InitError);
      expect((err as Error).message).toBe(`fetching ${base}/elsewhere.wasm failed: HTTP 404`);
    } finally {
      server.close();
    }
  });

  it('a Response whose MIME type only mentions text/html in a parameter (not an HTML page)', async () => {
    await wasm.init({ wasm: response(wasmBytes, 200, 'application/octet-stream; note=text/html') });
    expect(wasm.isInitialized()).toBe(true);
  });

  it('hands workers the module it instantiated, not another copy', async () => {
    const module = new WebAssembly.Module(wasmBytes);
    await wasm.init({ wasm: module });
    expect(wasm.wasmModule()).toBe(module);
  });

  it('loads once: a second init, and two at the same time, resolve to the same table', async () => {
    const [a, b] = await Promise.all([wasm.load({ wasm: wasmBytes }), wasm.load({ wasm: wasmBytes })]);
    expect(a).toBe(b);
    expect(a).toBe(wasm.kernels());
    // Once loaded, even a source that would fail is not looked at.
    expect(await wasm.load({ wasm: emptyModule })).toBe(a);
  });
});

describe('init() refuses', () => {
  it('options that are not an object', async () => {
    expect(await initError(wasm.init(42 as never))).toBe('init options must be an object such as { wasm: url }, got number');
    expect(await initError(wasm.init('dist/wasmnet.wasm' as never))).toBe('init options must be an object such as { wasm: url }, got string');
    expect(wasm.isInitialized()).toBe(false);
  });

  it('a wasm option of the wrong kind, naming what it takes', async () => {
    const said = "init options: wasm must be a URL or path, the file's bytes, a Response or a WebAssembly.Module, got";
    expect(await initError(wasm.init({ wasm: 42 } as never))).toBe(`${said} 42`);
    expect(await initError(wasm.init({ wasm: { href: wasmPath } } as never))).toMatch(said);
    expect(wasm.isInitialized()).toBe(false);
  });

  it('an unknown option, naming it and the known one', async () => {
    expect(await initError(wasm.init({ wsam: wasmPath } as never))).toBe('init options: unknown option "wsam" (known: wasm)');
  });

  it('a module that is not the wasmnet core', async () => {
    expect(await initError(wasm.init({ wasm: emptyModule }))).toBe('the loaded WebAssembly module is not the wasmnet core (wn_alloc or memory missing)');
    expect(wasm.isInitialized()).toBe(false);
  });

  it('a module with a memory but no wn_alloc', async () => {
    expect(await initError(wasm.init({ wasm: memoryOnlyModule }))).toBe('the loaded WebAssembly module is not the wasmnet core (wn_alloc or memory missing)');
  });

  it('bytes that are not WebAssembly, saying what the compiler said', async () => {
    const bad = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const compilerSaid = ((await WebAssembly.compile(bad).catch((e: unknown) => e)) as Error).message;
    expect(compilerSaid).toMatch(/magic/i);
    expect(await initError(wasm.init({ wasm: bad }))).toBe(`could not load the wasmnet WebAssembly core: ${compilerSaid}`);
  });

  it('a failure that is not even an Error, still as an InitError', async () => {
    // A response whose body cannot be read, rejecting with nothing at all.
    class Unreadable extends Response {
      override arrayBuffer(): Promise<ArrayBuffer> {
        return Promise.reject(undefined);
      }
    }
    const source = new Unreadable(wasmBytes, { status: 200, headers: { 'content-type': 'application/octet-stream' } });
    expect(await initError(wasm.init({ wasm: source }))).toBe('could not load the wasmnet WebAssembly core: undefined');
  });

  it('a missing file, naming it', async () => {
    const missing = wasmPath.replace('wasmnet.wasm', 'missing.wasm');
    const message = await initError(wasm.init({ wasm: missing }));
    expect(message).toContain('could not load the wasmnet WebAssembly core: ');
    expect(message).toContain('ENOENT');
    expect(message).toContain(missing);
  });

  it('an HTTP error, with its status', async () => {
    expect(await initError(wasm.init({ wasm: response('not here', 404, 'text/plain') }))).toBe('fetching the wasm file failed: HTTP 404');
  });

  it("a dev server's HTML page instead of the file", async () => {
    expect(await initError(wasm.init({ wasm: response('<!doctype html><p>app</p>', 200, 'text/html; charset=utf-8') }))).toBe(
      'fetching the wasm file gave an HTML page, not the .wasm (the server does not have the file there)',
    );
  });

  it('and a failed load can be retried with a good source', async () => {
    await initError(wasm.init({ wasm: emptyModule }));
    await wasm.init({ wasm: wasmBytes });
    expect(wasm.isInitialized()).toBe(true);
    expect(wasm.kernels().wn_gemm_workspace_len()).toBeGreaterThan(0);
  });
});

describe('the export table', () => {
  it('turns a trap into a WasmnetError naming the kernel, and puts the stack pointer back', async () => {
    await wasm.init({ wasm: wasmBytes });
    const k = wasm.kernels();
    const top = k.__stack_pointer.value as number;
    // 65537 × 65536 floats overflow the 32-bit length check inside the kernel: a deliberate trap.
    const out = k.wn_alloc(4);
    const call = () => k.wn_column_sums(out, 65537, 65536, out, 0);
    expect(call).toThrow(errors.WasmnetError);
    expect(call).toThrow(/^internal error in the wasm kernel wn_column_sums \(.+\); the arguments passed validation, so this is a wasmnet bug: please report it$/);
    expect(k.__stack_pointer.value).toBe(top);
    // Still usable: the next call works.
    expect(k.wn_all_finite(out, 1)).toBe(1);
    k.wn_free(out, 4);
  });

  it('lets errors that are not traps through unchanged', async () => {
    await wasm.init({ wasm: wasmBytes });
    const k = wasm.kernels() as unknown as Record<string, (...a: unknown[]) => unknown>;
    // A BigInt where an i32 is expected: JavaScript's TypeError, not a kernel's trap.
    expect(() => k.wn_alloc(1n)).toThrow(TypeError);
    expect(() => k.wn_alloc(1n)).not.toThrow(errors.WasmnetError);
  });
});
