// Model files (ts/persistence.ts, SequentialNet.save/load).
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Rng, SequentialNet, SGD, Tanh, Sigmoid, ValueError, courseCnn } from 'wasmnet';
import { uniform } from './helpers/util.js';

// Model files are megabytes: compared by hash (a deep toEqual over them takes vitest a minute).
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

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
    expect(sha(copy.save({ meta: { note: 'test' } }))).toBe(sha(bytes));
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

  it('a loaded network draws the next layer\'s weights as the saved one does (loading moves the generator as building did)', () => {
    // Odd and even numbers of initial draws before the save, so that the generator's spare normal is left both ways.
    for (const [filters, units] of [
      [3, 5],
      [4, 6],
      [3, 6],
    ]) {
      const net = new SequentialNet([1, 5, 5], { seed: 9 });
      net.addConv2D([filters, 3, 3]);
      net.addFlatten();
      net.addDense(units);
      const copy = SequentialNet.load(net.save());
      for (const n of [net, copy]) n.addDense(3);
      const weights = (n: SequentialNet) => Array.from(n.layers[3].parameters()[0].value.view());
      expect(weights(copy), `${filters} filters, ${units} units`).toEqual(weights(net));
      net.dispose();
      copy.dispose();
    }
  });

  it('reads a file wherever it lies in its buffer, and its checksum is the CRC-32 zlib computes', () => {
    const net = courseCnn({ seed: 4 });
    const bytes = net.save({ trainingState: true });
    const stored = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4, true);
    expect(stored).toBe(crc32(bytes.subarray(0, bytes.length - 4)));
    for (const offset of [1, 2, 3, 5]) {
      const inside = new Uint8Array(bytes.length + 8);
      inside.set(bytes, offset);
      const copy = SequentialNet.load(inside.subarray(offset, offset + bytes.length));
      expect(sha(copy.save({ trainingState: true })), `at offset ${offset}`).toBe(sha(bytes));
      copy.dispose();
    }
    net.dispose();
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
