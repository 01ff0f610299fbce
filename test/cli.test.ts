// The wasmnet command (ts/cli/), run as a user runs it: node dist/cli.js.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmnet } from './helpers/cli.js';
import { SequentialNet, loadMnist } from 'wasmnet';


describe('wasmnet command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmnet-cli-'));
  const model = join(dir, 'model.wnet');
  const picture = join(dir, 'result.png');
  let trained: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    trained = await wasmnet('train', '--limit', '1000', '--test-limit', '300', '--epochs', '3', '--batch-size', '50', '--json', '--save', model, '--png', picture);
  });

  it('trains on a few MNIST digits, prints one JSON object with --json, and saves the model', async () => {
    const r = trained;
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.epochs).toBe(3);
    expect(result.history).toHaveLength(3);
    expect(result.testAccuracy).toBeGreaterThan(0.7);
    expect(result.imagesPerSecond).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/epoch 3\/3: loss/);
    expect(existsSync(model)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['model.wnet', 'result.png']); // no temporary file left behind

    const e = await wasmnet('eval', '--model', model, '--test-limit', '300', '--json');
    expect(e.code).toBe(0);
    const evaluation = JSON.parse(e.stdout);
    expect(evaluation.testAccuracy).toBeCloseTo(result.testAccuracy, 10);
    expect(evaluation.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(300);
  });

  it('writes --png as a valid picture of the expected size', () => {
    const png = PNG.sync.read(readFileSync(picture));
    // 8 columns of 96-pixel cells and a 440-pixel chart column, 4 rows of digits or two charts
    expect([png.width, png.height]).toEqual([20 + 8 * 96 + 30 + 440 + 20, 60 + 2 * 250 + 20]);
    let dark = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] < 128) dark++;
    expect(dark).toBeGreaterThan(10000); // digits, text and curves were drawn
  });

  it('predicts pictures of digits drawn dark on light, at any size', async () => {
    const { xTest, labelsTest } = await loadMnist({ train: false, testLimit: 20 });
    const files: string[] = [];
    for (const k of [0, 1, 2, 3, 4, 5]) {
      // 4× larger, inverted (black ink on white paper), in an 8-pixel margin
      const size = 28 * 4 + 16;
      const png = new PNG({ width: size, height: size });
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const sx = Math.floor((x - 8) / 4);
          const sy = Math.floor((y - 8) / 4);
          const v = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? xTest.data[k * 784 + sy * 28 + sx] : 0;
          const o = 4 * (y * size + x);
          png.data[o] = png.data[o + 1] = png.data[o + 2] = Math.round(255 * (1 - v));
          png.data[o + 3] = 255;
        }
      const file = join(dir, `digit-${labelsTest[k]}-${k}.png`);
      writeFileSync(file, PNG.sync.write(png));
      files.push(file);
    }
    const r = await wasmnet('predict', '--model', model, '--json', ...files);
    expect(r.code).toBe(0);
    const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(answers).toHaveLength(6);
    for (const a of answers) expect(a.probabilities.reduce((s: number, p: number) => s + p, 0)).toBeCloseTo(1, 5);
    const right = answers.filter((a, i) => a.digit === labelsTest[i]).length;
    expect(right).toBeGreaterThanOrEqual(4);
    const text = await wasmnet('predict', '--model', model, files[0]);
    expect(text.stdout).toMatch(/digit-7-0.png: \d {2}\(\d+\.\d %\)/);
    const notPng = await wasmnet('predict', '--model', model, model);
    expect(notPng.code).toBe(1);
    expect(notPng.stderr).toMatch(/cannot read .*model.wnet as a PNG image/);
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
    expect(help.stdout).toMatch(/--workers <n\|auto>/);
    for (const workers of ['0', 'two', '1.5']) {
      const w = await wasmnet('train', '--workers', workers);
      expect(w.code).toBe(2);
      expect(w.stderr.trim()).toBe(`wasmnet: --workers must be an integer from 1 to 256 or auto, got "${workers}"`);
    }
  });

  it('trains on every core by default, to the same weights as --workers 1 and --workers 3', async () => {
    expect(JSON.parse(trained.stdout).workers).toBe(availableParallelism());
    const weights = [];
    for (const workers of [[], ['--workers', '1'], ['--workers', '3']]) {
      const file = join(dir, `w${workers.join('')}.wnet`);
      const r = await wasmnet('train', '--limit', '300', '--test-limit', '50', '--epochs', '1', '--batch-size', '64', '--json', '--save', file, ...workers);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`seed 42, ${workers[1] ?? availableParallelism()} workers?`));
      const net = SequentialNet.load(readFileSync(file));
      weights.push(Buffer.concat(net.parameters().map((p) => Buffer.from(p.value.toArray().buffer))).toString('base64'));
      net.dispose();
    }
    expect(weights[1]).toBe(weights[0]);
    expect(weights[2]).toBe(weights[0]);
  });
});
