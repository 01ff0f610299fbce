/**
 * Bad ONNX input gets a ValueError naming the node, the operator and what is supported (README, "When
 * things go wrong"): never a wrong network, never a raw protobuf or TypeError.
 */
import { describe, expect, it } from 'vitest';
import { SequentialNet, ValueError, courseCnn } from 'wasmnet';
import { fromOnnx, toOnnx } from 'wasmnet/onnx';
import { decodeOnnx, encodeOnnx } from './helpers/onnx.js';

const net = courseCnn({ seed: 1 });
const good = toOnnx(net);

/** The course network's ONNX model with `edit` applied to its message. */
function edited(edit: (m: any) => void): Uint8Array {
  const m = decodeOnnx(good);
  edit(m);
  return encodeOnnx(m);
}
const node = (m: any, name: string) => m.graph.node.find((n: any) => n.name === name);
const attr = (n: any, name: string) => n.attribute.find((a: any) => a.name === name);

function refused(bytes: unknown, message: RegExp): void {
  let error: unknown;
  try {
    fromOnnx(bytes as Uint8Array).dispose();
  } catch (e) {
    error = e;
  }
  expect(error, String(error)).toBeInstanceOf(ValueError);
  expect((error as Error).message).toMatch(message);
}

describe('fromOnnx refuses bad ONNX input with a clear ValueError', () => {
  it('a truncated file, a file that is not ONNX, no bytes', () => {
    refused(good.subarray(0, Math.floor(good.length * 0.6)), /^not an ONNX model, or a truncated or damaged one: its protobuf does not parse \(.+; \d+ bytes\)$/);
    refused(net.save(), /not an ONNX model/);
    refused(new Uint8Array(0), /the ONNX model is empty/);
    refused('model.onnx', /fromOnnx needs the bytes of an ONNX model \(a Uint8Array or ArrayBuffer\), got "model.onnx"/);
  });

  it('an unsupported operator, named with its node and the supported list', () => {
    refused(
      edited((m) => (node(m, 'layers.0.ReLU').opType = 'LeakyRelu')),
      /^ONNX node "layers.0.ReLU" \(LeakyRelu\): operator LeakyRelu is not supported; wasmnet imports Conv, MaxPool, AveragePool, Relu, Sigmoid, Tanh, Softmax, Flatten, Reshape, Gemm/,
    );
    refused(edited((m) => (node(m, 'layers.4.SoftMax').opType = 'LogSoftmax')), /ONNX node "layers.4.SoftMax" \(LogSoftmax\): operator LogSoftmax is not supported/);
  });

  it('initializers whose shapes do not fit', () => {
    refused(
      edited((m) => (m.graph.initializer.find((t: any) => t.name === 'layers.0.weight').dims = [32, 1, 3, 4])),
      /^initializer "layers.0.weight" has dims \[32, 1, 3, 4\] \(384 values\) but holds 288 values$/,
    );
    refused(
      edited((m) => (m.graph.initializer.find((t: any) => t.name === 'layers.3.weight').dims = [100, 5408])),
      /^ONNX node "layers.3" \(Gemm\): the weight B has dims \[100, 5408\], but the input has 5408 features \(expected \[5408, out\] with transB 0\)$/,
    );
    refused(
      edited((m) => (m.graph.initializer.find((t: any) => t.name === 'layers.0.weight').dims = [16, 2, 3, 3])),
      /ONNX node "layers.0" \(Conv\): the weight has dims \[16, 2, 3, 3\], but its input has 1 channels/,
    );
  });

  it('two inputs, two outputs', () => {
    refused(
      edited((m) => m.graph.input.push({ ...m.graph.input[0], name: 'mask' })),
      /^the ONNX model has 2 inputs \("input", "mask"\); wasmnet imports a network with exactly one input$/,
    );
    refused(edited((m) => m.graph.output.push({ ...m.graph.output[0], name: 'layers.0.out' })), /the ONNX model has 2 outputs/);
  });

  it('attributes wasmnet cannot honour: dilations, groups, asymmetric padding, MaxPool padding', () => {
    refused(edited((m) => (attr(node(m, 'layers.0'), 'dilations').ints = [2, 2])), /^ONNX node "layers.0" \(Conv\): dilations \[2, 2\] are not supported \(wasmnet's Conv2D has dilation 1\)$/);
    refused(edited((m) => (attr(node(m, 'layers.0'), 'group').i = 2)), /ONNX node "layers.0" \(Conv\): group 2 is not supported/);
    refused(edited((m) => (attr(node(m, 'layers.0'), 'pads').ints = [1, 0, 0, 0])), /ONNX node "layers.0" \(Conv\): pads \[1, 0, 0, 0\] are not supported/);
    refused(edited((m) => (attr(node(m, 'layers.1'), 'pads').ints = [1, 1, 1, 1])), /ONNX node "layers.1" \(MaxPool\): padding .* is not supported/);
  });

  it('a branch (a skip connection), an unknown value, an unsupported opset or domain', () => {
    refused(
      edited((m) => {
        const gemm = node(m, 'layers.3');
        m.graph.node.splice(m.graph.node.indexOf(gemm), 0, { name: 'skip', opType: 'Add', input: ['layers.2.out', 'layers.0.ReLU.out'], output: ['skip.out'] });
        gemm.input[0] = 'skip.out';
      }),
      /^ONNX node "skip" \(Add\) reads "layers.0.ReLU.out", an earlier value of the chain, besides "layers.2.out": wasmnet imports a chain of layers, without branches or skip connections$/,
    );
    refused(edited((m) => (node(m, 'layers.3').input[0] = 'nowhere')), /ONNX node "layers.3" \(Gemm\) reads "nowhere", which no earlier node or initializer produces/);
    refused(edited((m) => (m.opsetImport[0].version = 9)), /^the ONNX model uses opset 9; wasmnet reads opsets 13–17/);
    refused(edited((m) => (node(m, 'layers.0.ReLU').domain = 'com.microsoft')), /ONNX node "layers.0.ReLU" \(Relu\): operators of domain "com.microsoft" are not supported/);
  });

  it('weights stored outside the file, or not finite', () => {
    refused(
      edited((m) => {
        const t = m.graph.initializer[0];
        delete t.rawData;
        t.dataLocation = 1;
        t.externalData = [{ key: 'location', value: 'weights.bin' }];
      }),
      /initializer "layers.0.weight" is stored in an external file/,
    );
    refused(
      edited((m) => {
        const raw = new Uint8Array(m.graph.initializer[1].rawData);
        new DataView(raw.buffer).setFloat32(0, NaN, true);
        m.graph.initializer[1].rawData = raw;
      }),
      /^ONNX node "layers.0" \(Conv\): Conv2D.b must hold finite numbers, but index 0 is NaN$/,
    );
  });

  it('bad options', () => {
    expect(() => fromOnnx(good, { optim: 'adam' } as never)).toThrow(/fromOnnx optim must be an Optimizer/);
    expect(() => fromOnnx(good, { seeds: 1 } as never)).toThrow(/fromOnnx options: unknown option "seeds", did you mean "seed"\? \(known: optim, loss, seed, softmax\)/);
    expect(() => toOnnx({} as SequentialNet)).toThrow(/toOnnx needs a SequentialNet, got Object/);
    expect(() => toOnnx(net, { inputName: '' })).toThrow(/toOnnx inputName must be a non-empty string/);
    expect(() => toOnnx(new SequentialNet([3]))).toThrow(/the network has no layers/);
    expect(() => toOnnx(net, { inputNmae: 'x' } as never)).toThrow(/^toOnnx options: unknown option "inputNmae"/);
    expect(() => toOnnx(net, { inputName: 'x', outputName: 'x' })).toThrow(new ValueError('toOnnx inputName and outputName must differ, both are "x"'));
    expect(() => toOnnx(net, { outputName: 'input' })).toThrow(/toOnnx inputName and outputName must differ, both are "input"/);
  });
});

describe('fromOnnx on damaged files', () => {
  it('every truncation and 300 random byte changes of a small model give a network or a ValueError, nothing else', () => {
    const small = new SequentialNet([2, 6, 5], { seed: 3 });
    small.addConv2D([3, 3, 2], { padding: 1 });
    small.addPool2D([2, 2]);
    small.addFlatten();
    small.addBatchNorm();
    small.addDense(4);
    const bytes = toOnnx(small);
    const attempt = (b: Uint8Array, what: string) => {
      try {
        fromOnnx(b).dispose();
      } catch (e) {
        if (!(e instanceof ValueError)) throw new Error(`${what}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      }
    };
    for (let cut = 0; cut < bytes.length; cut++) attempt(bytes.subarray(0, cut), `truncated at ${cut}`);
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let k = 0; k < 300; k++) {
      const b = bytes.slice();
      for (let j = 0; j < 1 + (k % 3); j++) b[next() % b.length] = next() & 255;
      attempt(b, `mutation ${k}`);
    }
    small.dispose();
  });
});
