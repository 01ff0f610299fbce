// Model files (ts/persistence.ts, SequentialNet.save/load).
import { describe, expect, it } from 'vitest';
import { Rng, SequentialNet, SGD, Tanh, Sigmoid, ValueError, courseCnn } from 'wasmnet';
import { uniform } from './helpers/util.js';

describe('save and load', () => {
  it('a loaded network predicts bit-identically and keeps its architecture', async () => {
    const rng = new Rng(1);
    const net = courseCnn({ seed: 5 });
    const x = uniform([20, 1, 28, 28], rng, 0, 1);
    await net.train(x, uniform([20, 10], rng, 0, 1), { batchSize: 10, epochs: 1 });
    const bytes = net.save({ meta: { note: 'test' } });
    const copy = SequentialNet.load(bytes);
    expect(Array.from(copy.evaluate(x).data)).toEqual(Array.from(net.evaluate(x).data));
    expect(copy.layers.map((l) => [l.kind, l.outputShape])).toEqual(net.layers.map((l) => [l.kind, l.outputShape]));
    expect(copy.loss.name).toBe(net.loss.name);
    expect(copy.save({ meta: { note: 'test' } })).toEqual(bytes);
    net.dispose();
    copy.dispose();
  });

  it('keeps activations, pooling mode and optimizer settings', () => {
    const net = new SequentialNet([2, 6, 6], { seed: 2 });
    net.addConv2D([3, 3, 3], { afun: new Tanh(), optim: new SGD(0.2, { momentum: 0.5 }) });
    net.addPool2D([2, 2], { strict: true });
    net.addFlatten();
    net.addDense(2, { afun: new Sigmoid() });
    const copy = SequentialNet.load(net.save());
    const [conv, pool, , dense] = copy.layers as never as [
      { afun: { name: string }; optim: { config(): unknown } }, { strict: boolean }, unknown, { afun: { name: string } },
    ];
    expect(conv.afun.name).toBe('Tanh');
    expect(conv.optim.config()).toEqual({ type: 'SGD', lr: 0.2, momentum: 0.5, nesterov: false, weightDecay: 0 });
    expect(pool.strict).toBe(true);
    expect(dense.afun.name).toBe('Sigmoid');
    net.dispose();
    copy.dispose();
  });

  it('rejects truncated, corrupted and foreign files', () => {
    const net = courseCnn({ seed: 1 });
    const bytes = net.save();
    net.dispose();
    expect(() => SequentialNet.load(bytes.subarray(0, bytes.length - 10))).toThrow(/damaged or truncated/);
    const flipped = bytes.slice();
    flipped[bytes.length >> 1] ^= 0x10;
    expect(() => SequentialNet.load(flipped)).toThrow(/checksum mismatch/);
    expect(() => SequentialNet.load(new TextEncoder().encode('{"format": "keras"}'))).toThrow(/not a wasmnet model file/);
    expect(() => SequentialNet.load(new Uint8Array(0))).toThrow(ValueError);
  });
});
