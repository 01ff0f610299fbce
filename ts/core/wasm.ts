/**
 * Loading the WebAssembly core, and its export table.
 *
 * The core is `crate/` compiled for wasm32 with SIMD: a plain C ABI, so the
 * table below is the whole binding. All pointers are byte offsets into the
 * module's memory, all sizes element counts; 0 is the null pointer.
 */
import { InitError, WasmnetError, show } from './errors.js';
import { fromViteDeps } from './vite-dev.js';
import { readFileBytes } from './node-io.js';

type Ptr = number;

/** The functions `crate/src/lib.rs` exports, typed. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  /** The shadow stack pointer (exported by `crate/build.rs`), put back after a trap. */
  __stack_pointer: WebAssembly.Global;
  wn_alloc(bytes: number): Ptr;
  wn_free(ptr: Ptr, bytes: number): void;
  wn_gemm_workspace_len(): number;
  wn_gemm_depth_block(): number;
  wn_all_finite(p: Ptr, len: number): number;
  /** 1 when every sum is finite, else 0 (the gradient tree's root checks the batch's gradient as it writes it). */
  wn_add_assign(dst: Ptr, src: Ptr, len: number): number;
  /** 1 when every sum is finite, else 0. */
  wn_add_to(dst: Ptr, a: Ptr, b: Ptr, len: number): number;
  /** 96 flops per iteration of f32x4 multiply-add chains: the benchmark's peak probe. */
  wn_simd_peak(iterations: number): number;
  wn_gather_rows(src: Ptr, srcRows: number, rowLen: number, index: Ptr, count: number, dst: Ptr): void;
  wn_gemm(
    m: number, n: number, k: number,
    a: Ptr, aLen: number, rsa: number, csa: number,
    b: Ptr, bLen: number, rsb: number, csb: number,
    c: Ptr, ldc: number, accumulate: number, ws: Ptr,
  ): void;
  wn_gemm_packed_b_len(k: number, n: number): number;
  wn_gemm_pack_b(k: number, n: number, b: Ptr, bLen: number, rsb: number, csb: number, out: Ptr): void;
  /** A row-major `k × n` B (`out`) written back from what `wn_gemm_pack_b` packed of it. */
  wn_gemm_unpack_b(k: number, n: number, packed: Ptr, out: Ptr): void;
  wn_gemm_prepacked(
    m: number, n: number, k: number,
    a: Ptr, aLen: number, rsa: number, csa: number,
    packed: Ptr,
    c: Ptr, ldc: number, accumulate: number, ws: Ptr,
  ): void;
  wn_add_row_bias(z: Ptr, rows: number, cols: number, b: Ptr): void;
  wn_column_sums(m: Ptr, rows: number, cols: number, out: Ptr, accumulate: number): void;
  /** `usize::MAX` (−1 as read from an i32; `>>> 0` gives 0xffffffff) when a size overflows or the geometry is invalid. */
  wn_conv2d_cols_len(
    c: number, h: number, w: number, fh: number, fw: number,
    pt: number, pb: number, pl: number, pr: number, sh: number, sw: number,
  ): number;
  wn_conv2d_forward(
    n: number, c: number, h: number, w: number, m: number, fh: number, fw: number,
    pt: number, pb: number, pl: number, pr: number, sh: number, sw: number,
    a: Ptr, f: Ptr, b: Ptr, z: Ptr, relu: number, cols: Ptr, ws: Ptr,
  ): void;
  wn_conv2d_backward(
    n: number, c: number, h: number, w: number, m: number, fh: number, fw: number,
    pt: number, pb: number, pl: number, pr: number, sh: number, sw: number,
    a: Ptr, f: Ptr, delta: Ptr, df: Ptr, db: Ptr, da: Ptr, cols: Ptr, dcols: Ptr, ws: Ptr, accumulate: number,
  ): void;
  /** `sh`, `sw`: the stride (= `ph`, `pw` for the course's tiling). */
  wn_maxpool_forward(
    n: number, c: number, h: number, w: number, ph: number, pw: number, sh: number, sw: number,
    a: Ptr, out: Ptr,
  ): void;
  /** The course's mask of winners, from the forward's input `a` and output `out`. */
  wn_maxpool_winners(
    n: number, c: number, h: number, w: number, ph: number, pw: number, sh: number, sw: number,
    a: Ptr, out: Ptr, mask: Ptr,
  ): void;
  /** The convolution's forward pass into `z` (with `relu` = 1, max(z, 0)) and the max pooling's over it into `out`, image by image. */
  wn_conv2d_maxpool_forward(
    n: number, c: number, h: number, w: number, m: number, fh: number, fw: number,
    pt: number, pb: number, pl: number, pr: number, sh: number, sw: number,
    ph: number, pw: number, psh: number, psw: number,
    a: Ptr, f: Ptr, b: Ptr, z: Ptr, out: Ptr, relu: number, keepZ: number, cols: Ptr, ws: Ptr,
  ): void;
  /** Winners are found from `z` and `out` (the pooling forward's input and output). */
  wn_maxpool_conv2d_backward(
    n: number, c: number, h: number, w: number, m: number, fh: number, fw: number,
    pt: number, pb: number, pl: number, pr: number, sh: number, sw: number,
    ph: number, pw: number, psh: number, psw: number,
    a: Ptr, f: Ptr, z: Ptr, out: Ptr, pooledDelta: Ptr,
    strict: number, reluGate: number, dz: Ptr, df: Ptr, db: Ptr, da: Ptr,
    cols: Ptr, dcols: Ptr, ws: Ptr, accumulate: number,
  ): void;
  wn_maxpool_backward(
    n: number, c: number, h: number, w: number, ph: number, pw: number, sh: number, sw: number,
    a: Ptr, out: Ptr, delta: Ptr, strict: number, reluGate: number, da: Ptr,
  ): void;
  wn_avgpool_forward(
    n: number, c: number, h: number, w: number, ph: number, pw: number, sh: number, sw: number,
    a: Ptr, out: Ptr,
  ): void;
  wn_avgpool_backward(
    n: number, c: number, h: number, w: number, ph: number, pw: number, sh: number, sw: number,
    delta: Ptr, da: Ptr,
  ): void;
  /**
   * PyTorch's BatchNorm2d on `[n, c, hw]` (BatchNorm1d: hw = 1). Training: per-channel batch mean and biased
   * variance over all n·hw values (f64, fixed order; pass the WHOLE mini-batch, n·hw ≥ 2), running stats updated in
   * place with the unbiased variance; saves xhat (n·c·hw) and invstd (c) for backward.
   */
  wn_batchnorm_forward_train(
    n: number, c: number, hw: number, x: Ptr, gamma: Ptr, beta: Ptr, eps: number, momentum: number,
    runningMean: Ptr, runningVar: Ptr, y: Ptr, xhat: Ptr, invstd: Ptr,
  ): void;
  /** Normalizes with the running statistics (unchanged); writes xhat and invstd so a backward (training = 0) can follow. */
  wn_batchnorm_forward_eval(
    n: number, c: number, hw: number, x: Ptr, gamma: Ptr, beta: Ptr,
    runningMean: Ptr, runningVar: Ptr, eps: number, y: Ptr, xhat: Ptr, invstd: Ptr,
  ): void;
  /** training = 1: dx through the batch statistics; 0: statistics constant. dx may be 0 (not wanted). */
  wn_batchnorm_backward(
    n: number, c: number, hw: number, dy: Ptr, xhat: Ptr, gamma: Ptr, invstd: Ptr,
    training: number, dx: Ptr, dgamma: Ptr, dbeta: Ptr, accumulate: number,
  ): void;
  /** A shard's per-channel Σx and Σ(x − shard mean)², as f64 pairs at `out` (8-byte aligned, 2·c f64s). */
  wn_batchnorm_shard_stats(n: number, c: number, hw: number, x: Ptr, out: Ptr): void;
  /** xhat = ((x − mean) − meanLo)·invstd, y = gamma·xhat + beta, per-channel constants given. */
  wn_batchnorm_normalize(n: number, c: number, hw: number, x: Ptr, gamma: Ptr, beta: Ptr, mean: Ptr, meanLo: Ptr, invstd: Ptr, y: Ptr, xhat: Ptr): void;
  /** A shard's per-channel Σdy and Σdy·xhat, as f64 pairs at `out`. */
  wn_batchnorm_shard_grad_sums(n: number, c: number, hw: number, dy: Ptr, xhat: Ptr, out: Ptr): void;
  /** dx = a·dy + (b·xhat + k), per-channel constants given. */
  wn_batchnorm_combine(n: number, c: number, hw: number, dy: Ptr, xhat: Ptr, a: Ptr, b: Ptr, k: Ptr, dx: Ptr): void;
  /**
   * Inverted dropout, rate in [0, 1): keeps element e = (rowOffset + r)·cols + j (its index in the whole mini-batch)
   * when a SplitMix64 draw of (seed, step, e) passes, so chunking never changes the mask; kept values are scaled by
   * `Math.fround(1 / (1 - Math.fround(rate)))`. mask (bytes, 1 = kept) may be 0. seed and step are u32.
   */
  wn_dropout_forward(x: Ptr, out: Ptr, mask: Ptr, rows: number, cols: number, rowOffset: number, rate: number, seed: number, step: number): void;
  /** dx = mask ? dy·scale : 0, with the forward pass's scale. */
  wn_dropout_backward(dy: Ptr, mask: Ptr, len: number, scale: number, dx: Ptr): void;
  wn_activation_forward(kind: number, z: Ptr, a: Ptr, len: number, cols: number): void;
  wn_activation_backward(kind: number, z: Ptr, a: Ptr, delta: Ptr, out: Ptr, len: number, cols: number): void;
  /** `n`: the batch size the mean is taken over (≥ rows when a batch is taken in chunks). */
  wn_cross_entropy(yhat: Ptr, y: Ptr, rows: number, cols: number, grad: Ptr, n: number): number;
  wn_mean_squared_error(yhat: Ptr, y: Ptr, rows: number, cols: number, grad: Ptr, n: number): number;
  wn_softmax_cross_entropy_delta(yhat: Ptr, y: Ptr, rows: number, cols: number, out: Ptr, n: number): void;
  wn_count_correct(yhat: Ptr, y: Ptr, rows: number, cols: number): number;
  /** `velocity` may be 0 only when momentum is 0 and nesterov is 0 (the kernel traps otherwise). */
  wn_sgd(p: Ptr, g: Ptr, velocity: Ptr, len: number, lr: number, momentum: number, weightDecay: number, nesterov: number): void;
  /**
   * `l2`: Adam's weight decay added to the gradient (0: none); `decay`: AdamW's factor 1 − lr·wd on p (1: none).
   * 1 when every new p is finite, else 0.
   */
  wn_adam(
    p: Ptr, g: Ptr, m: Ptr, v: Ptr, len: number,
    lr: number, beta1: number, beta2: number, eps: number, bc1: number, bc2: number, l2: number, decay: number,
  ): number;
}

/** Where the `.wasm` comes from: a URL or path, its bytes, a fetch Response, or a compiled module. */
export type WasmSource = string | URL | ArrayBuffer | Uint8Array | Response | WebAssembly.Module;

export interface InitOptions {
  /** Overrides where the core is loaded from; by default `wasmnet.wasm` beside this module. */
  wasm?: WasmSource;
}

let exportsTable: KernelExports | null = null;
let loading: Promise<KernelExports> | null = null;

/** The file name the build puts beside the JavaScript bundles. */
export const WASM_FILE = 'wasmnet.wasm';

/**
 * Loads and instantiates the WebAssembly core once; later calls return at once.
 * Node reads the file beside the package's module; browsers fetch it
 * (`instantiateStreaming`, falling back to `arrayBuffer` when the server
 * sends another MIME type).
 */
export async function init(options: InitOptions = {}): Promise<void> {
  await load(options);
}

/** Loads the core once (what `init` does) and resolves to its export table. */
export function load(options: InitOptions = {}): Promise<KernelExports> {
  if (options !== undefined && options !== null && typeof options !== 'object') {
    return Promise.reject(new InitError(`init options must be an object such as { wasm: url }, got ${typeof options}`));
  }
  const unknown = options ? Object.keys(options).find((k) => k !== 'wasm') : undefined;
  if (unknown !== undefined) return Promise.reject(new InitError(`init options: unknown option ${JSON.stringify(unknown)} (known: wasm)`));
  const wasm: unknown = options?.wasm ?? undefined;
  if (wasm !== undefined && !isWasmSource(wasm)) {
    return Promise.reject(new InitError(`init options: wasm must be a URL or path, the file's bytes, a Response or a WebAssembly.Module, got ${show(wasm)}`));
  }
  if (exportsTable) return Promise.resolve(exportsTable);
  if (!loading) {
    loading = instantiate(wasm as WasmSource | undefined).then(
      (k) => (exportsTable = k),
      (err: unknown) => {
        loading = null;
        throw err instanceof InitError ? err : new InitError(`could not load the wasmnet WebAssembly core: ${(err as Error)?.message ?? err}`);
      },
    );
  }
  return loading;
}

/** Whether `init()` has finished. */
export function isInitialized(): boolean {
  return exportsTable !== null;
}

/** The export table; throws a clear error before `init()` has finished. */
export function kernels(): KernelExports {
  if (!exportsTable) throw new InitError('wasmnet is not initialized: call `await init()` once before building layers or networks');
  return exportsTable;
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

function defaultLocation(): URL {
  // A literal, not WASM_FILE: bundlers (Vite) read `new URL('…', import.meta.url)` statically, and a
  // template with a variable makes them treat it as a pattern over the whole folder.
  return fromViteDeps('wasmnet.wasm') ?? new URL('./wasmnet.wasm', import.meta.url);
}

/** The compiled module `init()` instantiated: workers get it, so they load nothing again. */
let compiledModule: WebAssembly.Module | null = null;

/** @internal The compiled wasmnet module (after `init()`), for starting workers. */
export function wasmModule(): WebAssembly.Module {
  kernels();
  return compiledModule!;
}

/** Whether `init()` loaded the core from its default place (beside this module): the threads core is beside it. */
let loadedFromDefault = false;
let threadsCompiled: Promise<WebAssembly.Module | null> | null = null;

/**
 * @internal The threads core (`scripts/build-wasm.sh`: the same kernels, with a shared memory that it imports),
 * compiled once, for the workers of a training run to share one memory (`threadMemory`); null where it cannot be had:
 * `init()` was given a core of the caller's (where the threads core is, is then unknown), its file is missing, or
 * the engine refuses it. The workers then copy their gradients through shared buffers instead.
 */
export function threadsModule(): Promise<WebAssembly.Module | null> {
  kernels();
  threadsCompiled ??= loadedFromDefault
    ? compile(fromViteDeps('wasmnet-threads.wasm') ?? new URL('./wasmnet-threads.wasm', import.meta.url)).catch(() => {
        threadsCompiled = null; // a network's blip: the next pool tries again
        return null;
      })
    : Promise.resolve(null);
  return threadsCompiled;
}

/** Each instance's shadow stack in a shared memory: 1 MiB, as the module's own. */
const THREAD_STACK_BYTES = 1 << 20;
/**
 * Each stack has 1 MiB of its own below it, left empty: wasm has no guard pages, so a stack that overflowed would
 * run on into whatever lies below it (another worker's stack, the module's data) without a trap. Into the gap, it
 * harms no one.
 */
const THREAD_SLOT_BYTES = 2 * THREAD_STACK_BYTES;
/** Where the stacks start at the latest: above the threads core's data and its own stack (`__heap_base`, 1.1 MB now). */
const THREAD_STACKS_AT = 2 << 20;

/**
 * @internal A shared memory for `slots` instances of the threads core, or null where the engine will not make one.
 * Its initial size holds the module's data and one shadow stack per instance above it (each with an empty MiB
 * below); the allocator never uses those pages (dlmalloc takes only pages it grows the memory by), so the stacks
 * are out of its way. All the workers' replicas share its 4 GiB, where each had its own before.
 */
export function threadMemory(slots: number): WebAssembly.Memory | null {
  try {
    return new WebAssembly.Memory({ initial: Math.ceil((THREAD_STACKS_AT + slots * THREAD_SLOT_BYTES) / 65536), maximum: 65536, shared: true });
  } catch {
    return null; // an engine that cannot reserve 4 GiB of shared memory: the workers keep memories of their own
  }
}

/** The shared memory this thread's core is to join, and its stack slot there (`joinThreadMemory`). */
let joining: { memory: WebAssembly.Memory; slot: number } | null = null;

/** @internal In a worker, before `init()`: instantiate the threads core in `memory` (`threadMemory`), with stack slot `slot`. */
export function joinThreadMemory(memory: WebAssembly.Memory, slot: number): void {
  if (!exportsTable) joining = { memory, slot };
}

/** Whether this thread's core is the threads core, in the memory `joinThreadMemory` named. */
let joined = false;

/** @internal Whether this thread's core is an instance of the threads core in a pool's shared memory. */
export function inThreadMemory(): boolean {
  return joined;
}

async function instantiate(source: WasmSource | undefined): Promise<KernelExports> {
  loadedFromDefault = source === undefined;
  const module = await compile(source ?? defaultLocation()).catch((err: unknown) => {
    if (source !== undefined || isNode()) throw err;
    // The default location failed in a browser: say how to point init() at the file.
    throw new InitError(
      `could not load the wasmnet WebAssembly core from ${defaultLocation().href}: ${(err as Error)?.message ?? err}. ` +
        `Serve dist/wasmnet.wasm beside wasmnet's module, or pass its URL: init({ wasm: '/path/to/wasmnet.wasm' })` +
        ` (with Vite, optimizeDeps: { exclude: ['wasmnet'] } also works)`,
    );
  });
  compiledModule = module;
  const importsMemory = WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
  if (importsMemory && !joining) throw new InitError('the loaded WebAssembly module is the threads core (wasmnet-threads.wasm, for workers): init() takes wasmnet.wasm');
  const memory = importsMemory ? joining!.memory : null;
  const instance = await WebAssembly.instantiate(module, memory ? { env: { memory } } : {});
  const raw = { ...(instance.exports as Record<string, unknown>) };
  if (memory) {
    raw.memory = memory;
    useOwnStack(raw, joining!.slot);
    joined = true;
  }
  if (typeof raw.wn_alloc !== 'function' || !(raw.memory instanceof WebAssembly.Memory)) {
    throw new InitError('the loaded WebAssembly module is not the wasmnet core (wn_alloc or memory missing)');
  }
  return guarded(raw) as unknown as KernelExports;
}

/**
 * Points an instance of the threads core at its own shadow stack, slot `slot` above the module's data: every instance
 * in a shared memory starts with the same stack pointer, and two threads must not share a stack.
 */
function useOwnStack(raw: Record<string, unknown>, slot: number): void {
  const heapBase = (raw.__heap_base as WebAssembly.Global | undefined)?.value as number | undefined;
  const stack = raw.__stack_pointer as WebAssembly.Global | undefined;
  if (heapBase === undefined || !stack || heapBase > THREAD_STACKS_AT) {
    throw new InitError(`the threads core has no room for its stacks (__heap_base ${heapBase} past ${THREAD_STACKS_AT}): a wasmnet bug`);
  }
  stack.value = THREAD_STACKS_AT + (slot + 1) * THREAD_SLOT_BYTES;
}

/**
 * @internal A trap at the threads core's poisoned allocator lock: another worker of the memory trapped inside the
 * allocator first (`wn_poison_allocator`), and this one only stopped because of it.
 */
export class PoisonedHeapError extends WasmnetError {}

/**
 * The export table with every function wrapped so that a WebAssembly trap
 * (a kernel's internal check failing) surfaces as a WasmnetError naming the
 * kernel, never as a raw `RuntimeError: unreachable`. The TypeScript side
 * validates first, so this is a safety net, not the way errors are reported.
 *
 * A trap does not unwind: the shadow stack pointer stays where the trapped
 * call had moved it, and enough traps would exhaust the stack for good. Calls
 * never nest (the module imports nothing), so between calls the pointer is
 * always its value at instantiation: it is put back after every trap.
 */
function guarded(raw: Record<string, unknown>): Record<string, unknown> {
  const stack = raw.__stack_pointer instanceof WebAssembly.Global ? raw.__stack_pointer : null;
  const stackTop = stack?.value as number | undefined;
  // The threads core: a trap inside its allocator leaves the lock held, and every other worker would wait on it.
  const poison = typeof raw.wn_poison_allocator === 'function' ? (raw.wn_poison_allocator as () => number) : null;
  const table: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'function') {
      table[name] = value;
      continue;
    }
    const fn = value as (...args: number[]) => number;
    table[name] = (...args: number[]) => {
      try {
        return fn(...args);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) {
          if (stack) stack.value = stackTop;
          if (poison?.() === 2) throw new PoisonedHeapError(`the wasm kernel ${name} stopped: another worker's core trapped inside the allocator`);
          throw new WasmnetError(`internal error in the wasm kernel ${name} (${e.message}); the arguments passed validation, so this is a wasmnet bug: please report it`);
        }
        throw e;
      }
    };
  }
  return table;
}

function isWasmSource(value: unknown): value is WasmSource {
  return (
    typeof value === 'string' ||
    value instanceof URL ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    (typeof Response !== 'undefined' && value instanceof Response) ||
    value instanceof WebAssembly.Module
  );
}

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source as BufferSource);
  if (typeof Response !== 'undefined' && source instanceof Response) return compileResponse(source);
  const url = typeof source === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(source) && isNode() ? source : new URL(String(source), import.meta.url);
  if (isNode() && (typeof url === 'string' || url.protocol === 'file:')) {
    return WebAssembly.compile((await readFileBytes(url)) as BufferSource);
  }
  return compileResponse(await fetch(url));
}

async function compileResponse(response: Response): Promise<WebAssembly.Module> {
  if (!response.ok) throw new InitError(`fetching ${response.url || 'the wasm file'} failed: HTTP ${response.status}`);
  // A dev server's fallback page (index.html for any unknown path) instead of the file.
  if (/^text\/html/i.test(response.headers.get('content-type') ?? '')) {
    throw new InitError(`fetching ${response.url || 'the wasm file'} gave an HTML page, not the .wasm (the server does not have the file there)`);
  }
  if (typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(response.clone());
    } catch {
      // Servers that send a MIME type other than application/wasm: compile the bytes instead.
    }
  }
  return WebAssembly.compile(await response.arrayBuffer());
}
