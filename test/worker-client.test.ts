// trainInWorker sends a worker only the values it trains on: a slice() view must not take the
// whole buffer behind it along (1,000 MNIST digits used to ship all 188 MB of the 60,000).
import { describe, expect, it } from 'vitest';
import { Tensor, trainInWorker } from 'wasmnet';

/** A stand-in for a Worker that records what is posted and answers 'done'. */
function recordingWorker() {
  const posted: { message: Record<string, unknown>; transfer: Transferable[] }[] = [];
  const listeners: ((e: { data: unknown }) => void)[] = [];
  const worker = {
    postMessage(message: Record<string, unknown>, transfer: Transferable[] = []) {
      // What structured cloning would copy: a view's whole buffer unless the array is its buffer.
      posted.push({ message, transfer });
      queueMicrotask(() => listeners.forEach((l) => l({ data: { type: 'done', model: new Uint8Array(1), history: [] } })));
    },
    addEventListener(type: string, l: (e: { data: unknown }) => void) {
      if (type === 'message') listeners.push(l);
    },
    removeEventListener() {},
  };
  return { worker: worker as unknown as Worker, posted };
}

describe('trainInWorker: only the rows it trains on cross to the worker', () => {
  const all = new Tensor(new Float32Array(1000 * 784).fill(0.5), [1000, 1, 28, 28]);
  const labels = Tensor.oneHot(Array.from({ length: 1000 }, (_, i) => i % 10), 10);

  it('a slice() view is sent as a copy of its own rows, transferred, not as the buffer behind it', async () => {
    const x = all.slice(100, 150);
    const y = labels.slice(100, 150);
    const v = [all.slice(0, 10), labels.slice(0, 10)] as const;
    const { worker, posted } = recordingWorker();
    await trainInWorker(worker, x, y, { validationData: v });
    const m = posted[0].message as { x: Float32Array; y: Float32Array; validation: { x: Float32Array; y: Float32Array } };
    for (const [sent, want] of [
      [m.x, x],
      [m.y, y],
      [m.validation.x, v[0]],
      [m.validation.y, v[1]],
    ] as const) {
      expect(sent.buffer.byteLength).toBe(want.data.byteLength);
      expect(Array.from(sent.subarray(0, 5))).toEqual(Array.from(want.data.subarray(0, 5)));
      expect(posted[0].transfer).toContain(sent.buffer);
    }
    // The caller's tensors keep their data (the copies were transferred, not the originals).
    expect(all.data.buffer.byteLength).toBe(1000 * 784 * 4);
    expect(x.data.length).toBe(50 * 784);
  });

  it('a tensor that is its whole buffer is posted as it is (cloned once), not detached from the caller', async () => {
    const x = new Tensor(new Float32Array(20 * 784), [20, 1, 28, 28]);
    const y = Tensor.oneHot(Array.from({ length: 20 }, () => 1), 10);
    const { worker, posted } = recordingWorker();
    await trainInWorker(worker, x, y);
    expect(posted[0].message.x).toBe(x.data);
    expect(posted[0].transfer).toEqual([]);
  });
});
