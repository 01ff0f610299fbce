// `wasmnet export` and `wasmnet train --init <file.onnx>`, run as a user runs them: node dist/cli.js.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wasmnet } from './helpers/cli.js';
import { describe, expect, it } from 'vitest';
import { Rng, SequentialNet, courseCnn } from 'wasmnet';
import { fromOnnx } from 'wasmnet/onnx';
import { uniform } from './helpers/util.js';
import { writeFileSync } from 'node:fs';

const fixtures = join(import.meta.dirname, 'fixtures', 'onnx');

describe('wasmnet export and train --init', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmnet-onnx-cli-'));

  it('export writes an ONNX file that imports to the same predictions', async () => {
    const net = courseCnn({ seed: 6 });
    writeFileSync(join(dir, 'course.wnet'), net.save());
    const r = await wasmnet('export', join(dir, 'course.wnet'), join(dir, 'course.onnx'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*course\.onnx \(\d+ bytes, ONNX opset 13\): input "input" \[N, 1, 28, 28\] → output "output" \[N, 10\]\n$/);
    const back = fromOnnx(readFileSync(join(dir, 'course.onnx')));
    const x = uniform([4, 1, 28, 28], new Rng(1), 0, 1);
    expect(back.evaluate(x).data).toEqual(net.evaluate(x).data);
    net.dispose();
    back.dispose();
  });

  it('train --init fine-tunes a PyTorch-made classifier (its logits get SoftMax) and saves it', async () => {
    const saved = join(dir, 'tuned.wnet');
    const r = await wasmnet('train', '--init', join(fixtures, 'pytorch-mnist-28.onnx'), '--limit', '600', '--test-limit', '200', '--epochs', '2', '--batch-size', '50', '--json', '--save', saved);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/network \(course\): from .*pytorch-mnist-28\.onnx: Conv2D → Pool2D → Flatten → Dense; Adam\(0\.001\), batch 50, 2 epochs/);
    expect(JSON.parse(r.stdout).testAccuracy).toBeGreaterThan(0.5);
    const tuned = SequentialNet.load(readFileSync(saved));
    expect((tuned.layers[3] as unknown as { afun: { name: string } }).afun.name).toBe('SoftMax');
    tuned.dispose();
  });

  it('errors: a network that is not for digits, a missing file, a wrong number of files', async () => {
    const notDigits = await wasmnet('train', '--init', join(fixtures, 'pytorch-sequential.onnx'), '--limit', '10', '--test-limit', '10');
    expect([notDigits.code, notDigits.stderr]).toEqual([1, expect.stringMatching(/^wasmnet: .*pytorch-sequential\.onnx is not a network for 28×28 digits \(it has input \[3, 11, 9\], output \[7\]/)]);
    const missing = await wasmnet('train', '--init', join(dir, 'nothing.onnx'));
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/^wasmnet: cannot read the ONNX file .*nothing\.onnx/)]);
    const usage = await wasmnet('export', join(dir, 'course.wnet'));
    expect([usage.code, usage.stderr]).toEqual([2, 'wasmnet: export takes two files: wasmnet export <model.wnet> <model.onnx>\n']);
    const bad = await wasmnet('export', join(fixtures, 'pytorch-sequential.onnx'), join(dir, 'x.onnx'));
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringMatching(/^wasmnet: not a wasmnet model file/)]);
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
  });
});
