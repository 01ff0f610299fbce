// Resumable training (ts/io/model-file.ts, ts/train/loop.ts): a model file keeps the optimizers' state, the
// shuffling and dropout streams, batch norm's statistics and the epoch count, so that training N epochs in one
// go equals training k epochs, saving, loading and training N − k more — bit for bit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Adam, AdamW, CosineAnnealing, Identity, ReLU, Rng, SGD, SequentialNet, SoftMax, StepDecay, Tanh, Tensor, ValueError, courseCnn, readModelHeader, wasmBytesInUse,
  type LrFunction, type LrSchedule,
} from 'wasmnet';
import { uniform } from './helpers/util.js';

/**
 * Every parameter, buffer and the epoch count: what "the same network" means here. Tensors are compared
 * bit for bit, reported as the first differing entry (a diff of half a million numbers would take minutes).
 */
function snapshot(net: SequentialNet) {
  const bits = (v: Float32Array) => {
    const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
    let h = 0x811c9dc5;
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193) >>> 0;
    return `${v.length} values, hash ${h.toString(16)}, first ${v[0]}`;
  };
  return {
    params: net.parameters().map((p) => [p.name, bits(p.value.view())]),
    buffers: net.buffers().map((b) => [b.name, bits(b.value.view())]),
    epochs: net.epochsTrained,
  };
}

function data(n: number, inputShape: number[], classes: number, seed: number) {
  const rng = new Rng(seed);
  const x = uniform([n, ...inputShape], rng, 0, 1);
  const y = Tensor.oneHot(Array.from({ length: n }, () => rng.int(classes)), classes);
  return { x, y };
}

/** A network with every kind of training state: Adam, AdamW and SGD (momentum, Nesterov) moments, batch norm, dropout. */
function everythingNet(seed: number): SequentialNet {
  const net = new SequentialNet([1, 10, 10], { seed });
  net.addConv2D([4, 3, 3], { padding: 1, afun: new Identity(), optim: new AdamW(0.01, { weightDecay: 0.05 }) });
  net.addBatchNorm({ afun: new ReLU(), optim: new SGD(0.05, { momentum: 0.9, nesterov: true, weightDecay: 1e-3 }) });
  net.addPool2D([2, 2]);
  net.addDropout(0.3);
  net.addFlatten();
  net.addDense(12, { afun: new Tanh(), optim: new Adam(0.01, { weightDecay: 1e-4 }) });
  net.addDense(5, { afun: new SoftMax(), optim: new SGD(0.1, { momentum: 0.5 }) });
  return net;
}

async function resumeEqualsContinuous(make: () => SequentialNet, inputShape: number[], classes: number, lrSchedule?: LrSchedule | LrFunction) {
  const { x, y } = data(60, inputShape, classes, 9);
  const options = { batchSize: 16, lrSchedule };
  const straight = make();
  const history = await straight.train(x, y, { ...options, epochs: 3 });
  const first = make();
  await first.train(x, y, { ...options, epochs: 1 });
  const resumed = SequentialNet.load(first.save());
  const rest = await resumed.train(x, y, { ...options, epochs: 2 });
  expect(snapshot(resumed)).toEqual(snapshot(straight));
  expect(rest.map((e) => [e.epoch, e.loss, e.lr])).toEqual(history.slice(1).map((e) => [e.epoch, e.loss, e.lr]));
  // …and they keep agreeing: the optimizer state went along, not just the weights.
  await straight.train(x, y, { ...options, epochs: 1 });
  await resumed.train(x, y, { ...options, epochs: 1 });
  expect(snapshot(resumed)).toEqual(snapshot(straight));
  for (const n of [straight, first, resumed]) n.dispose();
}

describe('resumable training', () => {
  it("the course's network: 3 epochs in one go = 1 epoch, save, load, 2 more (Adam's moments and step counts, the shuffling)", async () => {
    await resumeEqualsContinuous(() => courseCnn({ seed: 4 }), [1, 28, 28], 10);
  });

  it('with batch norm, dropout, SGD with Nesterov momentum, AdamW, weight decay and a step schedule', async () => {
    await resumeEqualsContinuous(() => everythingNet(6), [1, 10, 10], 5, new StepDecay({ stepSize: 2, gamma: 0.5 }));
  });

  it('with cosine annealing and a plain function as schedules', async () => {
    await resumeEqualsContinuous(() => everythingNet(7), [1, 10, 10], 5, new CosineAnnealing({ tMax: 4 }));
    await resumeEqualsContinuous(() => everythingNet(8), [1, 10, 10], 5, (epoch, base) => base / (1 + epoch));
  });

  it('the history records the learning rate per epoch; the optimizers keep their base rate afterwards', async () => {
    const { x, y } = data(20, [1, 10, 10], 5, 2);
    const net = everythingNet(3);
    const history = await net.train(x, y, { batchSize: 10, epochs: 4, lrSchedule: new StepDecay({ stepSize: 2, gamma: 0.1 }) });
    // the first layer's optimizer is AdamW(0.01)
    expect(history.map((e) => e.lr)).toEqual([0.01, 0.01, 0.01 * 0.1, 0.01 * 0.1]);
    expect(history.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(net.layers.flatMap((l) => l.optimizers()).map((o) => o.lr)).toEqual([0.01, 0.05, 0.01, 0.1]);
    expect(net.epochsTrained).toBe(4);
    net.dispose();
  });

  it('readModelHeader tells what a file holds without building it', async () => {
    const net = everythingNet(16);
    const { x, y } = data(20, [1, 10, 10], 5, 6);
    await net.train(x, y, { batchSize: 10, epochs: 2 });
    const header = readModelHeader(net.save({ meta: { note: 'two epochs' } }));
    expect(header.version).toBe(2);
    expect(header.layers.map((l) => l.kind)).toEqual(['Conv2D', 'BatchNorm', 'Pool2D', 'Dropout', 'Flatten', 'Dense', 'Dense']);
    expect(header.training?.epochsTrained).toBe(2);
    expect(header.meta).toEqual({ note: 'two epochs' });
    expect(readModelHeader(net.save({ trainingState: false })).training).toBeUndefined();
    net.dispose();
  });

  it('save({ trainingState: false }) writes the smaller inference file: same predictions, training starts afresh', async () => {
    const { x, y } = data(30, [1, 10, 10], 5, 3);
    const net = everythingNet(5);
    await net.train(x, y, { batchSize: 10, epochs: 1 });
    const full = net.save();
    const small = net.save({ trainingState: false });
    expect(small.length).toBeLessThan(full.length * 0.6);
    const a = SequentialNet.load(full);
    const b = SequentialNet.load(small);
    expect(b.evaluate(x).data).toEqual(net.evaluate(x).data);
    expect(a.evaluate(x).data).toEqual(net.evaluate(x).data);
    expect([a.epochsTrained, b.epochsTrained]).toEqual([1, 0]);
    for (const n of [net, a, b]) n.dispose();
  });

  it('a damaged training state is refused with a clear error, and nothing is half-built', () => {
    const net = everythingNet(5);
    const bytes = net.save();
    net.dispose();
    // Rename one optimizer state tensor (same length, so the header keeps its size) and fix up the checksum.
    const view = new DataView(bytes.buffer);
    const headerLength = view.getUint32(12, true);
    const json = new TextDecoder().decode(bytes.subarray(16, 16 + headerLength));
    const header = JSON.parse(json);
    const entry = header.training.optimizer.find((o: { state: string[] }) => o.state.join() === 'm,v');
    entry.state = ['m', 'w'];
    const text = JSON.stringify(header).padEnd(headerLength, ' ');
    expect(text.length).toBe(headerLength);
    bytes.set(new TextEncoder().encode(text), 16);
    view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
    const inUse = wasmBytesInUse();
    expect(() => SequentialNet.load(bytes)).toThrow(ValueError);
    expect(wasmBytesInUse()).toBe(inUse);
    expect(() => SequentialNet.load(bytes)).toThrow(/optimizer state for layers\.0\.f \(\["m", "w"\]\) does not fit/);
  });
});

describe('a rejected batch changes nothing; a file saved mid-run resumes exactly', () => {
  it('a batch whose loss is not finite leaves the weights, batch-norm statistics and dropout step as they were', async () => {
    const net = everythingNet(12);
    const { x, y } = data(32, [1, 10, 10], 5, 4);
    await net.train(x, y, { batchSize: 16, epochs: 1 });
    const before = snapshot(net);
    const dropout = net.layers.find((l) => l.kind === 'Dropout')!;
    const step = dropout.trainingState();
    const huge = new Tensor(x.data.map((v, i) => (i % 2 ? 3e38 : -3e38)), x.shape);
    await expect(net.train(huge, y, { batchSize: 16, epochs: 1 })).rejects.toThrow(/training stopped/);
    expect(snapshot(net)).toEqual(before);
    expect(dropout.trainingState()).toEqual(step);
    expect(Array.from(net.evaluate(x).data).every(Number.isFinite)).toBe(true);
    net.dispose();
  });

  it('a file saved in onEpoch while a schedule runs stores the base rates and resumes exactly', async () => {
    const { x, y } = data(48, [1, 10, 10], 5, 5);
    const schedule = new CosineAnnealing({ tMax: 3 });
    const straight = everythingNet(13);
    await straight.train(x, y, { batchSize: 16, epochs: 3, lrSchedule: schedule });
    const first = everythingNet(13);
    let saved: Uint8Array | null = null;
    await first.train(x, y, { batchSize: 16, epochs: 3, lrSchedule: schedule, onEpoch: (e) => { if (e.epoch === 2) saved = first.save(); } });
    const resumed = SequentialNet.load(saved!);
    expect(resumed.layers.flatMap((l) => l.optimizers()).map((o) => o.lr)).toEqual([0.01, 0.05, 0.01, 0.1]);
    await resumed.train(x, y, { batchSize: 16, epochs: 1, lrSchedule: schedule });
    expect(snapshot(resumed)).toEqual(snapshot(straight));
    for (const n of [straight, first, resumed]) n.dispose();
  });
});

describe('a model file is read strictly', () => {
  /** The file with its header changed by `edit` (re-encoded: new header length, padding and checksum). */
  function rewrite(bytes: Uint8Array, edit: (header: any) => void): Uint8Array {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength = view.getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength)));
    const tensors = bytes.subarray((16 + headerLength + 3) & ~3, bytes.length - 4);
    edit(header);
    const json = new TextEncoder().encode(JSON.stringify(header));
    const start = (16 + json.length + 3) & ~3;
    const out = new Uint8Array(start + tensors.length + 4);
    out.set(bytes.subarray(0, 12));
    new DataView(out.buffer).setUint32(12, json.length, true);
    out.set(json, 16);
    out.set(tensors, start);
    new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
    return out;
  }

  const file = () => {
    const net = everythingNet(14);
    const bytes = net.save();
    net.dispose();
    return bytes;
  };

  it('loads what it saved (the rewrite itself changes nothing), from bytes or an ArrayBuffer (as fetch gives it)', () => {
    SequentialNet.load(rewrite(file(), () => {})).dispose();
    const bytes = file();
    SequentialNet.load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dispose();
  });

  const cases: [string, (h: any) => void, RegExp][] = [
    ['batch norm whose feature count does not fit its input', (h) => (h.layers[1].numFeatures = 5), /layer 1 \(BatchNorm\) does not describe/],
    ['batch norm without its momentum', (h) => delete h.layers[1].momentum, /layer 1 \(BatchNorm\)/],
    ['dropout without its seed', (h) => delete h.layers[3].seed, /layer 3 \(Dropout\)/],
    ['a setting this version does not read', (h) => (h.layers[0].stirde = 2), /stirde/],
    ['an optimizer setting this version does not read', (h) => (h.layers[5].optim.dampening = 0.5), /dampening/],
    ['training state that lacks a layer', (h) => (h.training.layers[3] = null), /lacks layer 3 \(Dropout\)/],
  ];
  for (const [what, edit, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(() => SequentialNet.load(rewrite(file(), edit))).toThrow(ValueError);
      expect(() => SequentialNet.load(rewrite(file(), edit))).toThrow(message);
    });
  }

  it('refuses a negative running variance, in a file and through the setter', () => {
    const net = everythingNet(15);
    const bn = net.layers[1] as import('wasmnet').BatchNormLayer;
    expect(() => (bn.runningVar = [1, -1, 1, 1])).toThrow(/runningVar must hold variances ≥ 0, but index 1 is -1/);
    // Write a negative variance behind the setter's back, as a damaged file would hold it.
    bn.runningVar[2] = -0.5;
    expect(() => SequentialNet.load(net.save())).toThrow(/layers\.1\.runningVar must hold values ≥ 0, but index 2 is -0\.5/);
    net.dispose();
  });
});

describe('model files of the first version', () => {
  it('a file written by wasmnet 0.1.0 (format version 1, weights only) loads and predicts what it predicted then', () => {
    const dir = join(import.meta.dirname, 'fixtures');
    const bytes = new Uint8Array(readFileSync(join(dir, 'model-v1.wnet')));
    const expected = JSON.parse(readFileSync(join(dir, 'model-v1.json'), 'utf8'));
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)).toBe(1);
    const net = SequentialNet.load(bytes);
    expect(Array.from(net.evaluate(new Tensor(Float32Array.from(expected.x), expected.shape)).data)).toEqual(expected.output);
    expect(net.epochsTrained).toBe(0);
    net.dispose();
  });
});

/** CRC-32 (IEEE), as the model file uses. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
