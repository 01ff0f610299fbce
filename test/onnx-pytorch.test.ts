/**
 * ONNX files written by PyTorch's torch.onnx.export (scripts/onnx-fixtures.py, Debian's PyTorch 1.13):
 * fromOnnx must reproduce the outputs PyTorch computed on fixed inputs, within 1e-5 of the output's
 * scale. The files and PyTorch's outputs are checked in: no Python here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Adam, BatchNormLayer, SequentialNet, Tanh, Tensor } from 'wasmnet';
import { fromOnnx, toOnnx } from 'wasmnet/onnx';
import { expectRelClose, runOrt } from './helpers/onnx.js';

interface Fixture {
  opset: number;
  ops: string[];
  input: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
}

function fixture(name: string): { bytes: Uint8Array; f: Fixture } {
  const dir = new URL('./fixtures/onnx/', import.meta.url);
  return { bytes: new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir))), f: JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) };
}

describe('fromOnnx reproduces PyTorch', () => {
  it('the pattern of PyTorch\'s MNIST example: relu(max_pool(conv)), a strided padded conv, ReLU then BatchNorm2d, avg_pool2d (with its zero Pad), x.view(x.size(0), -1) via Shape/Gather/Unsqueeze/Concat/Reshape, Gemm transB, Tanh (opset 13, dynamic batch)', async () => {
    const { bytes, f } = fixture('pytorch-mnist-style');
    expect(f.ops).toEqual(expect.arrayContaining(['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape', 'Pad', 'BatchNormalization', 'AveragePool']));
    const net = fromOnnx(bytes);
    expect(net.layers.map((l) => l.kind)).toEqual(['Conv2D', 'Pool2D', 'Conv2D', 'BatchNorm', 'AvgPool2D', 'Flatten', 'Dense', 'Dense']);
    expect(net.layers.map((l) => (l as { afun?: { name: string } }).afun?.name ?? '-')).toEqual(['ReLU', '-', 'ReLU', 'Identity', '-', '-', 'Tanh', 'Identity']);
    const bn = net.layers[3] as BatchNormLayer;
    expect([bn.momentum, bn.eps]).toEqual([0.1, 1e-5]);
    const x = new Tensor(Float32Array.from(f.input.data), f.input.shape);
    const y = net.evaluate(x);
    expect(y.shape).toEqual(f.output.shape);
    expectRelClose(y.data, f.output.data, 1e-5, 'wasmnet vs PyTorch');
    // …and ONNX Runtime agrees with both on PyTorch's file and on wasmnet's export of the imported network.
    expectRelClose((await runOrt(bytes, x.data, x.shape)).data, f.output.data, 1e-5, 'ONNX Runtime vs PyTorch');
    expectRelClose((await runOrt(toOnnx(net), x.data, x.shape)).data, f.output.data, 1e-5, 'ONNX Runtime on wasmnet\'s re-export vs PyTorch');
    net.dispose();
  });

  it('an nn.Sequential: 3 channels, a 3×2 kernel with stride [2, 1] and padding [1, 0], a folded BatchNorm2d, Sigmoid, overlapping MaxPool, Flatten, Softmax (opset 17, fixed batch, initializers also listed as inputs)', async () => {
    const { bytes, f } = fixture('pytorch-sequential');
    expect(f.opset).toBe(17);
    const net = fromOnnx(bytes);
    expect(net.layers.map((l) => l.kind)).toEqual(['Conv2D', 'Pool2D', 'Flatten', 'Dense', 'Dense']);
    expect(net.inputShape).toEqual([3, 11, 9]);
    // The file fixes the batch at 1; the imported network takes any batch.
    const x = new Tensor(Float32Array.from(f.input.data), f.input.shape);
    expectRelClose(net.evaluate(x).data, f.output.data, 1e-5, 'wasmnet vs PyTorch');
    net.dispose();
  });

  it('a 28×28 digit classifier ending in logits: conv → ReLU → max_pool2d → torch.flatten → Linear (opset 14); softmax: true makes the logits SoftMax', () => {
    const { bytes, f } = fixture('pytorch-mnist-28');
    expect(f.opset).toBe(14);
    const x = new Tensor(Float32Array.from(f.input.data), f.input.shape);
    const net = fromOnnx(bytes);
    expectRelClose(net.evaluate(x).data, f.output.data, 1e-5, 'wasmnet vs PyTorch');
    const probabilities = fromOnnx(bytes, { softmax: true });
    const p = probabilities.evaluate(x).data;
    for (let r = 0; r < 3; r++) {
      const logits = f.output.data.slice(10 * r, 10 * r + 10);
      const max = Math.max(...logits);
      const sum = logits.reduce((s, v) => s + Math.exp(v - max), 0);
      expectRelClose(p.subarray(10 * r, 10 * r + 10), logits.map((v) => Math.exp(v - max) / sum), 1e-5, `softmax of row ${r}`);
    }
    net.dispose();
    probabilities.dispose();
    // Already SoftMax: nothing to add. Another activation: refused.
    expect(fromOnnx(fixture('pytorch-sequential').bytes, { softmax: true }).layers.length).toBe(5);
    const tanh = new SequentialNet([4], { seed: 1 });
    tanh.addDense(3, { afun: new Tanh() });
    expect(() => fromOnnx(toOnnx(tanh), { softmax: true })).toThrow(/^fromOnnx softmax: the model must end in logits \(a Gemm or MatMul without activation\), but it ends in a Gemm with the activation Tanh$/);
    tanh.dispose();
  });

  it('an imported PyTorch network fine-tunes: the loss on a batch falls', async () => {
    const { bytes, f } = fixture('pytorch-sequential');
    const net = fromOnnx(bytes, { optim: new Adam(0.01), seed: 1 });
    const x = new Tensor(Float32Array.from(f.input.data), f.input.shape);
    const y = Tensor.oneHot([0, 3, 6], 7);
    const before = net.measure(x, y).loss;
    await net.train(x, y, { batchSize: 3, epochs: 5 });
    expect(net.measure(x, y).loss).toBeLessThan(before);
    net.dispose();
  });
});
