/**
 * The runnable checks at the end of every docs/ page: each runs in a fresh
 * Node process against the built package (a module inside this package
 * imports 'wasmnet' as itself, exactly as a student's project imports it),
 * must exit cleanly and print what its page shows, and every suite row it
 * names must give the same error in the gradient-check suite.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GradcheckRow, gradientCheckSuite } from 'wasmnet';
import { ROOT, docPages, snippets } from './helpers/doc-pages.js';

const run = promisify(execFile);
const SCRATCH = join(ROOT, '.cache', 'docs-snippets');

/** Floats as the checks print them (toExponential), e.g. 1.42e-4 or 3e-8. */
const FLOAT = /-?\d+(?:\.\d+)?e[+-]\d+/g;

/**
 * Whether `actual` is what the page shows: the same lines and words, and
 * the same floats to within a factor 3 — a change of kernel summation order
 * moves rounding errors a little; a broken formula moves them to ~1.
 */
function matchesPage(actual: string, expected: string): string | null {
  const a = actual.trimEnd().split('\n').map((l) => l.trimEnd());
  const e = expected.trimEnd().split('\n').map((l) => l.trimEnd());
  if (a.length !== e.length) return `prints ${a.length} lines, the page shows ${e.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i].replace(FLOAT, '#') !== e[i].replace(FLOAT, '#')) return `line ${i + 1}: prints "${a[i]}", the page shows "${e[i]}"`;
    const [fa, fe] = [a[i].match(FLOAT) ?? [], e[i].match(FLOAT) ?? []].map((m) => m.map(Number));
    for (let j = 0; j < fa.length; j++) {
      const close = fa[j] === fe[j] || (fa[j] !== 0 && fe[j] !== 0 && Math.abs(Math.log10(Math.abs(fa[j] / fe[j]))) < Math.log10(3));
      if (!close) return `line ${i + 1}: prints ${fa[j]}, the page shows ${fe[j]}`;
    }
  }
  return null;
}

let suite: GradcheckRow[];
beforeAll(() => {
  suite = gradientCheckSuite();
  mkdirSync(SCRATCH, { recursive: true });
});

describe('the checks at the end of every docs/ page', () => {
  const pages = docPages();
  it('every concept page has one', () => {
    const without = pages.filter((p) => p.name !== 'README.md' && snippets(p).length === 0).map((p) => p.name);
    expect(without).toEqual([]);
  });

  for (const page of pages) {
    for (const s of snippets(page)) {
      it(`docs/${s.page}, the check at line ${s.line}, runs and prints what the page shows`, async () => {
        expect(s.expected, `a \`\`\`text block of its output must follow the check`).not.toBeNull();
        const file = join(SCRATCH, `${s.page.replace(/\.md$/, '')}-${s.line}.mjs`);
        writeFileSync(file, s.code + '\n');
        const { stdout, stderr } = await run(process.execPath, [file], { cwd: ROOT, timeout: 60_000 });
        expect(stderr).toBe('');
        expect(stdout).not.toMatch(/FAIL/);
        expect(matchesPage(stdout, s.expected!)).toBeNull();
        // A check that rebuilds a suite row prints that row's error.
        for (const [, group, what] of s.code.matchAll(/\/\/ suite row: (\S+) · (.+)$/gm)) {
          const row = suite.find((r) => r.group === group && r.what === what.trim());
          expect(row, `suite row ${group} · ${what}`).toBeDefined();
          expect(row!.pass).toBe(true);
          expect(stdout).toContain(row!.maxError.toExponential(2));
        }
      });
    }
  }
});
