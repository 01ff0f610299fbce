// Loading the WebAssembly core (`ts/core/wasm.ts`) from every kind of source `init({ wasm })` takes, and each way
// it can fail. Every test loads a fresh copy of the module (`vi.resetModules()`), so nothing is loaded yet: the
// setup file's `init()` loaded another copy. The sources are given explicitly, from dist/wasmnet.wasm.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const wasmPath = fileURLToPath(new URL('../dist/wasmnet.wasm', import.meta.url));
const wasmBytes = new Uint8Array(readFileSync(wasmPath));
/** The smallest valid module: a header and nothing else (no `wn_alloc`, no memory). */
const emptyModule = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

type WasmModule = typeof import('../ts/core/wasm.js');
type ErrorsModule = typeof import('../ts/core/errors.js');
let wasm: WasmModule;
let errors: ErrorsModule;

beforeEach(async () => {
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

  it('an unknown option, naming it and the known one', async () => {
    expect(await initError(wasm.init({ wsam: wasmPath } as never))).toBe('init options: unknown option "wsam" (known: wasm)');
  });

  it('a module that is not the wasmnet core', async () => {
    expect(await initError(wasm.init({ wasm: emptyModule }))).toBe('the loaded WebAssembly module is not the wasmnet core (wn_alloc or memory missing)');
    expect(wasm.isInitialized()).toBe(false);
  });

  it('bytes that are not WebAssembly, saying what the compiler said', async () => {
    const message = await initError(wasm.init({ wasm: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }));
    expect(message).toMatch(/^could not load the wasmnet WebAssembly core: .*magic/i);
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
