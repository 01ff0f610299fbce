/**
 * ONNX export and import (wasmnet/onnx) against ONNX Runtime (onnxruntime-web's wasm backend in Node):
 * the same inputs give the same outputs within 1e-5 of the output's scale, export → import gives
 * bit-identical predictions, and the protobuf library stays out of the main and browser bundles.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Adam, BatchNormLayer, Conv2DLayer, DenseLayer, Identity, ReLU, Rng, SequentialNet, Sigmoid, SoftMax, Tanh, Tensor, courseCnn, lenet5, vggMini } from 'wasmnet';
import { ONNX_EXPORT_OPSET, fromOnnx, toOnnx } from 'wasmnet/onnx';
import { decodeOnnx, encodeOnnx, expectRelClose, runOrt } from './helpers/onnx.js';
import { uniform, values } from './helpers/util.js';

const TOL = 1e-5;

/** Every layer kind and activation the export knows, with odd sizes, padding, strides and trained-looking batch norm statistics. */
function everyLayer(seed = 5): SequentialNet {
  const rng = new Rng(seed);
  const net = new SequentialNet([3, 13, 11], { seed });
  net.addConv2D([5, 3, 3], { padding: 1, afun: new Identity() });
  net.addBatchNorm({ afun: new ReLU(), momentum: 0.05, eps: 1e-3 });
  net.addPool2D([3, 3], { stride: 2, strict: true });
  net.addConv2D([4, 4, 2], { padding: 'same', afun: new Tanh() });
  net.addAvgPool2D([2, 2], { stride: [2, 1] });
  net.addConv2D([6, 3, 3], { stride: 2, padding: [1, 0], afun: new Sigmoid() });
  net.addFlatten();
  net.addDense(9, { afun: new Identity() });
  net.addBatchNorm({ afun: new Tanh() });
  net.addDropout(0.3);
  net.addDense(7, { afun: new SoftMax() });
  for (const layer of net.layers) {
    if (layer instanceof Conv2DLayer || layer instanceof DenseLayer) layer.b = values(layer.b.length, rng, 0.5);
    if (layer instanceof BatchNormLayer) {
      const f = layer.numFeatures;
      layer.gamma = values(f, rng, 0.3).map((v) => 1 + v);
      layer.beta = values(f, rng, 0.3);
      layer.runningMean = values(f, rng, 0.5);
      layer.runningVar = values(f, rng, 0.3).map((v) => 0.5 + v * v);
    }
  }
  return net;
}

/** Inference in wasmnet and in ONNX Runtime on the same random inputs. */
async function compare(net: SequentialNet, n: number, what: string): Promise<void> {
  const x = uniform([n, ...net.inputShape], new Rng(11));
  const bytes = toOnnx(net);
  const ort = await runOrt(bytes, x.data, x.shape);
  const ours = net.evaluate(x);
  expect([...ort.dims]).toEqual(ours.shape);
  expectRelClose(ours.data, ort.data, TOL, what);
}

describe('toOnnx: ONNX Runtime computes what wasmnet computes (within 1e-5 of the output scale)', () => {
  it("the course's network", async () => {
    const net = courseCnn({ seed: 3 });
    for (const l of net.layers) if (l instanceof Conv2DLayer || l instanceof DenseLayer) l.b = values(l.b.length, new Rng(4), 0.2);
    await compare(net, 5, 'courseCnn');
    net.dispose();
  });

  it('a network with every layer kind and activation (padding, stride, overlapping and average pooling, batch norm 2-D and 1-D, dropout)', async () => {
    const net = everyLayer();
    await compare(net, 6, 'every layer');
    net.dispose();
  });

  it('LeNet-5 and VGG-mini from the zoo', async () => {
    for (const [name, make] of [['lenet5', lenet5], ['vggMini', vggMini]] as const) {
      const net = make({ seed: 2 });
      await compare(net, 3, name);
      net.dispose();
    }
  });

  it('the kernels are flipped: a one-hot filter shifts the image the other way in ONNX than written', async () => {
    // The true convolution with f = [[1, 0], [0, 0]] picks a[i+1, j+1]; ONNX's cross-correlation needs [[0, 0], [0, 1]] for that.
    const net = new SequentialNet([1, 4, 4], { seed: 1 });
    const conv = net.addConv2D([1, 2, 2], { afun: new Identity() });
    conv.f = [1, 0, 0, 0];
    conv.b = [0];
    const w = decodeOnnx(toOnnx(net)).graph.initializer.find((t: { name: string }) => t.name === 'layers.0.weight');
    expect(Array.from(new Float32Array(new Uint8Array(w.rawData).buffer))).toEqual([0, 0, 0, 1]);
    const x = Tensor.zeros([1, 1, 4, 4]);
    x.data.set(Array.from({ length: 16 }, (_, i) => i));
    expect(Array.from(net.evaluate(x).data)).toEqual([5, 6, 7, 9, 10, 11, 13, 14, 15]);
    await compare(net, 2, 'flip');
    net.dispose();
  });

  it('writes named input and output with a dynamic batch dimension, opset 13', async () => {
    const net = courseCnn({ seed: 1 });
    const m = decodeOnnx(toOnnx(net));
    expect(m.opsetImport).toEqual([{ domain: '', version: ONNX_EXPORT_OPSET }]);
    expect(ONNX_EXPORT_OPSET).toBe(13);
    expect(m.graph.input.map((v: { name: string }) => v.name)).toEqual(['input']);
    expect(m.graph.output.map((v: { name: string }) => v.name)).toEqual(['output']);
    expect(m.graph.input[0].type.tensorType.shape.dim).toEqual([{ dimParam: 'N' }, { dimValue: 1 }, { dimValue: 28 }, { dimValue: 28 }]);
    expect(m.graph.node.map((n: { opType: string }) => n.opType)).toEqual(['Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Relu', 'Gemm', 'Softmax']);
    for (const n of [1, 7]) {
      const x = uniform([n, 1, 28, 28], new Rng(n));
      expect((await runOrt(toOnnx(net), x.data, x.shape)).dims).toEqual([n, 10]);
    }
    const named = decodeOnnx(toOnnx(net, { inputName: 'pixels', outputName: 'probabilities' }));
    expect([named.graph.input[0].name, named.graph.output[0].name]).toEqual(['pixels', 'probabilities']);
    net.dispose();
  });
});

describe('toOnnx: what the model says about itself', () => {
  it('names wasmnet as its producer, version 1, and its graph "wasmnet"', () => {
    const net = courseCnn({ seed: 1 });
    const m = decodeOnnx(toOnnx(net));
    expect([m.producerName, m.producerVersion, m.graph.name]).toEqual(['wasmnet', '1', 'wasmnet']);
    net.dispose();
  });

  it("marks only strict max pooling with the tie rule, which fromOnnx reads back", () => {
    const net = new SequentialNet([1, 8, 8], { seed: 2 });
    net.addPool2D([2, 2], { strict: true });
    net.addPool2D([2, 2]);
    net.addFlatten();
    const bytes = toOnnx(net);
    const pools = decodeOnnx(bytes).graph.node.filter((n: { opType: string }) => n.opType === 'MaxPool');
    expect(pools.map((n: { docString?: string }) => n.docString ?? '')).toEqual(['wasmnet Pool2D strict ties: a tied maximum gets an equal share of the gradient', '']);
    const back = fromOnnx(bytes);
    expect(back.layers.slice(0, 2).map((l) => (l as unknown as { strict: boolean }).strict)).toEqual([true, false]);
    net.dispose();
    back.dispose();
  });
});

describe('export → import', () => {
  it('gives bit-identical predictions and the same ONNX bytes again (every layer kind)', () => {
    const net = everyLayer(8);
    const bytes = toOnnx(net);
    const back = fromOnnx(bytes);
    const x = uniform([9, 3, 13, 11], new Rng(2));
    const a = net.evaluate(x).data;
    const b = back.evaluate(x).data;
    expect(b.every((v, i) => Object.is(v, a[i]))).toBe(true);
    expect(back.layers.map((l) => l.kind)).toEqual(net.layers.map((l) => l.kind));
    const specs = (s: SequentialNet) => s.layers.map((l) => ({ ...l.toSpec(), seed: undefined }));
    expect(specs(back)).toEqual(specs(net));
    expect(toOnnx(back)).toEqual(bytes);
    net.dispose();
    back.dispose();
  });

  it("the course's network: bit-identical, then trainable, savable and exportable again", async () => {
    const net = courseCnn({ seed: 9 });
    const back = fromOnnx(toOnnx(net), { optim: () => new Adam(0.001), seed: 4 });
    const x = uniform([20, 1, 28, 28], new Rng(5), 0, 1);
    const a = net.evaluate(x).data;
    expect(back.evaluate(x).data.every((v, i) => Object.is(v, a[i]))).toBe(true);
    const labels = Array.from({ length: 20 }, (_, i) => i % 10);
    const y = Tensor.oneHot(labels, 10);
    const before = back.measure(x, y).loss;
    await back.train(x, y, { batchSize: 10, epochs: 3 });
    expect(back.measure(x, y).loss).toBeLessThan(before);
    const reloaded = SequentialNet.load(back.save());
    expect(reloaded.evaluate(x).data).toEqual(back.evaluate(x).data);
    expect(fromOnnx(toOnnx(reloaded)).evaluate(x).data).toEqual(back.evaluate(x).data);
    for (const n of [net, back, reloaded]) n.dispose();
  });
});

describe('fromOnnx reads what other exporters write', () => {
  it('Identity on the chain and on an initializer, a Reshape to [0, −1] by an int64 initializer, MatMul + Add for Gemm, a Relu after a Flatten: the same network', () => {
    const net = new SequentialNet([2, 3, 4], { seed: 3 });
    net.addConv2D([2, 2, 2], { afun: new Identity() });
    net.addFlatten();
    net.addDense(5, { afun: new Tanh() });
    net.addDense(3, { afun: new SoftMax() });
    (net.layers[2] as DenseLayer).b = values(5, new Rng(1));
    const m = decodeOnnx(toOnnx(net));
    const nodes = m.graph.node;
    const at = (name: string) => nodes.findIndex((n: { name: string }) => n.name === name);
    // Flatten → Identity → Reshape(shape = [0, -1]) → Relu (moves back onto the Conv: ReLU commutes with reshaping)
    nodes.splice(at('layers.1'), 1,
      { name: 'id', opType: 'Identity', input: ['layers.0.out'], output: ['id.out'] },
      { name: 'reshape', opType: 'Reshape', input: ['id.out', 'flat'], output: ['reshape.out'] },
      { name: 'relu', opType: 'Relu', input: ['reshape.out'], output: ['layers.1.out'] });
    m.graph.initializer.push({ name: 'flat', dims: [2], dataType: 7, int64Data: [0, -1] });
    // Gemm → Identity(weight) + MatMul + Add(bias)
    nodes.splice(at('layers.2'), 1,
      { name: 'alias', opType: 'Identity', input: ['layers.2.weight'], output: ['w'] },
      { name: 'matmul', opType: 'MatMul', input: ['layers.1.out', 'w'], output: ['mm.out'] },
      { name: 'add', opType: 'Add', input: ['mm.out', 'layers.2.bias'], output: ['layers.2.out'] });
    const back = fromOnnx(encodeOnnx(m));
    expect(back.layers.map((l) => `${l.kind}:${(l as { afun?: { name: string } }).afun?.name ?? ''}`)).toEqual(['Conv2D:ReLU', 'Flatten:', 'Dense:Tanh', 'Dense:SoftMax']);
    const x = uniform([4, 2, 3, 4], new Rng(7));
    const relu = new SequentialNet([2, 3, 4], { seed: 3 });
    relu.addConv2D([2, 2, 2], { afun: new ReLU() }).f = (net.layers[0] as Conv2DLayer).f;
    (relu.layers[0] as Conv2DLayer).b = (net.layers[0] as Conv2DLayer).b;
    relu.addFlatten();
    Object.assign(relu.addDense(5, { afun: new Tanh() }), { w: (net.layers[2] as DenseLayer).w, b: (net.layers[2] as DenseLayer).b });
    Object.assign(relu.addDense(3, { afun: new SoftMax() }), { w: (net.layers[3] as DenseLayer).w, b: (net.layers[3] as DenseLayer).b });
    expect(back.evaluate(x).data).toEqual(relu.evaluate(x).data);
    for (const n of [net, back, relu]) n.dispose();
  });
});

describe('packaging', () => {
  it('the protobuf library is only in the onnx entries: not in dist/browser.js, its worker, or the main entry, nor in their chunks', () => {
    const dist = new URL('../dist/', import.meta.url);
    const read = (f: string) => readFileSync(new URL(f, dist), 'utf8');
    const imports = (f: string) => [...read(f).matchAll(/from "\.\/([^"]+)"|require\('\.\/([^']+)'\)/g)].map((m) => m[1] ?? m[2]);
    const reach = (entry: string, seen = new Set<string>()): Set<string> => {
      if (!seen.has(entry)) {
        seen.add(entry);
        for (const f of imports(entry)) reach(f, seen);
      }
      return seen;
    };
    for (const entry of ['browser.js', 'worker.js', 'index.js', 'index.cjs']) {
      for (const f of reach(entry)) expect(read(f), `${f} (from ${entry})`).not.toMatch(/protobuf|onnx\.ModelProto|ONNX_SCHEMA/);
    }
    expect(read('onnx.js')).toMatch(/from "protobufjs\/light\.js"/);
    expect(read('onnx.browser.js')).toMatch(/protobuf/);
    expect(readdirSync(dist).filter((f) => f.startsWith('onnx'))).toEqual(expect.arrayContaining(['onnx.js', 'onnx.cjs', 'onnx.d.ts', 'onnx.d.cts']));
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.exports['./onnx']).toEqual({
      browser: { types: './dist/onnx.d.ts', default: './dist/onnx.browser.js' },
      import: { types: './dist/onnx.d.ts', default: './dist/onnx.js' },
      require: { types: './dist/onnx.d.cts', default: './dist/onnx.cjs' },
    });
  });

  it("a bundler gets wasmnet/onnx's browser build, on the same chunk as wasmnet's (one library, no Node built-in)", async () => {
    const { build } = await import('esbuild');
    const result = await build({
      stdin: {
        contents: "import { courseCnn } from 'wasmnet'; import { toOnnx } from 'wasmnet/onnx'; globalThis.bytes = toOnnx(courseCnn({ seed: 1 }));",
        resolveDir: new URL('..', import.meta.url).pathname,
        loader: 'js',
      },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile!.inputs).map((f) => f.replace(/^.*dist\//, 'dist/'));
    expect(inputs).toEqual(expect.arrayContaining(['dist/browser.js', 'dist/onnx.browser.js']));
    expect(inputs.filter((f) => f.startsWith('node:') || f === 'dist/index.js' || f === 'dist/onnx.js')).toEqual([]);
    const lib = readFileSync(new URL('../dist/browser.js', import.meta.url), 'utf8').match(/from "\.\/(chunk-[^"]+)"/g)!;
    const onnx = readFileSync(new URL('../dist/onnx.browser.js', import.meta.url), 'utf8').match(/from "\.\/(chunk-[^"]+)"/g)!;
    expect(onnx.every((c) => lib.includes(c))).toBe(true);
  });

  it("require('wasmnet/onnx') works on the networks of require('wasmnet') (one shared CommonJS chunk)", async () => {
    const require = createRequire(import.meta.url);
    const lib = require('../dist/index.cjs');
    const onnx = require('../dist/onnx.cjs');
    await lib.init();
    const net = lib.courseCnn({ seed: 1 });
    const back = onnx.fromOnnx(onnx.toOnnx(net));
    expect(back).toBeInstanceOf(lib.SequentialNet);
    net.dispose();
    back.dispose();
  });
});
