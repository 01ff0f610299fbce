// Fuzzing the byte parsers with truncated and mutated files: a clear error or a consistent result,
// never a crash, a hang or an allocation out of proportion to the input.
import fc from 'fast-check';
import { gzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { SequentialNet, Tensor, ValueError, parseNpz, readIdx } from 'wasmnet';

const runs = { numRuns: 300, seed: 7 };

/** A damaged copy of `bytes`: cut short, bytes overwritten, bytes inserted. */
function damaged(bytes: Uint8Array) {
  return fc.oneof(
    fc.integer({ min: 0, max: bytes.length - 1 }).map((n) => bytes.slice(0, n)),
    fc.array(fc.tuple(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((edits) => {
      const b = bytes.slice();
      for (const [i, v] of edits) b[i] = v;
      return b;
    }),
    fc.tuple(fc.integer({ min: 0, max: bytes.length }), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, extra]) => {
      const b = new Uint8Array(bytes.length + extra.length);
      b.set(bytes.subarray(0, at));
      b.set(extra, at);
      b.set(bytes.subarray(at), at + extra.length);
      return b;
    }),
  );
}

function expectErrorOr<T>(parse: () => T, check: (result: T) => void): void {
  let result: T;
  try {
    result = parse();
  } catch (e) {
    expect(e).toBeInstanceOf(ValueError);
    return;
  }
  check(result);
}

function idxImages(): Uint8Array {
  const out = new Uint8Array(16 + 3 * 5 * 4);
  out.set([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 4]);
  for (let i = 16; i < out.length; i++) out[i] = (i * 37) & 0xff;
  return out;
}

describe('readIdx on damaged files', () => {
  for (const [name, bytes] of [['plain', idxImages()], ['gzipped', gzipSync(idxImages())]] as const) {
    it(`${name}: a ValueError or dimensions that match the data`, () => {
      fc.assert(
        fc.property(damaged(bytes), (b) =>
          expectErrorOr(() => readIdx(b, 'f.idx'), (r) => {
            expect(r.data.length).toBe(r.dims.reduce((x, y) => x * y, 1));
            expect(r.data.length).toBeLessThanOrEqual(1032 * b.length + 1024);
          }),
        ),
        runs,
      );
    });
  }
});

describe('parseNpz on damaged archives', () => {
  const npy = new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 54, 0, ...new TextEncoder().encode("{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }".padEnd(53) + '\n'), 1, 2, 3, 4, 5, 6]);
  for (const [name, level] of [['stored', 0], ['deflated', 6]] as const) {
    it(`${name}: a ValueError or arrays whose shapes match their data`, () => {
      const archive = zipSync({ 'x_train.npy': npy, 'y_train.npy': npy }, { level });
      expect(parseNpz(archive).x_train.shape).toEqual([6]);
      fc.assert(
        fc.property(damaged(archive), (b) =>
          expectErrorOr(() => parseNpz(b, 'f.npz'), (r) => {
            for (const a of Object.values(r)) expect(a.data.length).toBe(a.shape.reduce((x, y) => x * y, 1));
          }),
        ),
        runs,
      );
    });
  }
});

describe('SequentialNet.load on damaged model files', () => {
  it('a ValueError, or (when only padding changed) a working network', () => {
    const net = new SequentialNet([1, 6, 6], { seed: 3 });
    net.addConv2D([2, 3, 3]);
    net.addPool2D([2, 2]);
    net.addFlatten();
    net.addDense(3);
    const bytes = net.save();
    const x = Tensor.zeros([1, 1, 6, 6]);
    const expected = Array.from(net.evaluate(x).data);
    net.dispose();
    fc.assert(
      fc.property(damaged(bytes), (b) =>
        expectErrorOr(() => SequentialNet.load(b), (loaded) => {
          // The checksum covers every byte: only an edit that changed nothing survives, and predicts as before.
          expect(Array.from(loaded.evaluate(x).data)).toEqual(expected);
          loaded.dispose();
        }),
      ),
      runs,
    );
  });
});
