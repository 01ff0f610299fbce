/** What the ONNX tests share: running a model in ONNX Runtime (its wasm backend, in Node), comparing, editing models. */
import * as ort from 'onnxruntime-web';
import protobuf from 'protobufjs';
import { expect } from 'vitest';
import { ONNX_SCHEMA } from '../../ts/onnx/schema.js';

// One thread: no worker threads in the test process (and the machine's cores are shared).
ort.env.wasm.numThreads = 1;

/** ONNX Runtime's output for `x` `[n, ...]` fed to the model's only input. */
export async function runOrt(bytes: Uint8Array, x: Float32Array, shape: readonly number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [...shape]) });
    const t = out[session.outputNames[0]];
    return { data: t.data as Float32Array, dims: t.dims };
  } finally {
    await session.release();
  }
}

/**
 * Expects max|actual − expected| ≤ tol · max|expected|: the error relative to
 * the output's own scale (no floor of 1, so small outputs are held to it too).
 */
export function expectRelClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): number {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(scale, `${what}: all zero`).toBeGreaterThan(0);
  if (!(worst <= tol * scale)) expect.fail(`${what}: |error| ${worst} at ${at} (got ${actual[at]}, expected ${expected[at]}) exceeds ${tol} × ${scale}`);
  return worst / scale;
}

const modelType = protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace).lookupType('onnx.ModelProto');

/** A model's message as a plain object to edit (int64 as numbers); untyped, since tests reach into it freely. */
export function decodeOnnx(bytes: Uint8Array): any {
  return modelType.toObject(modelType.decode(bytes), { longs: Number, defaults: false });
}

/** The bytes of an edited message. */
export function encodeOnnx(message: object): Uint8Array {
  return modelType.encode(modelType.fromObject(message)).finish();
}
