// The wasmnet command (ts/cli/), run as a user runs it: node dist/cli.js.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');

async function wasmnet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [cli, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('wasmnet command', () => {
  it('trains on a few MNIST digits, prints one JSON object with --json, and saves the model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmnet-cli-'));
    const model = join(dir, 'model.wnet');
    const r = await wasmnet('train', '--limit', '300', '--test-limit', '200', '--epochs', '2', '--batch-size', '50', '--json', '--save', model);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.epochs).toBe(2);
    expect(result.history).toHaveLength(2);
    expect(result.testAccuracy).toBeGreaterThan(0.4);
    expect(result.imagesPerSecond).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/epoch 2\/2: loss/);
    expect(existsSync(model)).toBe(true);
    expect(readdirSync(dir)).toEqual(['model.wnet']); // no temporary file left behind

    const e = await wasmnet('eval', '--model', model, '--test-limit', '200', '--json');
    expect(e.code).toBe(0);
    const evaluation = JSON.parse(e.stdout);
    expect(evaluation.testAccuracy).toBeCloseTo(result.testAccuracy, 10);
    expect(evaluation.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(200);
  });

  it('shows digits with "Label is X, guess is Y" like the course listing', async () => {
    const r = await wasmnet('train', '--limit', '100', '--test-limit', '50', '--epochs', '1', '--batch-size', '50');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^accuracy = 0\.\d{4}/);
    expect(r.stdout.match(/Label is \d, guess is \d/g)).toHaveLength(4);
  });

  it('answers bad arguments with one line and exit code 2, failures with exit code 1', async () => {
    const bad = await wasmnet('train', '--epochs', 'ten');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('wasmnet: --epochs must be an integer ≥ 1, got "ten"');
    expect((await wasmnet('train', '--nope')).code).toBe(2);
    expect((await wasmnet('fly')).code).toBe(2);
    expect((await wasmnet('eval')).stderr).toMatch(/--model <file> is required/);
    const missing = await wasmnet('train', '--data', '/no/such/dir');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\/no\/such\/dir: no train-images-idx3-ubyte/);
    const help = await wasmnet('train', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--batch-size <n>/);
  });
});
