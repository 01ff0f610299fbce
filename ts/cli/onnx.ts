/** The command line's ONNX parts: `wasmnet export` and `wasmnet train --init <file.onnx>`. */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Adam, SequentialNet, WasmnetError, init } from '../index.js';
import { ONNX_EXPORT_OPSET, fromOnnx, toOnnx } from '../onnx/index.js';
import { UsageError } from './args.js';
import { readModelFile, writeAtomically } from './files.js';

export const EXPORT_HELP = `wasmnet export — a saved model as ONNX, for ONNX Runtime, PyTorch, TensorRT, OpenVINO …

Usage: wasmnet export <model.wnet> <model.onnx>

Writes opset ${ONNX_EXPORT_OPSET} with input "input" [N, …] and output "output" [N, …], N the batch.

Options:
  -h, --help             this text
`;

export async function exportCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.values.help) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  if (parsed.positionals.length !== 2) throw new UsageError('export takes two files: wasmnet export <model.wnet> <model.onnx>');
  const [from, to] = parsed.positionals;
  await init();
  const net = SequentialNet.load(await readModelFile(from));
  try {
    const bytes = toOnnx(net);
    await writeAtomically(to, bytes);
    process.stdout.write(`wrote ${to} (${bytes.length} bytes, ONNX opset ${ONNX_EXPORT_OPSET}): input "input" [N, ${net.inputShape.join(', ')}] → output "output" [N, ${net.outputShape.join(', ')}]\n`);
  } finally {
    net.dispose();
  }
  return 0;
}

/**
 * The network in an ONNX file, to fine-tune on MNIST with Adam(lr): a file that ends in logits
 * (PyTorch's classifiers) gets SoftMax on its last layer, so it trains with cross-entropy.
 */
export async function importForTraining(path: string, options: { seed: number; lr: number }): Promise<SequentialNet> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new WasmnetError(`cannot read the ONNX file ${path} (--init takes a .onnx file, e.g. from wasmnet export or torch.onnx.export): ${(e as Error).message}`);
  }
  let net = fromOnnx(bytes, { seed: options.seed, optim: () => new Adam(options.lr) });
  const last = net.layers[net.layers.length - 1] as { afun?: { name: string } };
  if (last.afun?.name !== 'SoftMax') {
    net.dispose();
    net = fromOnnx(bytes, { seed: options.seed, optim: () => new Adam(options.lr), softmax: true });
  }
  if (net.inputShape.join() !== '1,28,28' || net.outputShape.join() !== '10') {
    const shapes = `input [${net.inputShape.join(', ')}], output [${net.outputShape.join(', ')}]`;
    net.dispose();
    throw new WasmnetError(`${path} is not a network for 28×28 digits (it has ${shapes}; MNIST needs input [1, 28, 28] and output [10])`);
  }
  return net;
}
