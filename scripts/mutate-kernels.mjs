#!/usr/bin/env node
// Mutation testing of the Rust kernels (`npm run mutate:kernels`): each mutant below is a small,
// plausible mistake in a kernel. In a scratch worktree of HEAD each one is applied, the wasm rebuilt,
// and the tests that should notice are run (native `cargo test`, then the vitest files named); the
// mutant is reverted before the next. A mutant no test kills is a hole in the suite. Slow (about a
// minute a mutant): run before a release, not in CI.
//
//   node scripts/mutate-kernels.mjs [--only <id,id>] [--json <file>]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { only: { type: 'string' }, json: { type: 'string' } } });

/**
 * One mistake: in `file`, the `nth` (default 0) occurrence of `find` becomes `replace`.
 * `tests`: the vitest files that hold this kernel family (after the native tests).
 */
const MUTANTS = [
  // convolution, both paths and all three gradients
  { id: 'conv-direct-flip', family: 'conv (direct)', file: 'crate/src/conv/direct.rs', find: 'k * fh * fw + (fh - 1 - u) * fw + (fw - 1 - v)]', replace: 'k * fh * fw + u * fw + v]', what: 'cross-correlation instead of the true convolution', tests: ['conv2d', 'conv2d-direct'] },
  { id: 'conv-im2col-flip', family: 'conv (im2col)', file: 'crate/src/conv/im2col.rs', find: 'let (dy, dx) = (s.fh - 1 - u, s.fw - 1 - v);', replace: 'let (dy, dx) = (u, v);', what: 'im2col forward unflipped', tests: ['conv2d'] },
  { id: 'conv-im2col-flip-back', family: 'conv (im2col)', file: 'crate/src/conv/im2col.rs', find: 'let (dy, dx) = (s.fh - 1 - u, s.fw - 1 - v);', nth: 1, replace: 'let (dy, dx) = (s.fh - 1 - u, v);', what: 'col2im (input gradient) flipped in one axis only', tests: ['conv2d', 'conv2d-direct'] },
  { id: 'conv-direct-row-rest', family: 'conv (direct)', file: 'crate/src/conv/direct.rs', find: 'x.min(zw - 4), zi);\n            x += 4;', replace: 'x.min(zw - 4), zi);\n            x += 8;', what: "a row's last outputs after its blocks of 8 skipped when more than one vector of 4 remains", tests: ['conv2d', 'conv2d-direct'] },
  { id: 'conv-pooled-rows', family: 'conv (direct)', file: 'crate/src/conv/direct.rs', find: 'let best = row_max.max(row_max.swap_halves());', replace: 'let best = row_max;', what: "inference's pooling in registers forgets each window's bottom row", tests: ['conv-pool', 'conv2d-direct'] },
  { id: 'conv-filter-grad-flip', family: 'conv (filter gradient)', file: 'crate/src/conv/direct.rs', find: 'out[(FH - 1 - su) * FW + (FW - 1 - sv)] +=', replace: 'out[su * FW + sv] +=', what: 'filter gradient stored unflipped', tests: ['conv2d', 'conv2d-direct'] },
  { id: 'conv-filter-grad-tail', family: 'conv (filter gradient)', file: 'crate/src/conv/direct.rs', find: 'F32x4::mask_from_lane(4 - zw % 4)', replace: 'F32x4::mask_from_lane(0)', what: "a row's last, overlapping vector counts its repeated outputs twice", tests: ['conv2d', 'conv2d-direct'] },
  { id: 'conv-filter-grad-wide-last-taps', family: 'conv (filter gradient)', file: 'crate/src/conv/direct.rs', find: 'inputs_at(arow, last + sv)', replace: 'inputs_at(arow, last)', what: "the wide ∂C/∂z's last vector takes every tap from the unshifted inputs", tests: ['conv2d', 'conv-pool'] },
  { id: 'conv-wide-delta-columns', family: 'conv + max pool (fused backward)', file: 'crate/src/conv_pool.rs', find: 'row[c.zw()..].iter_mut().for_each(|x| *x = 0.0);', replace: '', what: "a first layer's wide ∂C/∂z keeps whatever dz held past column zw", tests: ['conv-pool'] },
  { id: 'pool-2x2-backward-stride', family: 'conv + max pool (fused backward)', file: 'crate/src/pool.rs', find: 'da[2 * oy * da_w..]', replace: 'da[2 * oy * w..]', what: "2×2 pooling's backward places each row pair at the input's row stride, not dz's", tests: ['conv-pool'] },
  { id: 'conv-pool-wide-overwrite', family: 'conv + max pool (fused backward)', file: 'crate/src/conv_pool.rs', find: 'conv::filter_gradient_wide(&c1, ai, dzi, df, accumulate || i > 0, sums)', replace: 'conv::filter_gradient_wide(&c1, ai, dzi, df, accumulate, sums)', what: 'without accumulate, every image of a first layer overwrites dF (only the last counts)', tests: ['conv-pool'] },
  { id: 'conv-pool-gate', family: 'conv + max pool (fused backward)', file: 'crate/src/pool.rs', find: '|d, o| d.where_positive(o)', replace: '|d, _| d', what: 'the ReLU folded into the pooling (windows other than the 2×2 tiling) passes gradient through windows that are not positive', tests: ['conv-pool'] },
  { id: 'pool-2x2-gate', family: 'conv + max pool (fused backward)', file: 'crate/src/pool.rs', find: 'if GATE { d.where_positive(best) } else { d }', replace: 'if GATE { d } else { d }', what: "2×2 pooling's ReLU gate (read with each delta) passes gradient through windows that are not positive", tests: ['conv-pool'] },
  { id: 'pool-2x2-gate-strict', family: 'conv + max pool (fused backward)', file: 'crate/src/pool.rs', find: 'if GATE && !(best > 0.0) { 0.0 } else { dl[ox] }', replace: 'dl[ox]', what: "the same in strict pooling's scalar loop", tests: ['conv-pool', 'pool-ties'] },
  { id: 'conv-pool-forward-relu', family: 'conv + max pool (fused forward)', file: 'crate/src/conv_pool.rs', find: 'conv::conv2d_forward_then(c, a, f, b, z, relu,', replace: 'conv::conv2d_forward_then(c, a, f, b, z, false,', what: 'the fused forward pass forgets the ReLU', tests: ['conv-pool'] },
  { id: 'pool-2x2-winners', family: 'max pool (2×2)', file: 'crate/src/pool.rs', find: 'dlo.where_equal(F32x4::load(a1.as_ptr().add(x)), blo)', replace: 'dlo.where_equal(F32x4::load(a0.as_ptr().add(x)), blo)', what: "the 2×2 backward's second row takes the first row's winners", tests: ['pool2d', 'conv-pool'] },
  // max pooling: the strict rule's tie division on each path
  { id: 'pool-2x2-forward-row-end', family: 'max pool (2×2)', file: 'crate/src/pool.rs', find: 'four(ow - 4, o)', replace: '()', what: "a row's last windows, past the last whole vector, are never written (2×2 forward)", tests: ['pool2d', 'conv-pool'] },
  { id: 'pool-2x2-backward-row-end', family: 'max pool (2×2)', file: 'crate/src/pool.rs', find: 'four(ow - 4, d0, d1)', replace: '()', what: "a row's last windows, past the last whole vector, pass no gradient (2×2 backward)", tests: ['pool2d', 'conv-pool'] },
  { id: 'pool-2x2-ties', family: 'max pool (2×2)', file: 'crate/src/pool.rs', find: 'd /= winners as f32;', nth: 0, replace: 'd /= (winners - 1) as f32;', what: 'strict ties divided by one winner too few (2×2 path)', tests: ['pool2d'] },
  { id: 'pool-windows-ties', family: 'max pool (any window)', file: 'crate/src/pool.rs', find: 'd /= winners as f32;', nth: 2, replace: 'd /= (winners - 1) as f32;', what: 'strict ties divided by one winner too few (overlapping windows)', tests: ['pool2d', 'pool-ties'] },
  { id: 'pool-tiles-ties', family: 'max pool (tiles)', file: 'crate/src/pool.rs', find: 'd /= winners as f32;', nth: 1, replace: 'd /= (winners - 1) as f32;', what: 'strict ties divided by one winner too few (tiles)', tests: ['pool2d', 'pool-ties'] },
  // cropping: inputs no window reaches get gradient 0 even in a reused buffer (fresh ones are zeroed)
  { id: 'pool-crop-one-dim', family: 'max/avg pool (cropping)', file: 'crate/src/pool.rs', find: '(self.h - self.ph) % self.sh != 0 || (self.w - self.pw) % self.sw != 0', replace: '(self.h - self.ph) % self.sh != 0 && (self.w - self.pw) % self.sw != 0', what: 'cropped rows and columns cleared only when both dimensions are cropped', tests: ['pool-cropping', 'pool2d', 'avgpool2d'] },
  // average pooling
  { id: 'avgpool-forward-area', family: 'avg pool', file: 'crate/src/avgpool.rs', find: 'out[oy * ow + ox] = sum / area;', replace: 'out[oy * ow + ox] = sum / (area + 1.0);', what: 'mean over one value too many', tests: ['avgpool2d'] },
  { id: 'avgpool-backward-area', family: 'avg pool', file: 'crate/src/avgpool.rs', find: 'let d = delta[oy * ow + ox] / area;', replace: 'let d = delta[oy * ow + ox];', what: 'backward forgets the 1/area', tests: ['avgpool2d'] },
  // batch norm
  { id: 'bn-running-var-biased', family: 'batch norm', file: 'crate/src/batchnorm.rs', find: 'm * (acc[b] / (nf - 1.0))', replace: 'm * (acc[b] / nf)', what: 'running variance biased (PyTorch keeps it unbiased)', tests: ['batchnorm-kernels', 'batchnorm'] },
  { id: 'bn-eps', family: 'batch norm', file: 'crate/src/batchnorm.rs', find: 'invstd[ch] = (1.0 / (var_b + eps).sqrt()) as f32;', replace: 'invstd[ch] = (1.0 / (var_b + 2.0 * eps).sqrt()) as f32;', what: 'eps counted twice in training mode', tests: ['batchnorm-kernels', 'batchnorm'] },
  // dropout
  { id: 'dropout-scale', family: 'dropout', file: 'crate/src/dropout.rs', find: '(1.0 / (1.0 - rate as f64)) as f32', replace: '(1.0 / (1.0 + rate as f64)) as f32', what: 'kept values scaled by 1/(1+p)', tests: ['dropout-kernels', 'dropout'] },
  { id: 'dropout-keep', family: 'dropout', file: 'crate/src/dropout.rs', find: '(draw(key, base + i as u64) as u64 >= t) as u8', replace: '(t > draw(key, base + i as u64) as u64) as u8', what: 'keeps what it should drop', tests: ['dropout-kernels', 'dropout'] },
  // losses
  { id: 'ce-loss-mean', family: 'loss', file: 'crate/src/loss.rs', find: '    loss * inv_n\n}', nth: 0, replace: '    loss\n}', what: 'cross-entropy summed, not averaged', tests: ['losses', 'loss-batch-mean'] },
  { id: 'softmax-ce-delta-mean', family: 'loss', file: 'crate/src/loss.rs', find: '        *o = (p - t) * inv_n;', replace: '        *o = p - t;', what: 'softmax + cross-entropy shortcut forgets 1/n', tests: ['losses', 'loss-batch-mean', 'network'] },
  { id: 'mse-grad-mean', family: 'loss', file: 'crate/src/loss.rs', find: '*o = ((p as f64 - t as f64) * inv_n) as f32;', replace: '*o = p - t;', what: 'mean squared error gradient summed, not averaged', tests: ['losses', 'loss-batch-mean'] },
  { id: 'count-correct-ties', family: 'loss', file: 'crate/src/loss.rs', find: 'if v > row[best] {', replace: 'if v >= row[best] {', what: 'argmax takes the last of tied maxima', tests: ['losses', 'network'] },
  // activations (scalar tails: lengths that are not multiples of 4)
  { id: 'relu-tail-leaky', family: 'activation', file: 'crate/src/activation.rs', find: '|x, _| if x > 0.0 { x } else { 0.0 }', replace: '|x, _| if x > 0.0 { x } else { 0.01 * x }', what: 'ReLU leaks in the scalar tail', tests: ['activations'] },
  // dense layer
  { id: 'column-sums-row', family: 'dense', file: 'crate/src/dense.rs', find: 's += m[r * cols + c] as f64;', replace: 'if r > 0 { s += m[r * cols + c] as f64; }', what: 'bias gradient skips the first sample', tests: ['dense'] },
  // optimizers
  { id: 'adam-tail-beta2', family: 'optimizer', file: 'crate/src/optim.rs', find: 'v[j] = beta2 * v[j] + (1.0 - beta2) * gj * gj;', replace: 'v[j] = beta2 * v[j] + (1.0 - beta2) * gj;', what: "Adam's second moment of g, not g², in the scalar tail", tests: ['optimizers'] },
  { id: 'adam-bias-correction', family: 'optimizer', file: 'crate/src/optim.rs', find: 'p[j] -= step * m[j] / (v[j].sqrt() * inv_sqrt_bc2 + eps);', replace: 'p[j] -= step * m[j] / (v[j].sqrt() + eps);', what: "Adam's second-moment bias correction missing (scalar tail)", tests: ['optimizers'] },
  // GEMM: edge tiles and prepacked panels
  { id: 'gemm-edge-accumulate', family: 'GEMM', file: 'crate/src/gemm.rs', find: 'row.iter_mut().zip(t).for_each(|(x, y)| *x += *y);', replace: 'row.iter_mut().zip(t).for_each(|(x, y)| *x = *y);', what: 'edge tiles overwrite C instead of adding (depths past the first block, accumulate)', tests: ['gemm', 'dense'] },
  { id: 'gemm-whole-tile-accumulate', family: 'GEMM', file: 'crate/src/gemm.rs', find: 'pair[0].add(F32x4::load(p)).store(p);', replace: 'pair[0].store(p);', what: "a whole tile's first four columns overwrite C instead of adding to it (accumulate, or depths past the first block)", tests: ['gemm', 'dense'] },
  { id: 'gemm-whole-tile-rows', family: 'GEMM', file: 'crate/src/gemm.rs', find: 'base.add((ir + r) * ldc + jr)', replace: 'base.add((ir + r) * (ldc - ldc % NR) + jr)', what: "a whole tile's rows placed at a row stride rounded down to whole panels (C's row stride taken as n)", tests: ['gemm', 'dense'] },
  { id: 'gemm-prepacked-offset', family: 'GEMM', file: 'crate/src/gemm.rs', find: 'jc * k + pc * panel_cols(NC.min(n - jc))', replace: 'jc * k + pc * NC', what: "a prepacked B's depth blocks found at a full block's stride", tests: ['gemm', 'network'] },
  { id: 'gemm-short-panel-rows', family: 'GEMM', file: 'crate/src/gemm.rs', find: 'let at = (ic + ir + if r < height { r } else { 0 }) * a.row_stride + pc;', replace: 'let at = (ic + ir + if r < height { r } else { 0 }) * a.row_stride + pc + (r / 3);', what: "an in-place A's fourth row read one depth late", tests: ['gemm', 'dense'] },
  // memory and the gradient tree
  { id: 'gemm-pack-b-high-half', family: 'GEMM', file: 'crate/src/gemm.rs', find: 'F32x4::load(from.add(LANES))', replace: 'F32x4::load(from.add(LANES - 1))', what: "a row-major B's packed panels take their last four columns one column early", tests: ['gemm', 'dense'] },
  { id: 'gemm-columns-rows', family: 'GEMM', file: 'crate/src/gemm.rs', find: '*at.add(p * csa + [0, r1, r2, r3][r])', nth: 1, replace: '*at.add(p * csa + [0, r1, r3, r2][r])', what: "a transposed A read in place takes its third and fourth rows swapped", tests: ['gemm', 'dense'] },
  { id: 'gather-rows-order', family: 'memory', file: 'crate/src/mem.rs', find: 'dst[r * row_len..(r + 1) * row_len].copy_from_slice(&src[i * row_len..(i + 1) * row_len]);', replace: 'dst[r * row_len..(r + 1) * row_len].copy_from_slice(&src[r * row_len..(r + 1) * row_len]);', what: 'batches gathered in storage order, ignoring the shuffle', tests: ['network', 'parallel'] },
  { id: 'all-finite-one-sum', family: 'memory', file: 'crate/src/mem.rs', find: 'acc[0].add(acc[1]).add(acc[2].add(acc[3]))', replace: 'acc[0].add(acc[1]).add(acc[2])', what: 'the finiteness check ignores every fourth vector (its fourth sum)', tests: ['train-faults', 'checks'] },
  { id: 'tree-add-tail', family: 'memory', file: 'crate/src/mem.rs', find: 'let r = *x.add(j) + *y.add(j);', replace: 'let r = *y.add(j);', what: "the gradient tree's add drops the left node in the scalar tail", tests: ['parallel', 'network'] },
  { id: 'tree-add-finite-pair', family: 'memory', file: 'crate/src/mem.rs', find: 'acc0.add(acc1).sum_lanes()', replace: 'acc0.sum_lanes()', what: "the tree's add vouches for a batch's gradient without looking at every second vector of it", tests: ['errors', 'shards'] },
  { id: 'adam-finite', family: 'optimizers', file: 'crate/src/optim.rs', find: 'unfinite = unfinite.add(pi.mul(zero));', replace: '', what: 'Adam vouches for new parameters it did not look at (an overflowing update kept)', tests: ['errors', 'optimizers'] },
  { id: 'gemm-unpack-panel', family: 'GEMM', file: 'crate/src/gemm.rs', find: 'packed[block + ((j / NR) * kc + p) * NR + j % NR]', replace: 'packed[block + ((j / NR) * kc + p) * NR + (j + 1) % NR]', what: "an undone update puts a dense layer's weights back from the wrong columns of its packed copy", tests: ['errors', 'gemm'] },
];

const selected = opts.only ? MUTANTS.filter((m) => opts.only.split(',').includes(m.id)) : MUTANTS;
if (selected.length === 0) throw new Error(`--only matches no mutant; known: ${MUTANTS.map((m) => m.id).join(', ')}`);

const log = (s) => process.stderr.write(`${s}\n`);
const scratch = mkdtempSync(join(tmpdir(), 'wasmnet-mutate-'));
const tree = join(scratch, 'tree');
execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', tree, 'HEAD'], { stdio: 'ignore' });
const results = [];
try {
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  log(`scratch worktree ${tree}: building…`);
  execFileSync('bash', ['scripts/build.sh'], { cwd: tree, stdio: 'ignore' });
  const run = (cmd, args) => spawnSync(cmd, args, { cwd: tree, encoding: 'utf8', env: { ...process.env, RUSTC: '/usr/bin/rustc' } }).status === 0;
  // Every test command must pass unmutated, or a "kill" means nothing.
  const files = [...new Set(selected.flatMap((m) => m.tests))];
  for (const f of files) if (!existsSync(join(tree, 'test', `${f}.test.ts`))) throw new Error(`no test/${f}.test.ts`);
  if (!run('npx', ['vitest', 'run', ...files.map((f) => `test/${f}.test.ts`)])) throw new Error(`the unmutated tests fail: ${files.join(', ')}`);
  for (const m of selected) {
    const path = join(tree, m.file);
    const original = readFileSync(path, 'utf8');
    const parts = original.split(m.find);
    const nth = m.nth ?? 0;
    if (parts.length - 1 <= nth) {
      results.push({ ...m, result: 'stale: the code it mutates is gone' });
      continue;
    }
    const mutated = parts.slice(0, nth + 1).join(m.find) + m.replace + parts.slice(nth + 1).join(m.find);
    const started = Date.now();
    writeFileSync(path, mutated);
    let result = 'SURVIVED';
    try {
      if (!run('bash', ['scripts/build-wasm.sh'])) result = 'killed by the build';
      else if (!run('/usr/bin/cargo', ['test', '--quiet', '--release', '-p', 'wasmnet-kernels'])) result = 'killed by cargo test';
      else {
        for (const f of m.tests) {
          if (!run('npx', ['vitest', 'run', `test/${f}.test.ts`])) {
            result = `killed by test/${f}.test.ts`;
            break;
          }
        }
      }
    } finally {
      writeFileSync(path, original);
    }
    results.push({ ...m, result, seconds: Math.round((Date.now() - started) / 1000) });
    log(`${m.id}: ${result}`);
  }
} finally {
  execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', tree], { stdio: 'ignore' });
  rmSync(scratch, { recursive: true, force: true });
}

const killed = results.filter((r) => r.result.startsWith('killed')).length;
const lines = [`kernel mutants: ${killed} of ${results.length} killed (${new Date().toISOString().slice(0, 10)})`, '', '| mutant | family | the mistake | result |', '| --- | --- | --- | --- |'];
for (const r of results) lines.push(`| \`${r.id}\` | ${r.family} | ${r.what} | ${r.result} |`);
process.stdout.write(`${lines.join('\n')}\n`);
if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 2));
process.exit(results.every((r) => r.result.startsWith('killed')) ? 0 : 1);
