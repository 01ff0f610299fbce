// Fault injection beyond issue 14's list, as a careless or unlucky user would cause it: model files mutated field by
// field with a fixed-up checksum, sizes near 2³¹ and 2³² in every shape argument, truncated files, failures in the
// middle of save and load. The invariant each time: a typed error (WasmnetError) or correct behaviour, wasm memory
// back to its level, and a network built before all this untouched (same predictions, same file).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Adam, AdamW, AvgPool2DLayer, BatchNormLayer, Conv2DLayer, DenseLayer, DropoutLayer, Identity, Pool2DLayer, ReLU, Rng, SGD,
  SequentialNet, SoftMax, Tanh, Tensor, WasmnetError, init, readModelHeader, wasmBytesInUse,
} from 'wasmnet';
import { fixChecksum, rewriteModel } from './helpers/model-file.js';
import { uniform } from './helpers/util.js';

/** Every kind of layer, each optimizer, training state: as much of the file format as one network holds. */
function everythingNet(seed: number): SequentialNet {
  const net = new SequentialNet([1, 10, 10], { seed });
  net.addConv2D([4, 3, 3], { padding: 1, stride: 1, afun: new Identity(), optim: new AdamW(0.01, { weightDecay: 0.05 }) });
  net.addBatchNorm({ afun: new ReLU(), optim: new SGD(0.05, { momentum: 0.9, nesterov: true }) });
  net.addPool2D([2, 2], { stride: 2 });
  net.addDropout(0.3);
  net.addConv2D([3, 2, 2], { stride: [2, 1], afun: new Tanh(), optim: new Adam(0.01) });
  net.addAvgPool2D([2, 2], { stride: 1 });
  net.addFlatten();
  net.addDense(5, { afun: new SoftMax(), optim: new SGD(0.1, { momentum: 0.5 }) });
  return net;
}

const x = uniform([3, 1, 10, 10], new Rng(11));
const NEAR_LIMITS = [2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 32 + 6];

let reference: SequentialNet;
let referenceOut: Float32Array;
let referenceFile: Uint8Array;
let file: Uint8Array;
let level: number;

beforeAll(async () => {
  await init();
  reference = everythingNet(1);
  const y = Tensor.oneHot(Uint8Array.from([0, 3, 4]), 5);
  await reference.train(x, y, { batchSize: 2, epochs: 1 }); // optimizer state, dropout's step, the sample order
  referenceOut = reference.evaluate(x).data;
  referenceFile = reference.save({ meta: { note: 'reference' } });
  file = referenceFile.slice();
  reference.measure(x, y); // sizes the network's label buffer, which it then keeps and reuses
  level = wasmBytesInUse();
});

afterAll(() => reference.dispose());

/** Runs `attempt`: it must succeed or throw a WasmnetError, in well under a second, and leave memory at its level. */
function invariant(what: string, attempt: () => void): 'ok' | 'refused' {
  const t0 = performance.now();
  let outcome: 'ok' | 'refused' = 'ok';
  try {
    attempt();
  } catch (e) {
    if (!(e instanceof WasmnetError)) expect.fail(`${what}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    outcome = 'refused';
  }
  expect(performance.now() - t0, `${what}: took too long`).toBeLessThan(1000);
  expect(wasmBytesInUse(), `${what}: wasm memory not back to its level`).toBe(level);
  return outcome;
}

/** The reference network predicts and saves exactly as before. */
function referenceUntouched(): void {
  expect(reference.evaluate(x).data).toEqual(referenceOut);
  expect(reference.save({ meta: { note: 'reference' } })).toEqual(referenceFile);
}

/**
 * A loaded network must work: predictions of the right shape, finite unless `finite` is false (weights near
 * float32's largest value may overflow in the arithmetic, as they would anywhere), and a file of its own.
 */
function useLoaded(bytes: Uint8Array, finite = true): void {
  const net = SequentialNet.load(bytes);
  try {
    const out = net.evaluate(x);
    expect(out.shape).toEqual([3, 5]);
    if (finite) expect(out.data.every(Number.isFinite)).toBe(true);
    SequentialNet.load(net.save()).dispose();
  } finally {
    net.dispose();
  }
}

/** Paths to every number in a JSON value. */
function numberPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'number') return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => numberPaths(v, [...path, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => numberPaths(v, [...path, k]));
  return [];
}

function setAt(root: any, path: (string | number)[], value: unknown): void {
  let o = root;
  for (const key of path.slice(0, -1)) o = o[key];
  o[path[path.length - 1]] = value;
}

describe('model files mutated field by field, checksum fixed up', () => {
  it('every number in the header set to 0, −1, ½, sizes near 2³¹ and 2³², 1e12, null or a string', () => {
    const header = readModelHeader(file);
    const paths = numberPaths(header).filter((p) => p[0] !== 'version' && p[0] !== 'meta');
    expect(paths.length).toBeGreaterThan(60);
    const tally = { ok: 0, refused: 0 };
    for (const path of paths) {
      for (const value of [0, -1, 0.5, ...NEAR_LIMITS, 1e12, null, '7']) {
        const mutated = rewriteModel(file, (h) => setAt(h, path, value));
        tally[invariant(`${path.join('.')} = ${value}`, () => useLoaded(mutated))]++;
      }
    }
    expect(tally.refused).toBeGreaterThan(tally.ok); // most are refused; those that load are valid networks that work
    referenceUntouched();
  });

  it('every tensor\'s values replaced by NaN, ±Infinity, float32\'s largest value or a negative number', () => {
    const header = readModelHeader(file);
    let offset = 0;
    for (const t of header.tensors) {
      for (const bad of [NaN, Infinity, -Infinity, 3.4028234663852886e38, -1]) {
        const at = offset;
        const mutated = rewriteModel(file, () => {}, (data) => data.setFloat32(4 * at, bad, true));
        const outcome = invariant(`${t.name}[0] = ${bad}`, () => useLoaded(mutated, Math.abs(bad) < 1e38));
        if (!Number.isFinite(bad)) expect(outcome, `${t.name}[0] = ${bad}`).toBe('refused');
      }
      offset += t.length;
    }
    referenceUntouched();
  });

  it('the fixed fields (magic, version, header length) set to sizes near 2³¹ and 2³², and the file cut or extended anywhere', () => {
    for (const at of [8, 12]) {
      for (const value of [0, ...NEAR_LIMITS.filter((v) => v < 2 ** 32)]) {
        const mutated = file.slice();
        new DataView(mutated.buffer).setUint32(at, value, true);
        expect(invariant(`u32 at ${at} = ${value}`, () => useLoaded(fixChecksum(mutated)))).toBe('refused');
      }
    }
    for (let cut = 0; cut < file.length; cut += Math.max(1, Math.floor(file.length / 97))) {
      expect(invariant(`cut at ${cut}`, () => useLoaded(file.subarray(0, cut)))).toBe('refused');
      expect(invariant(`cut at ${cut}, checksum fixed`, () => useLoaded(cut >= 20 ? fixChecksum(file.slice(0, cut)) : file.subarray(0, cut)))).toBe('refused');
    }
    const longer = new Uint8Array(file.length + 8);
    longer.set(file.subarray(0, file.length - 4));
    expect(invariant('8 bytes more', () => useLoaded(fixChecksum(longer)))).toBe('refused');
    referenceUntouched();
  });
});

describe('sizes near 2³¹ and 2³² in every shape argument', () => {
  /** Builds something (disposing it after) or refuses it with a typed error, fast, leaving memory as it was. */
  const attempt = (what: string, build: () => { dispose(): void }) => invariant(what, () => build().dispose());

  it('layer constructors', () => {
    // 'refused' where nothing valid can be built (a sample or a parameter past 4 GiB, a filter past its input);
    // 'either' where the size is merely unusual (a stride beyond the input gives a 1-wide output).
    for (const d of NEAR_LIMITS) {
      const cases: [string, 'refused' | 'either', () => { dispose(): void }][] = [
        [`Conv2D tensor c = ${d}`, 'refused', () => new Conv2DLayer([d, 5, 5], [2, 3, 3])],
        [`Conv2D tensor h = ${d}`, 'refused', () => new Conv2DLayer([1, d, 5], [2, 3, 3])],
        [`Conv2D tensor w = ${d}`, 'refused', () => new Conv2DLayer([1, 5, d], [2, 3, 3])],
        [`Conv2D filters m = ${d}`, 'refused', () => new Conv2DLayer([1, 5, 5], [d, 3, 3])],
        [`Conv2D filters fh = ${d}`, 'refused', () => new Conv2DLayer([1, 5, 5], [2, d, 3])],
        [`Conv2D filters fw = ${d}`, 'refused', () => new Conv2DLayer([1, 5, 5], [2, 3, d])],
        [`Conv2D padding ${d}`, 'refused', () => new Conv2DLayer([1, 5, 5], [2, 3, 3], { padding: d })],
        [`Conv2D padding [1, ${d}]`, 'refused', () => new Conv2DLayer([1, 5, 5], [2, 3, 3], { padding: [1, d] })],
        [`Conv2D stride ${d}`, 'either', () => new Conv2DLayer([1, 5, 5], [2, 3, 3], { stride: d })],
        [`Pool2D area [${d}, 2]`, 'either', () => new Pool2DLayer([d, 2])],
        [`Pool2D stride ${d}`, 'either', () => new Pool2DLayer([2, 2], { stride: d })],
        [`AvgPool2D area [2, ${d}]`, 'either', () => new AvgPool2DLayer([2, d])],
        [`AvgPool2D stride [1, ${d}]`, 'either', () => new AvgPool2DLayer([2, 2], { stride: [1, d] })],
        [`Dense ${d} → 3`, 'refused', () => new DenseLayer(d, 3)],
        [`Dense 3 → ${d}`, 'refused', () => new DenseLayer(3, d)],
        [`BatchNorm ${d} features`, 'refused', () => new BatchNormLayer(d)],
        [`Dropout seed ${d}`, d < 2 ** 32 ? 'either' : 'refused', () => new DropoutLayer(0.5, { seed: d })],
      ];
      for (const [what, expected, build] of cases) {
        const outcome = attempt(what, build);
        if (expected === 'refused') expect(outcome, what).toBe('refused');
      }
    }
    referenceUntouched();
  });

  it('networks: input shapes and every adder', () => {
    const small = () => {
      const net = new SequentialNet([2, 9, 9], { seed: 3 });
      net.addConv2D([2, 2, 2]);
      return net;
    };
    for (const d of NEAR_LIMITS) {
      for (let axis = 0; axis < 3; axis++) {
        const shape = [2, 9, 9];
        shape[axis] = d;
        expect(attempt(`SequentialNet inputShape ${shape}`, () => new SequentialNet(shape))).toBe('refused');
      }
      expect(attempt(`SequentialNet inputShape [${d}]`, () => new SequentialNet([d]))).toBe('refused');
      expect(attempt(`SequentialNet inputShape [${d}, ${d}, ${d}] (product past 2⁵³)`, () => new SequentialNet([d, d, d]))).toBe('refused');
      // An adder on a small network: it adds the layer or refuses it, and disposing the network frees everything.
      const onSmall = (what: string, add: (net: SequentialNet) => unknown) =>
        invariant(what, () => {
          const net = small();
          try {
            add(net);
          } finally {
            net.dispose();
          }
        });
      expect(onSmall(`addConv2D [${d}, 2, 2]`, (net) => net.addConv2D([d, 2, 2]))).toBe('refused');
      expect(onSmall(`addConv2D padding ${d}`, (net) => net.addConv2D([1, 2, 2], { padding: d }))).toBe('refused');
      onSmall(`addConv2D stride ${d}`, (net) => net.addConv2D([1, 2, 2], { stride: [1, d] }));
      expect(onSmall(`addDense ${d}`, (net) => net.addFlatten() && net.addDense(d))).toBe('refused');
      onSmall(`addPool2D stride ${d}`, (net) => net.addPool2D([1, 1], { stride: d }));
      onSmall(`addAvgPool2D area [${d}, 1]`, (net) => net.addAvgPool2D([d, 1]));
      onSmall(`addBatchNorm, then addDropout seed ${d}`, (net) => net.addBatchNorm() && net.addDropout(0.1, { seed: d }));
    }
    expect(wasmBytesInUse()).toBe(level);
    referenceUntouched();
  });

  it('batch sizes near 2³¹ and 2³² for evaluate, measure and train', async () => {
    const y = Tensor.oneHot(Uint8Array.from([1, 2, 3]), 5);
    for (const d of NEAR_LIMITS) {
      invariant(`evaluate batchSize ${d}`, () => expect(reference.evaluate(x, { batchSize: d }).data).toEqual(referenceOut));
      invariant(`measure batchSize ${d}`, () => reference.measure(x, y, { batchSize: d }));
      const net = everythingNet(2);
      const before = wasmBytesInUse();
      await net.train(x, y, { batchSize: d, epochs: 1 }).then(
        () => {},
        (e) => expect(e).toBeInstanceOf(WasmnetError),
      );
      net.dispose();
      expect(wasmBytesInUse()).toBeLessThanOrEqual(before);
    }
    expect(wasmBytesInUse()).toBe(level);
    referenceUntouched();
  });
});

describe('failures in the middle of save and load', () => {
  it('metadata that throws while it is serialized: a ValueError, and the network saves the same file after', () => {
    let calls = 0;
    const meta = {
      fine: 1,
      get late() {
        calls++;
        throw new RangeError('metadata getter failed');
      },
    };
    invariant('save with a throwing getter', () => reference.save({ meta }));
    expect(calls).toBeGreaterThan(0);
    invariant('save with a throwing toJSON', () => reference.save({ meta: { a: { toJSON: () => { throw new Error('x'); } } } }));
    referenceUntouched();
  });

  it('saving a network one of whose layers was disposed behind its back: a typed error; disposing it then frees all', () => {
    const net = everythingNet(4);
    net.layers[4].dispose();
    expect(() => net.save()).toThrow(WasmnetError);
    expect(() => net.evaluate(x)).toThrow(WasmnetError);
    net.dispose();
    expect(wasmBytesInUse()).toBe(level);
    referenceUntouched();
  });

  it('a load that fails at each layer in turn frees what it had built', () => {
    const layers = readModelHeader(file).layers.length;
    for (let k = 0; k < layers; k++) {
      const mutated = rewriteModel(file, (h) => (h.layers[k].kind = 'Nonsense'));
      expect(invariant(`layer ${k} of an unknown kind`, () => useLoaded(mutated))).toBe('refused');
      const late = rewriteModel(file, (h) => (h.training.layers = h.training.layers.slice(0, k)));
      expect(invariant(`training state for ${k} layers`, () => useLoaded(late))).toBe('refused');
    }
    referenceUntouched();
  });
});

describe('a kernel that traps', () => {
  it('leaves the module usable: the stack pointer is put back, so 25,000 traps in a row do not exhaust the stack', async () => {
    const { allocF32, kernels } = await import('wasmnet/internal');
    const k = kernels();
    const m = allocF32(16);
    const out = allocF32(16);
    const top = k.__stack_pointer.value;
    // rows · cols wraps around 32 bits: the shim traps (a WasmnetError), having moved the stack pointer.
    expect(() => k.wn_column_sums(m.ptr, 65537, 65536, out.ptr, 0)).toThrow(/internal error in the wasm kernel wn_column_sums/);
    expect(k.__stack_pointer.value).toBe(top);
    let traps = 0;
    for (let i = 0; i < 25_000; i++) {
      try {
        k.wn_column_sums(m.ptr, 65537, 65536, out.ptr, 0);
      } catch (e) {
        if (e instanceof WasmnetError) traps++;
      }
    }
    expect(traps).toBe(25_000);
    m.free();
    out.free();
    expect(wasmBytesInUse()).toBe(level);
    referenceUntouched(); // allocates, calls every kernel of a network
    const conv = new Conv2DLayer([1, 28, 28], [8, 3, 3], { seed: 1 });
    expect(conv.evaluate(Tensor.zeros([2, 1, 28, 28])).shape).toEqual([2, 8, 26, 26]);
    conv.dispose();
  });
});
