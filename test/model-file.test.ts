// The model file's reader and writer (ts/io/model-file.ts): its layout byte for byte, and every check that stands
// between a damaged or hostile file and a network, each with the message it gives. A small dense network keeps
// each test fast; test/resume.test.ts and test/persistence.test.ts cover the round trips of larger ones.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Adam, BatchNormLayer, SGD, SequentialNet, SoftMax, Tanh, Tensor, ValueError, readModelHeader, wasmBytesInUse } from 'wasmnet';
import { fixChecksum, rewriteModel } from './helpers/model-file.js';
import { messageOf } from './helpers/util.js';
import { OutOfMemoryError } from '../ts/core/errors.js';
import { encodeModel } from '../ts/io/model-file.js';

/** 3 → 4 (Tanh, Adam) → 2 (SoftMax, SGD with momentum), trained one epoch: parameters, optimizer state, an order. */
async function trainedNet(seed = 1): Promise<SequentialNet> {
  const net = new SequentialNet([3], { seed });
  net.addDense(4, { afun: new Tanh(), optim: new Adam(0.01) });
  net.addDense(2, { afun: new SoftMax(), optim: new SGD(0.1, { momentum: 0.5 }) });
  const x = new Tensor(Float32Array.from({ length: 18 }, (_, i) => Math.sin(i)), [6, 3]);
  await net.train(x, Tensor.oneHot([0, 1, 1, 0, 1, 0], 2), { batchSize: 4, epochs: 1 });
  return net;
}

/** A file of this layout with a valid checksum: magic, version, header length, header, zero padding, floats, CRC. */
function encode(header: unknown, floats: number[] = [], version = 2, extraPadding = 0): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const start = 16 + json.length + ((4 - ((16 + json.length) % 4)) % 4) + extraPadding;
  const out = new Uint8Array(start + 4 * floats.length + 4);
  out.set(new TextEncoder().encode('WASMNET\0'));
  const view = new DataView(out.buffer);
  view.setUint32(8, version, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  floats.forEach((f, i) => view.setFloat32(start + 4 * i, f, true));
  return fixChecksum(out);
}

const minimal = { format: 'wasmnet-model', inputShape: [3], seed: 1, loss: 'CrossEntropy', layers: [], tensors: [] };

/** The ValueError `run` throws: its message. */
const refusal = (run: () => unknown): string => messageOf(run);

describe('the layout', () => {
  it('magic, version 2, header length, the JSON header, zero padding to 4, the floats little-endian, the CRC-32 of the rest', async () => {
    const net = await trainedNet();
    const bytes = net.save({ trainingState: false });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('WASMNET\0');
    expect(view.getUint32(8, true)).toBe(2);
    const h = view.getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + h)));
    expect(header.tensors).toEqual([
      { name: 'layers.0.w', length: 12 }, { name: 'layers.0.b', length: 4 }, { name: 'layers.1.w', length: 8 }, { name: 'layers.1.b', length: 2 },
    ]);
    const start = (16 + h + 3) & ~3;
    expect(Array.from(bytes.subarray(16 + h, start))).toEqual(new Array(start - 16 - h).fill(0));
    expect(bytes.length).toBe(start + 4 * 26 + 4);
    const floats = Array.from({ length: 26 }, (_, i) => view.getFloat32(start + 4 * i, true));
    expect(floats).toEqual(net.parameters().flatMap((p) => Array.from(p.value.view())));
    expect(view.getUint32(bytes.length - 4, true)).toBe(crc32(bytes.subarray(0, bytes.length - 4)));
    net.dispose();
  });

  it('pads the header to every remainder mod 4 (each meta length), and reads each back', async () => {
    const net = await trainedNet();
    for (const note of ['', 'a', 'ab', 'abc']) {
      const bytes = net.save({ meta: { note } });
      const h = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
      expect(readModelHeader(bytes).meta).toEqual({ note });
      const copy = SequentialNet.load(bytes);
      expect(copy.parameters().map((p) => Array.from(p.value.view()))).toEqual(net.parameters().map((p) => Array.from(p.value.view())));
      copy.dispose();
      expect(((16 + h) & 3) === 0 || bytes[16 + h] === 0).toBe(true);
    }
    net.dispose();
  });

  it('a header that ends exactly where the checksum begins (no tensors, no padding) reads', () => {
    const header = { ...minimal, meta: { x: '' } };
    for (let pad = 0; JSON.stringify(header).length % 4 !== 0; pad++) header.meta.x += 'x';
    const bytes = encode(header);
    expect(bytes.length).toBe(16 + JSON.stringify(header).length + 4);
    expect(readModelHeader(bytes).meta).toEqual(header.meta);
  });

  it('the smallest file (20 bytes: an empty header) is read up to its header, which is not JSON', () => {
    expect(refusal(() => readModelHeader(encode('')))).toBe('the model file header is not valid JSON');
    expect(refusal(() => readModelHeader(encode('').subarray(1)))).toBe('not a wasmnet model file (the first bytes are not "WASMNET")');
  });

  it('the header says which version the file is, whatever its JSON claims', () => {
    expect(readModelHeader(encode({ ...minimal, version: 7 })).version).toBe(2);
    expect(readModelHeader(encode(minimal, [], 1)).version).toBe(1);
  });
});

describe('decoding refuses', () => {
  it('what is not bytes', () => {
    expect(refusal(() => readModelHeader('WASMNET' as never))).toBe('a model must be given as a Uint8Array or an ArrayBuffer, got "WASMNET"');
    expect(refusal(() => readModelHeader(new Float32Array(8) as never))).toBe('a model must be given as a Uint8Array or an ArrayBuffer, got Float32Array(8)');
  });

  it('versions other than 1 and 2', () => {
    for (const v of [0, 3]) {
      expect(refusal(() => readModelHeader(encode(minimal, [], v)))).toBe(`model file version ${v} is not supported (this wasmnet reads versions 1 and 2)`);
    }
  });

  it('a header length past the end', () => {
    const bytes = encode(minimal);
    new DataView(bytes.buffer).setUint32(12, bytes.length - 19, true);
    expect(refusal(() => readModelHeader(fixChecksum(bytes)))).toBe('the model file is truncated (header runs past the end)');
  });

  it('a header without format, inputShape, layers or tensors', () => {
    for (const edit of [{ format: 'keras' }, { inputShape: 3 }, { layers: {} }, { tensors: null }]) {
      expect(refusal(() => readModelHeader(encode({ ...minimal, ...edit })))).toBe('the model file header lacks format, inputShape, layers or tensors');
    }
    expect(refusal(() => readModelHeader(encode('null')))).toBe('the model file header lacks format, inputShape, layers or tensors');
  });

  it('a tensor length that is not a count, or runs past the end', () => {
    for (const length of [-1, 1.5, '2', 3]) {
      const header = { ...minimal, tensors: [{ name: 'layers.0.w', length }] };
      expect(refusal(() => readModelHeader(encode(header, [1, 2])))).toBe('the model file is truncated or inconsistent at tensor "layers.0.w"');
    }
    expect(readModelHeader(encode({ ...minimal, tensors: [{ name: 't', length: 2 }] }, [1, 2])).tensors).toEqual([{ name: 't', length: 2 }]);
  });

  it('bytes the header does not describe, counted', () => {
    expect(refusal(() => readModelHeader(encode(minimal, [1])))).toBe('the model file has 4 bytes more than its header describes');
    expect(refusal(() => readModelHeader(encode(minimal, [], 2, 1)))).toBe('the model file has 1 byte more than its header describes');
  });
});

describe('saving refuses', () => {
  it('a trainingState that is not a boolean, and meta that is not a plain object', async () => {
    const net = await trainedNet();
    expect(refusal(() => net.save({ trainingState: 1 as never }))).toBe('save trainingState must be true or false, got 1');
    for (const [meta, shown] of [[null, 'null'], [[1], '[1]'], ['note', '"note"']] as const) {
      expect(refusal(() => net.save({ meta: meta as never }))).toBe(`save meta must be a plain object, got ${shown}`);
    }
    net.dispose();
  });

  it('meta that JSON would change or refuse, naming the key and what it is', async () => {
    const net = await trainedNet();
    const why = (meta: object) => refusal(() => net.save({ meta: meta as never })).replace('save meta must be JSON data (objects, arrays, strings, finite numbers, booleans, null), but ', '');
    expect(why({ f: () => 1 })).toBe('"f" is a function');
    expect(why({ s: Symbol('s') })).toBe('"s" is a symbol');
    expect(why({ a: [1, Infinity] })).toBe('"1" is Infinity');
    expect(why({ n: NaN })).toBe('"n" is NaN');
    expect(why({ b: 1n })).toBe('"b" is a bigint');
    expect(why({ g: { toJSON: () => { throw new Error('no JSON today'); } } })).toBe('no JSON today');
    expect(() => net.save({ meta: { fine: [1, 'two', null, true, { x: -0.5 }] } })).not.toThrow();
    net.dispose();
  });
});

describe('learning rates', () => {
  it('a rate of 0 (a frozen layer: `lr` may be set to 0) saves and loads, with and without the training state', async () => {
    const net = await trainedNet();
    net.layers[0].optimizers()[0].lr = 0;
    for (const trainingState of [true, false]) {
      const back = SequentialNet.load(net.save({ trainingState }));
      expect(back.layers[0].optimizers()[0].config()).toEqual(net.layers[0].optimizers()[0].config());
      expect(back.layers[0].optimizers()[0].lr).toBe(0);
      expect(back.layers[1].optimizers()[0].config()).toEqual({ type: 'SGD', lr: 0.1, momentum: 0.5, nesterov: false, weightDecay: 0 });
      back.dispose();
    }
    net.dispose();
  });

  it('saving refuses a rate no file can hold (NaN would be written as null), naming the layer', async () => {
    const net = await trainedNet();
    for (const [lr, shown] of [[NaN, 'NaN'], [-1, '-1'], [Infinity, 'Infinity']] as const) {
      net.layers[1].optimizers()[0].lr = lr;
      expect(refusal(() => net.save())).toBe(`cannot save the network: layer 1 (Dense)'s SGD lr is ${shown}; a model file keeps each optimizer's base rate, a finite number ≥ 0`);
    }
    net.dispose();
  });

  it("loading refuses a damaged rate, naming the file's layer", async () => {
    const net = await trainedNet();
    const bytes = net.save({ trainingState: false });
    net.dispose();
    const before = wasmBytesInUse();
    for (const [lr, shown] of [[null, 'null'], [-0.5, '-0.5'], ['fast', '"fast"']] as const) {
      const damaged = rewriteModel(bytes, (h) => (h.layers[0].optim.lr = lr));
      expect(refusal(() => SequentialNet.load(damaged))).toBe(`the model file's layer 0 (Dense): Adam config lr must be a finite number ≥ 0, got ${shown}`);
    }
    expect(wasmBytesInUse()).toBe(before);
  });
});

describe('loading refuses', () => {
  const load = (bytes: Uint8Array) => refusal(() => SequentialNet.load(bytes));

  it('a missing tensor, a tensor of the wrong length and a tensor that belongs to no layer', async () => {
    const net = await trainedNet();
    const bytes = net.save({ trainingState: false });
    net.dispose();
    const before = wasmBytesInUse();
    expect(load(rewriteModel(bytes, (h) => (h.tensors[3].name = 'layers.1.c')))).toBe('the model file has no tensor layers.1.b');
    expect(load(rewriteModel(bytes, (h) => {
      h.tensors[1].length = 3;
      h.tensors[0].length = 13;
    }))).toBe("the model file's layers.0.w has 13 values, the layer needs 12");
    expect(load(rewriteModel(bytes, (h) => {
      h.tensors[2].length = 7;
      h.tensors[3].length = 3;
    }))).toBe("the model file's layers.1.w has 7 values, the layer needs 8");
    const extra = rewriteModel(bytes, (h) => {
      h.tensors[3].length = 1;
      h.tensors.push({ name: 'layers.5.x', length: 1 }, { name: 'layers.6.y', length: 0 });
    });
    expect(load(extra)).toBe("the model file's layers.1.b has 1 value, the layer needs 2");
    expect(wasmBytesInUse()).toBe(before);
  });

  it('tensors left over after every layer took its own, named', async () => {
    const net = await trainedNet();
    const bytes = net.save({ trainingState: false });
    net.dispose();
    const data = bytes.slice(0);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const h = view.getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + h)));
    header.tensors.push({ name: 'layers.5.x', length: 2 }, { name: 'extra', length: 0 });
    const start = (16 + h + 3) & ~3;
    const floats = Array.from(new Float32Array(data.buffer.slice(start, bytes.length - 4)));
    const before = wasmBytesInUse();
    expect(load(encode(header, [...floats, 1, 2]))).toBe("the model file's tensors layers.5.x, extra belong to no layer");
    expect(wasmBytesInUse()).toBe(before);
  });

  it('a loss it does not know, with the loss module\'s message', async () => {
    const net = await trainedNet();
    const bytes = net.save();
    net.dispose();
    expect(load(rewriteModel(bytes, (h) => (h.loss = 'Hinge')))).toBe('unknown loss "Hinge": expected CrossEntropy or MeanSquaredError');
  });

  it('layers that do not fit together: "describes an invalid network" and the layer\'s own message', async () => {
    const net = await trainedNet();
    const bytes = net.save({ trainingState: false });
    net.dispose();
    const before = wasmBytesInUse();
    const message = load(rewriteModel(bytes, (h) => (h.inputShape = [1, 3, 1])));
    expect(message).toMatch(/^the model file describes an invalid network: addDense needs a flat input/);
    expect(wasmBytesInUse()).toBe(before);
  });

  it('batch norm statistics of 0 load (the minimum is allowed)', () => {
    const net = new SequentialNet([2], { seed: 3 });
    net.addBatchNorm();
    const bn = net.layers[0] as BatchNormLayer;
    bn.runningVar = [0, 0];
    const copy = SequentialNet.load(net.save());
    expect(Array.from((copy.layers[0] as BatchNormLayer).runningVar)).toEqual([0, 0]);
    for (const n of [net, copy]) n.dispose();
  });

  it('a version-1 file does not read buffers (they came with version 2)', () => {
    const net = new SequentialNet([2], { seed: 3 });
    net.addBatchNorm();
    const bytes = net.save({ trainingState: false });
    net.dispose();
    const v1 = bytes.slice();
    new DataView(v1.buffer).setUint32(8, 1, true);
    expect(load(fixChecksum(v1))).toBe("the model file's tensors layers.0.runningMean, layers.0.runningVar belong to no layer");
  });
});

describe('loading refuses a damaged training state', () => {
  const load = (bytes: Uint8Array) => refusal(() => SequentialNet.load(bytes));

  it('an epoch count that is not an integer ≥ 0', async () => {
    const net = await trainedNet();
    const bytes = net.save();
    net.dispose();
    for (const [n, shown] of [[-1, '-1'], [1.5, '1.5'], ['1', '"1"'], [2 ** 53, '9007199254740992']] as const) {
      expect(load(rewriteModel(bytes, (h) => (h.training.epochsTrained = n)))).toBe(`the model file's epochsTrained must be an integer ≥ 0, got ${shown}`);
    }
    const zero = SequentialNet.load(rewriteModel(bytes, (h) => (h.training.epochsTrained = 0)));
    expect(zero.epochsTrained).toBe(0);
    zero.dispose();
  });

  it('per-layer states that do not match the layers, or optimizer entries that are not a list', async () => {
    const net = await trainedNet();
    const bytes = net.save();
    net.dispose();
    for (const edit of [(h: any) => (h.training.layers = {}), (h: any) => h.training.layers.push(null), (h: any) => (h.training.optimizer = {})]) {
      expect(load(rewriteModel(bytes, edit))).toBe("the model file's training state does not match its layers");
    }
  });

  it('a sample order that is not a permutation', async () => {
    const net = await trainedNet();
    const bytes = net.save();
    const header = readModelHeader(bytes);
    expect(header.training?.sampleOrder).toBe(6);
    const i = header.tensors.findIndex((t) => t.name === 'training.sampleOrder');
    const start = (16 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true) + 3) & ~3;
    const offset = start + 4 * header.tensors.slice(0, i).reduce((s, t) => s + t.length, 0);
    const withOrder = (order: number[]) => {
      const b = bytes.slice();
      const v = new DataView(b.buffer);
      order.forEach((o, k) => v.setFloat32(offset + 4 * k, o, true));
      return fixChecksum(b);
    };
    const copy = SequentialNet.load(withOrder([5, 4, 3, 2, 1, 0]));
    expect(Array.from(copy.order!)).toEqual([5, 4, 3, 2, 1, 0]);
    copy.dispose();
    for (const order of [[0, 1, 2, 3, 4, 4], [0, 1, 2, 3, 4, 6], [0, 1, 2, 3, 4, 5.5], [-1, 1, 2, 3, 4, 5]]) {
      expect(load(withOrder(order)), String(order)).toBe("the model file's training.sampleOrder is not an ordering of its samples");
    }
    net.dispose();
  });

  it('without a sample order (null), the loaded network has none', async () => {
    const net = await trainedNet();
    const bytes = rewriteModel(net.save({ trainingState: false }), (h) => {
      h.training = { epochsTrained: 1, shuffleRng: [1, 2, 3, 4, null], sampleOrder: null, layers: [null, null], optimizer: [] };
    });
    const copy = SequentialNet.load(bytes);
    expect(copy.order).toBe(null);
    expect(copy.shuffleRng.getState()).toEqual([1, 2, 3, 4, null]);
    for (const n of [net, copy]) n.dispose();
  });

  it('optimizer state for a parameter that does not exist, or that does not fit its optimizer', async () => {
    const net = await trainedNet();
    const bytes = net.save();
    net.dispose();
    expect(load(rewriteModel(bytes, (h) => (h.training.optimizer[0].param = 'layers.7.w')))).toBe('the model file has optimizer state for "layers.7.w", which is no parameter');
    expect(load(rewriteModel(bytes, (h) => (h.training.optimizer[0] = null)))).toBe('the model file has optimizer state for undefined, which is no parameter');
    expect(load(rewriteModel(bytes, (h) => (h.training.optimizer[0].state = 'm,v')))).toBe('the model file\'s optimizer state for layers.0.w ("m,v") does not fit the layer\'s optimizer');
    expect(load(rewriteModel(bytes, (h) => (h.training.optimizer[2].state = ['m', 'v'])))).toBe('the model file\'s optimizer state for layers.1.w (["m", "v"]) does not fit the layer\'s optimizer');
  });
});

describe('more refusals (Stryker survivors)', () => {
  it('save options that are not an object, or an unknown one', async () => {
    const net = await trainedNet();
    expect(refusal(() => net.save(3 as never))).toBe('save options must be an options object, got 3');
    expect(refusal(() => net.save({ training: false } as never))).toMatch(/^save options: unknown option "training"/);
    net.dispose();
  });

  it('a sample order longer than 2^24 is left out (float32 would not hold its indices exactly)', () => {
    const net = new SequentialNet([2], { seed: 1 });
    net.addDense(2);
    net.order = new Uint32Array(2 ** 24 + 1);
    const header = readModelHeader(net.save());
    expect(header.training?.sampleOrder).toBe(null);
    expect(header.tensors.map((t) => t.name)).not.toContain('training.sampleOrder');
    net.dispose();
  });

  it('a tensor holding NaN, named', async () => {
    const net = await trainedNet();
    const bytes = rewriteModel(net.save({ trainingState: false }), () => {}, (data) => data.setFloat32(4, NaN, true));
    net.dispose();
    expect(refusal(() => SequentialNet.load(bytes))).toBe("the model file's layers.0.w must hold finite numbers, but index 1 is NaN");
  });

  it('a negative running variance at index 0', () => {
    const net = new SequentialNet([2], { seed: 3 });
    net.addBatchNorm();
    const bytes = net.save({ trainingState: false });
    net.dispose();
    // layers.0.runningMean then layers.0.runningVar after gamma and beta (2 values each).
    const names = readModelHeader(bytes).tensors.map((t) => t.name);
    const at = 4 * 2 * names.indexOf('layers.0.runningVar');
    const bad = rewriteModel(bytes, () => {}, (data) => data.setFloat32(at, -1, true));
    expect(refusal(() => SequentialNet.load(bad))).toBe("the model file's layers.0.runningVar must hold values ≥ 0, but index 0 is -1");
  });

  it('meta whose toJSON throws something that is not an Error', async () => {
    const net = await trainedNet();
    expect(refusal(() => net.save({ meta: { a: { toJSON: () => { throw null; } } } }))).toMatch(/^save meta must be JSON data .*, but undefined$/);
    net.dispose();
  });

  it('foreign files of any length, and a file of fewer than 20 bytes even with the magic', () => {
    const foreign = new TextEncoder().encode('GIF89a, a picture and not a model at all.');
    expect(refusal(() => readModelHeader(foreign))).toBe('not a wasmnet model file (the first bytes are not "WASMNET")');
    const short = new Uint8Array(16);
    short.set(new TextEncoder().encode('WASMNET\0'));
    new DataView(short.buffer).setUint32(8, 2, true);
    expect(refusal(() => readModelHeader(short))).toBe('not a wasmnet model file (the first bytes are not "WASMNET")');
  });

  it('a tensor entry that is not an object', () => {
    expect(refusal(() => readModelHeader(encode({ ...minimal, tensors: [null] })))).toBe('the model file is truncated or inconsistent at tensor undefined');
  });
});

describe('encoding', () => {
  it('a file larger than one JavaScript array can hold is an OutOfMemoryError naming its size', () => {
    const huge = { length: 2 ** 40 } as Float32Array;
    expect(() => encodeModel(minimal as never, [huge])).toThrow(OutOfMemoryError);
    expect(() => encodeModel(minimal as never, [huge])).toThrow(/^the model file would take 4398046511\d+ bytes, more than this JavaScript engine can hold in one array$/);
  });
});

