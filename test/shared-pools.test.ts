// Review of 4c03ffa (idle pools shared by every network with as many workers): a pool that trained one network,
// then another of a different architecture, at the same time as others, or after the first network is disposed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Adam, ReLU, SGD, SequentialNet, SoftMax, Tanh, init } from 'wasmnet';
import { idleWorkerCount, poolTestHooks, workerLife } from 'wasmnet/internal';
import { pictures } from './helpers/pictures.js';
import { batchNormNet } from './helpers/small-nets.js';

await init();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const data = (n: number, seed: number) => pictures(n, seed, 12, 5);

const bnNet = batchNormNet;

/** Strided conv, average pooling, dropout, more parameters than bnNet, no batch norm. */
function convNet(seed = 4): SequentialNet {
  const net = new SequentialNet([1, 12, 12], { seed });
  net.addConv2D([8, 3, 3], { stride: 1, afun: new Tanh(), optim: new SGD(0.05, { momentum: 0.9 }) });
  net.addAvgPool2D([2, 2]);
  net.addFlatten();
  net.addDropout(0.3);
  net.addDense(30, { afun: new ReLU(), optim: new Adam(0.01) });
  net.addDense(5, { afun: new SoftMax(), optim: new Adam(0.01) });
  return net;
}

/** Dense only, few parameters. */
function denseNet(seed = 5): SequentialNet {
  const net = new SequentialNet([1, 12, 12], { seed });
  net.addFlatten();
  net.addDense(7, { afun: new ReLU(), optim: new Adam(0.01) });
  net.addDense(5, { afun: new SoftMax(), optim: new Adam(0.01) });
  return net;
}

const makers = { bnNet, convNet, denseNet };
type Kind = keyof typeof makers;
const [x, y] = data(150, 5);

/** The model file after two epochs (batch 32) of a new `kind` network; the network stays (its idle workers too). */
async function train(kind: Kind, workers: number, messagesOnly = false): Promise<{ net: SequentialNet; file: string }> {
  const net = makers[kind]();
  poolTestHooks.messagesOnly = messagesOnly;
  await net.train(x, y, { batchSize: 32, epochs: 2, workers });
  return { net, file: sha(net.save({ trainingState: true })) };
}

async function reference(kind: Kind): Promise<string> {
  const { net, file } = await train(kind, 1);
  net.dispose();
  return file;
}

describe('idle pools shared between networks', () => {
  it('a Node process whose networks leave idle pools of several sizes, none disposed, exits by itself', () => {
    const dist = join(import.meta.dirname, '..', 'dist', 'index.js');
    const script = `
      import { init, Tensor, courseCnn } from ${JSON.stringify(dist)};
      await init();
      const x = new Tensor(new Float32Array(64 * 784).fill(0.5), [64, 1, 28, 28]);
      const y = new Tensor(new Float32Array(64 * 10).fill(0.1), [64, 10]);
      const a = courseCnn({ seed: 1 }), b = courseCnn({ seed: 2 }), c = courseCnn({ seed: 3 });
      await Promise.all([a.train(x, y, { batchSize: 32, epochs: 1, workers: 2 }), b.train(x, y, { batchSize: 32, epochs: 1, workers: 2 })]);
      await c.train(x, y, { batchSize: 32, epochs: 1, workers: 3 });
      await a.train(x, y, { batchSize: 32, epochs: 1, workers: 3 });
      console.log('done');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, 'done', '']);
  });

  for (const messagesOnly of [false, true]) {
    it(`a pool that trained one architecture trains the next with fresh workers' bits (messagesOnly ${messagesOnly})`, async () => {
      const refs = { bnNet: await reference('bnNet'), convNet: await reference('convNet'), denseNet: await reference('denseNet') };
      const order: Kind[] = ['bnNet', 'convNet', 'bnNet', 'denseNet', 'bnNet', 'convNet', 'denseNet', 'convNet'];
      const nets: SequentialNet[] = [];
      const { started } = workerLife;
      for (const kind of order) {
        const { net, file } = await train(kind, 2, messagesOnly);
        nets.push(net);
        expect(file, `${kind} after ${nets.length - 1} other runs`).toBe(refs[kind]);
      }
      expect(workerLife.started - started, 'one pool served all').toBe(2);
      for (const net of nets) net.dispose();
      expect(idleWorkerCount()).toBe(0);
    });
  }

  it('two networks starting at once with as many workers as an idle pool: one takes it, the other starts its own; both right', async () => {
    const refs = [await reference('convNet'), await reference('bnNet')];
    const first = await train('denseNet', 2);
    const { started } = workerLife;
    poolTestHooks.maxIdleWorkers = 4;
    const [a, b] = await Promise.all([train('convNet', 2), train('bnNet', 2)]).finally(() => (poolTestHooks.maxIdleWorkers = null));
    expect([a.file, b.file]).toEqual(refs);
    expect(workerLife.started - started, 'one of them reused the idle pool').toBe(2);
    first.net.dispose();
    expect(idleWorkerCount(), 'the first network used neither pool last').toBe(4);
    a.net.dispose();
    b.net.dispose();
    expect(idleWorkerCount()).toBe(0);
  });

  it('the last user disposed while another network trains on its old pool: that run finishes, and its pool stays idle', async () => {
    const ref = await reference('bnNet');
    const first = await train('convNet', 2);
    const second = makers.bnNet();
    const { started, ended } = workerLife;
    // Disposed at the first batch: the second network holds the pool by then.
    let disposed = false;
    await second.train(x, y, { batchSize: 32, epochs: 2, workers: 2, onBatch: () => disposed || ((disposed = true), first.net.dispose()) });
    expect(sha(second.save({ trainingState: true }))).toBe(ref);
    expect([workerLife.started - started, workerLife.ended - ended, idleWorkerCount(second)]).toEqual([0, 0, 2]);
    second.dispose();
    expect(idleWorkerCount()).toBe(0);
  });

  it('a network disposed right after train() resolves, while another waits for a pool: no worker is handed over dead', async () => {
    const ref = await reference('denseNet');
    const first = makers.convNet();
    const second = makers.denseNet();
    const p = first.train(x, y, { batchSize: 32, epochs: 1, workers: 2 }).then(() => first.dispose());
    await p;
    await second.train(x, y, { batchSize: 32, epochs: 2, workers: 2 });
    expect(sha(second.save({ trainingState: true }))).toBe(ref);
    second.dispose();
    expect(idleWorkerCount()).toBe(0);
  });
});

describe('idle pools shared between networks: what ends them (by design)', () => {
  // dispose() ends the idle pool its network used last (issue 10: "dispose() ends the workers"), so a sweep that
  // disposes each network before making the next starts new workers for each; one that disposes a network after the
  // next one's train() reuses them (the README says so).
  it('a sweep that disposes each network before making the next starts workers for each', async () => {
    const { started } = workerLife;
    for (const kind of ['convNet', 'bnNet', 'denseNet'] as Kind[]) {
      const { net } = await train(kind, 2);
      net.dispose();
    }
    expect(workerLife.started - started).toBe(6);
  });

  it('a sweep that disposes each network after the next one has trained reuses one pool', async () => {
    const { started } = workerLife;
    let last: SequentialNet | null = null;
    for (const kind of ['convNet', 'bnNet', 'denseNet'] as Kind[]) {
      const { net } = await train(kind, 2);
      last?.dispose();
      last = net;
    }
    last?.dispose();
    expect(workerLife.started - started).toBe(2);
  });

  // A call with another worker count ends the idle pools of other sizes (a process trains with one count at a time,
  // as a rule): networks that take turns with 2 and 3 workers start workers on every call.
  it('two networks trained in turn with 2 and 3 workers start workers on every call', async () => {
    const a = makers.denseNet();
    const b = makers.denseNet();
    const { started } = workerLife;
    poolTestHooks.maxIdleWorkers = 5;
    try {
      for (let round = 0; round < 2; round++) {
        await a.train(x, y, { batchSize: 32, epochs: 1, workers: 2 });
        await b.train(x, y, { batchSize: 32, epochs: 1, workers: 3 });
      }
    } finally {
      poolTestHooks.maxIdleWorkers = null;
      a.dispose();
      b.dispose();
    }
    expect(workerLife.started - started).toBe(10);
  });
});
