/**
 * Arrays that live in the WebAssembly module's linear memory.
 *
 * The rule: `memory.grow` (any allocation may trigger it) detaches every
 * typed-array view of the old memory. So a `WasmArray` never hands out a view
 * it made before the memory last grew: `view()` checks and rebuilds. Hold a
 * view only until your next call into wasmnet.
 */
import { DisposedError, OutOfMemoryError, ShapeError, show } from './errors.js';
import { PoisonedHeapError, kernels } from './wasm.js';

type TypedArray = Float32Array | Uint8Array | Uint32Array;
interface TypedArrayCtor<T extends TypedArray> {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

/** Frees buffers whose owner forgot `dispose()`; a safety net, not the plan. */
const leaked = new FinalizationRegistry<{ ptr: number; bytes: number }>(({ ptr, bytes }) => {
  liveBytes -= bytes;
  try {
    kernels().wn_free(ptr, bytes);
  } catch (e) {
    // A worker's heap that another worker's trap poisoned: nothing is freed there again, and the pool ends it.
    if (!(e instanceof PoisonedHeapError)) throw e;
  }
});

/**
 * What wasmnet may allocate in all: wasm32's 4 GiB less room for the
 * module's own data, stack and allocator overhead.
 */
export const MEMORY_LIMIT = 2 ** 32 - 2 ** 26;

/**
 * Bytes held by live `WasmArray`s. Each array adds its size once and takes
 * exactly that off once, and sizes are validated integers (never a wrapped,
 * negative one), so the count is exact: never negative, never drifting.
 */
let liveBytes = 0;

/** Bytes of WebAssembly memory wasmnet's arrays hold now. */
export function wasmBytesInUse(): number {
  return liveBytes;
}

/**
 * Throws an OutOfMemoryError, before anything is allocated, unless one
 * sample of `shape` (float32 values) fits in WebAssembly memory. Once this
 * holds, every dimension and every per-sample product a kernel is given fits
 * its 32-bit sizes with room to spare. `what` names the shape's owner.
 */
export function checkSampleFits(shape: readonly number[], what: string): void {
  const bytes = 4 * shape.reduce((a, d) => a * d, 1);
  if (!(bytes <= MEMORY_LIMIT)) {
    throw new OutOfMemoryError(`${what} ${show(shape)}: one sample needs ${formatBytes(bytes)} of WebAssembly memory, more than its 4 GiB`);
  }
}

/** Human-readable byte count. */
export function formatBytes(bytes: number): string {
  if (bytes < 2 ** 20) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  if (bytes < 2 ** 30) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * Throws an OutOfMemoryError, before anything is allocated, unless `bytes`
 * more fit in WebAssembly memory. `what` names the thing that needs them.
 */
export function ensureFits(bytes: number, what: string): void {
  // A negative, fractional or NaN size is an overflowed computation, not a small request: it must not pass.
  if (typeof bytes !== 'number' || !(bytes >= 0) || (Number.isFinite(bytes) && !Number.isInteger(bytes))) {
    throw new ShapeError(`${what}: its size in bytes came out as ${show(bytes)}, which is no size (an overflowed computation)`);
  }
  if (!(liveBytes + bytes <= MEMORY_LIMIT)) {
    throw new OutOfMemoryError(
      `${what} needs ${formatBytes(bytes)} of WebAssembly memory, but only ${formatBytes(Math.max(0, MEMORY_LIMIT - liveBytes))} of its 4 GiB are free` +
        (liveBytes > 0 ? ` (${formatBytes(liveBytes)} in use: dispose() networks you no longer need)` : ''),
    );
  }
}

export class WasmArray<T extends TypedArray> {
  /** Byte offset of the first element in wasm memory (0 for an empty array). */
  readonly ptr: number;
  readonly length: number;
  private readonly ctor: TypedArrayCtor<T>;
  private cached: T | null = null;
  private freed = false;
  /** A view of memory another array owns (`borrowF32`, `foreignF32`): freeing it frees nothing. */
  private readonly borrowed: boolean;

  constructor(ctor: TypedArrayCtor<T>, length: number, within?: { owner: WasmArray<T>; offset: number } | { address: number }) {
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw new ShapeError(`a wasm array's length must be an integer ≥ 0, got ${show(length)} (an overflowed size computation)`);
    }
    this.ctor = ctor;
    this.length = length;
    this.borrowed = within !== undefined;
    if (within && 'address' in within) {
      // Another thread's array in a memory this one shares: its address is all this thread knows of it.
      if (!Number.isSafeInteger(within.address) || within.address <= 0 || within.address % ctor.BYTES_PER_ELEMENT !== 0) {
        throw new ShapeError(`a view of another thread's array at ${show(within.address)} is no aligned address (a wasmnet bug)`);
      }
      this.ptr = length === 0 ? 0 : within.address;
      const memory = kernels().memory;
      const end = within.address + length * ctor.BYTES_PER_ELEMENT;
      // The owner's thread may have grown the memory for it, and V8 brings the other threads' instances up to date
      // with a grow asynchronously: a kernel reading it before would trap. Growing by 0 brings this one up to date.
      if (end > memory.buffer.byteLength) memory.grow(0);
      if (end > memory.buffer.byteLength) {
        throw new ShapeError(`a view of another thread's array at ${show(within.address)}, ${length} long, ends past the memory's ${memory.buffer.byteLength} bytes (a wasmnet bug)`);
      }
      return;
    }
    if (within) {
      const { owner, offset } = within;
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > owner.length) {
        throw new ShapeError(`a view of ${length} elements at ${show(offset)} does not fit an array of ${owner.length} (a wasmnet bug)`);
      }
      this.ptr = length === 0 ? 0 : owner.ptr + offset * ctor.BYTES_PER_ELEMENT;
      return;
    }
    const bytes = length * ctor.BYTES_PER_ELEMENT;
    ensureFits(bytes, `an array of ${length} × ${ctor.name}`);
    // Pointers above 2 GiB come back from wasm as negative i32: read them unsigned.
    this.ptr = bytes === 0 ? 0 : kernels().wn_alloc(bytes) >>> 0;
    if (bytes > 0 && this.ptr === 0) {
      throw new OutOfMemoryError(`out of WebAssembly memory: the engine refused to grow it for ${formatBytes(bytes)} more`);
    }
    if (bytes > 0) {
      liveBytes += bytes;
      leaked.register(this, { ptr: this.ptr, bytes }, this);
    }
  }

  get byteLength(): number {
    return this.length * this.ctor.BYTES_PER_ELEMENT;
  }

  /** A view of the elements, valid until the memory next grows. */
  view(): T {
    if (this.freed) throw new DisposedError('this buffer was disposed');
    const buffer = kernels().memory.buffer;
    if (!this.cached || this.cached.buffer !== buffer) {
      this.cached = new this.ctor(buffer, this.ptr, this.length);
    }
    return this.cached;
  }

  /** Copies `source` into the first `source.length` elements. */
  set(source: ArrayLike<number>, offset = 0): void {
    this.view().set(source, offset);
  }

  /** A copy of the elements in ordinary JavaScript memory. */
  toArray(): T {
    return this.view().slice() as T;
  }

  /** Returns the memory to the allocator. Safe to call twice. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.cached = null;
    if (this.ptr !== 0 && !this.borrowed) {
      leaked.unregister(this);
      liveBytes -= this.byteLength;
      kernels().wn_free(this.ptr, this.byteLength);
    }
  }
}

export type F32Array = WasmArray<Float32Array>;
export type U32Array = WasmArray<Uint32Array>;
export const allocF32 = (length: number): F32Array => new WasmArray(Float32Array, length);
/** Elements `offset` … `offset + length − 1` of `owner`, in place: valid while `owner` is, and never freed on its own. */
export const borrowF32 = (owner: F32Array, offset: number, length: number): F32Array => new WasmArray(Float32Array, length, { owner, offset });
/**
 * `length` floats at byte address `address` of this thread's wasm memory that another thread owns (the threads core:
 * the workers of a training run share one memory): valid while the owner keeps them, never freed from here.
 */
export const foreignF32 = (address: number, length: number): F32Array => new WasmArray(Float32Array, length, { address });
export const allocU8 = (length: number): WasmArray<Uint8Array> => new WasmArray(Uint8Array, length);
export const allocU32 = (length: number): WasmArray<Uint32Array> => new WasmArray(Uint32Array, length);

/**
 * A wasm array that grows to the largest size asked of it and is otherwise
 * reused: layers keep their batch-sized buffers in these, so changing to a
 * smaller batch (the last one of an epoch) allocates nothing.
 */
export class Growable<T extends TypedArray> {
  private array: WasmArray<T> | null = null;

  constructor(private readonly ctor: TypedArrayCtor<T>) {}

  /** The array, at least `length` long; reallocated (contents lost) only when too short. */
  ensure(length: number): WasmArray<T> {
    // `length < NaN` is false: without this a NaN size would silently get the old, shorter array.
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new ShapeError(`a wasm buffer's length must be an integer ≥ 0, got ${show(length)} (an overflowed size computation)`);
    }
    if (!this.array || this.array.length < length) {
      this.array?.free();
      this.array = null;
      this.array = new WasmArray(this.ctor, length);
    }
    return this.array;
  }

  /** The array; throws if `ensure` was never called (a bug in the caller, not user error). */
  get current(): WasmArray<T> {
    if (!this.array) throw new DisposedError('this buffer was disposed or never sized');
    return this.array;
  }

  free(): void {
    this.array?.free();
    this.array = null;
  }
}

export const growableF32 = (): Growable<Float32Array> => new Growable(Float32Array);
export const growableU8 = (): Growable<Uint8Array> => new Growable(Uint8Array);

/** The shared GEMM workspace (kernels are single-threaded, so one suffices). */
let workspace: F32Array | null = null;
export function gemmWorkspace(): number {
  if (!workspace) workspace = allocF32(kernels().wn_gemm_workspace_len());
  return workspace.ptr;
}
