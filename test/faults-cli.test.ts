// `wasmnet train --save/--png` into places that cannot be written: refused before training (exit code 2), and a
// write that fails at the end keeps the model in a temporary file whose path is printed (issue 14).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MNIST_FILES, SequentialNet, init } from 'wasmnet';

const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');

/** Runs the command; `onStderr` sees stderr as it comes. */
function wasmnet(args: string[], onStderr?: (text: string) => void): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [cli, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr);
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A folder of MNIST-shaped IDX files with `n` random training and 20 test digits: training that takes a moment. */
function tinyMnist(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmnet-faults-data-'));
  const idx = (dims: number[], value: (i: number) => number) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const out = new Uint8Array(4 + 4 * dims.length + count);
    out.set([0, 0, 8, dims.length]);
    dims.forEach((d, i) => new DataView(out.buffer).setUint32(4 + 4 * i, d));
    for (let i = 0; i < count; i++) out[4 + 4 * dims.length + i] = value(i);
    return out;
  };
  const pixel = (i: number) => (i * 2654435761) >>> 24;
  writeFileSync(join(dir, MNIST_FILES.trainImages), idx([n, 28, 28], pixel));
  writeFileSync(join(dir, MNIST_FILES.trainLabels), idx([n], (i) => i % 10));
  writeFileSync(join(dir, MNIST_FILES.testImages), idx([20, 28, 28], pixel));
  writeFileSync(join(dir, MNIST_FILES.testLabels), idx([20], (i) => i % 10));
  return dir;
}

describe('wasmnet train: where the results go', () => {
  const data = tinyMnist(60);
  const train = (...args: string[]) => wasmnet(['train', '--data', data, '--epochs', '1', '--batch-size', '20', '--json', ...args]);
  const place = mkdtempSync(join(tmpdir(), 'wasmnet-faults-cli-'));
  const aFile = join(place, 'a-file');
  writeFileSync(aFile, 'not a directory');
  mkdirSync(join(place, 'a-dir'));

  const refused: [string, string[], RegExp][] = [
    ['a directory that does not exist', ['--save', join(place, 'no', 'such', 'm.wnet')], /--save .*m\.wnet: cannot write there \(the directory .*no\/such does not exist\)/],
    ['a parent that is a file', ['--save', join(aFile, 'm.wnet')], /--save .*m\.wnet: cannot write there \(a part of .*a-file is a file, not a directory\)/],
    ['a directory that is not writable', ['--save', '/sys/m.wnet'], /--save \/sys\/m\.wnet: cannot write there \(the directory \/sys is not writable\)/],
    ['a directory in the file\'s place', ['--save', join(place, 'a-dir')], /--save .*a-dir: cannot write there \(.*a-dir is a directory\)/],
    ['a --png into a directory that does not exist', ['--png', join(place, 'gone', 'r.png')], /--png .*r\.png: cannot write there/],
  ];
  for (const [what, args, message] of refused) {
    it(`refuses ${what} before training: one line, exit code 2`, async () => {
      const r = await train(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/MNIST|epoch|unexpected|\.tmp|\.probe|at /);
      expect(readdirSync(place).sort()).toEqual(['a-dir', 'a-file']); // no probe left behind
    });
  }

  it.skipIf(process.getuid?.() === 0)('refuses a read-only directory (as a user other than root, who may write anyway)', async () => {
    const ro = join(place, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const r = await train('--save', join(ro, 'm.wnet'));
    chmodSync(ro, 0o755);
    rmSync(ro, { recursive: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot write there \(the directory .*read-only is not writable\)/);
  });

  it('a directory that goes away during training: one line naming the path and the temporary file the model is kept in, exit code 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmnet-faults-gone-'));
    const target = join(dir, 'model.wnet');
    let removed = false;
    const big = tinyMnist(600);
    const r = await wasmnet(['train', '--data', big, '--epochs', '2', '--batch-size', '50', '--json', '--save', target], (text) => {
      // The network is built after the destination was checked and before training starts.
      if (!removed && /network \(course\)/.test(text)) {
        rmSync(dir, { recursive: true });
        removed = true;
      }
    });
    rmSync(big, { recursive: true });
    expect(removed).toBe(true);
    expect(r.code).toBe(1);
    const line = r.stderr.split('\n').find((l) => l.startsWith('wasmnet: '));
    expect(line).toMatch(new RegExp(`^wasmnet: could not write the model to ${target} \\(the directory ${dir} does not exist\\); it is kept in (\\S+)$`));
    expect(r.stderr).not.toMatch(/unexpected error|\.tmp|    at /);
    expect(JSON.parse(r.stdout).epochs).toBe(2); // the run's results were still reported
    const kept = / it is kept in (\S+)$/.exec(line!)![1];
    await init();
    const net = SequentialNet.load(readFileSync(kept));
    expect(net.epochsTrained).toBe(2);
    net.dispose();
    rmSync(kept);
    expect(existsSync(dir)).toBe(false);
  });
});
