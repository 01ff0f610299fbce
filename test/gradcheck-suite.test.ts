// The gradient-check suite (ts/gradcheck-suite.ts) and `wasmnet gradcheck`: driven by the layer registry,
// it covers every kind, and it fails when a kind's backprop is wrong.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AvgPool2DLayer, Identity, SequentialNet, Tanh, checkLayerKinds, gradientCheckSuite, layerKinds } from 'wasmnet';
import type { F32Array } from 'wasmnet/internal';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');

describe('gradientCheckSuite', () => {
  it('passes, and checks every registered layer kind', () => {
    const rows = gradientCheckSuite();
    const failed = rows.filter((r) => !r.pass);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    for (const kind of Object.keys(layerKinds)) expect(rows.some((r) => r.group === kind), `no row for ${kind}`).toBe(true);
    // Every row compared real entries: nothing passes by skipping everything.
    for (const r of rows) expect(r.checked, `${r.group}: ${r.what}`).toBeGreaterThan(0);
    expect(rows.filter((r) => r.group === 'network').map((r) => r.what)).toHaveLength(4);
  });

  it('checks a kind that is registered later, and fails it when its backprop is wrong', () => {
    /** Average pooling whose input gradient is 10 % too large. */
    class WrongAvgPool extends AvgPool2DLayer {
      override backwardBuffer(delta: F32Array, wantInputGrad: boolean): F32Array | null {
        const da = super.backwardBuffer(delta, wantInputGrad);
        if (da) {
          const v = da.view();
          for (let i = 0; i < v.length; i++) v[i] *= 1.1;
        }
        return da;
      }
      static override gradcheckCases() {
        return [{ label: 'wrong on purpose', input: [2, 6, 6], smooth: true, build: () => new WrongAvgPool([2, 2]) }];
      }
    }
    const kinds = layerKinds as Record<string, unknown>;
    kinds.WrongAvgPool = WrongAvgPool;
    try {
      const rows = checkLayerKinds().filter((r) => r.group === 'WrongAvgPool');
      expect(rows).toHaveLength(1);
      expect(rows[0].pass).toBe(false);
      expect(rows[0].maxError).toBeGreaterThan(0.05);
    } finally {
      delete kinds.WrongAvgPool;
    }
  });
});

describe('wasmnet gradcheck', () => {
  it('prints the table and "N passed, 0 failed", exit code 0', async () => {
    const { stdout } = await run('node', [cli, 'gradcheck'], { maxBuffer: 1 << 22 });
    expect(stdout).toMatch(/max rel\. error/);
    expect(stdout).toMatch(/BatchNorm +\[c, h, w\], training/);
    expect(stdout).toMatch(/^\d+ passed, 0 failed$/m);
  });

  it('--model checks a saved network in both modes; --json gives the rows', async () => {
    const net = new SequentialNet([1, 8, 8], { seed: 2 });
    net.addConv2D([3, 3, 3], { padding: 1, afun: new Identity() });
    net.addBatchNorm({ afun: new Tanh() });
    net.addFlatten();
    net.addDropout(0.2);
    net.addDense(4, { afun: new Tanh() });
    const file = join(mkdtempSync(join(tmpdir(), 'wasmnet-gradcheck-')), 'net.wnet');
    writeFileSync(file, net.save());
    net.dispose();
    const { stdout } = await run('node', [cli, 'gradcheck', '--model', file, '--json']);
    const result = JSON.parse(stdout);
    expect(result.failed).toBe(0);
    expect(result.rows.map((r: { what: string }) => r.what)).toEqual([`${file}, inference mode`, `${file}, training mode`]);
  });

  it('rejects a bad option with exit code 2', async () => {
    await expect(run('node', [cli, 'gradcheck', '--samples', 'many'])).rejects.toMatchObject({ code: 2 });
  });
});
