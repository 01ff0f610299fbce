/**
 * Arrays that live in the WebAssembly module's linear memory.
 *
 * The rule: `memory.grow` (any allocation may trigger it) detaches every
 * typed-array view of the old memory. So a `WasmArray` never hands out a view
 * it made before the memory last grew: `view()` checks and rebuilds. Hold a
 * view only until your next call into wasmnet.
 */
import { DisposedError, WasmnetError } from './errors.js';
import { kernels } from './wasm.js';

type TypedArray = Float32Array | Uint8Array | Uint32Array;
interface TypedArrayCtor<T extends TypedArray> {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

/** Frees buffers whose owner forgot `dispose()`; a safety net, not the plan. */
const leaked = new FinalizationRegistry<{ ptr: number; bytes: number }>(({ ptr, bytes }) => {
  kernels().wn_free(ptr, bytes);
});

/** Largest single allocation wasm32's 4 GiB address space could hold. */
const MAX_BYTES = 2 ** 32 - 2 ** 16;

export class WasmArray<T extends TypedArray> {
  /** Byte offset of the first element in wasm memory (0 for an empty array). */
  readonly ptr: number;
  readonly length: number;
  private readonly ctor: TypedArrayCtor<T>;
  private cached: T | null = null;
  private freed = false;

  constructor(ctor: TypedArrayCtor<T>, length: number) {
    const bytes = length * ctor.BYTES_PER_ELEMENT;
    if (bytes > MAX_BYTES) {
      throw new WasmnetError(`cannot allocate ${length} × ${ctor.name} (${bytes} bytes): more than WebAssembly's 4 GiB memory`);
    }
    this.ctor = ctor;
    this.length = length;
    this.ptr = bytes === 0 ? 0 : kernels().wn_alloc(bytes);
    if (bytes > 0 && this.ptr === 0) {
      throw new WasmnetError(`out of WebAssembly memory: could not allocate ${bytes} bytes`);
    }
    if (bytes > 0) leaked.register(this, { ptr: this.ptr, bytes }, this);
  }

  get byteLength(): number {
    return this.length * this.ctor.BYTES_PER_ELEMENT;
  }

  get isFreed(): boolean {
    return this.freed;
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
    if (this.ptr !== 0) {
      leaked.unregister(this);
      kernels().wn_free(this.ptr, this.byteLength);
    }
  }
}

export type F32Array = WasmArray<Float32Array>;
export const allocF32 = (length: number): F32Array => new WasmArray(Float32Array, length);
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
    if (!this.array || this.array.length < length) {
      this.array?.free();
      this.array = null;
      this.array = new WasmArray(this.ctor, length);
    }
    return this.array;
  }

  /** The array; throws if `ensure` was never called (a bug in the caller, not user error). */
  get current(): WasmArray<T> {
    if (!this.array) throw new WasmnetError('internal: buffer used before it was sized');
    return this.array;
  }

  get allocated(): boolean {
    return this.array !== null;
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
