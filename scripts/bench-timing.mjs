// The benchmark's one way of timing training (used by scripts/bench.mjs and its independent trainer threads,
// scripts/bench-thread.mjs): one `net.train` epoch over the first (warm + batches) batches of x, y, the clock
// started when batch warm − 1 ends, so that warm-up batches never count.

/**
 * Images per second of the timed batches; `onTimedStart` runs when the clock starts (e.g. to reset counters),
 * `afterBatch` after every batch (e.g. a barrier with other threads).
 */
export async function timedEpoch(net, x, y, { batchSize, batches, warm, workers, onTimedStart = () => {}, afterBatch = () => {} }) {
  const n = Math.min(x.shape[0], batchSize * (batches + warm));
  let first = 0;
  let last = 0;
  let timed = 0;
  await net.train(x.slice(0, n), y.slice(0, n), {
    batchSize,
    epochs: 1,
    workers,
    onBatch: (b) => {
      const now = performance.now();
      if (b.batch === warm - 1) {
        first = now;
        onTimedStart();
      } else if (b.batch >= warm) timed += b.size;
      last = now;
      afterBatch();
    },
  });
  return timed / ((last - first) / 1000);
}
