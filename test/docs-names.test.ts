/**
 * docs/ pages name files, Rust functions, kernels and API symbols in
 * backticks; this fails when one of them no longer exists, so a rename
 * elsewhere cannot leave a page pointing at nothing. What is checked, by the
 * form of the backticked text:
 *   crate/… ts/… test/… scripts/… docs/…   a path that exists
 *   fn name                                  a Rust function in crate/src
 *   wn_name                                  a kernel exported by crate/src/lib.rs and typed in ts/core/wasm.ts
 *   snake_case                               a Rust identifier in crate/src
 *   Name, name, name(…)                      an export of the package or of a float64 reference in test/reference/,
 *                                            or a member of an exported class or interface
 *   Name.member                              a member (or static) of that export
 * and every relative Markdown link to a file.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as wasmnet from 'wasmnet';
import { DOCS, ROOT, backticked, docPages, prose } from './helpers/doc-pages.js';

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

const rust = filesUnder(join(ROOT, 'crate', 'src'), '.rs').map((f) => readFileSync(f, 'utf8')).join('\n');
const libRs = readFileSync(join(ROOT, 'crate', 'src', 'lib.rs'), 'utf8');
const wasmTs = readFileSync(join(ROOT, 'ts', 'core', 'wasm.ts'), 'utf8');
/** What the float64 references export (`conv2dBackward`, `poolWindows`, …). */
const referenceExports = new Set(
  filesUnder(join(ROOT, 'test', 'reference'), '.ts').flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/^export (?:function|const|interface|type) (\w+)/gm)].map((m) => m[1])),
);

/** Declarations of the built package's types: each class or interface, its members and what it extends. */
interface Declaration {
  members: Set<string>;
  bases: string[];
}
const declarations = new Map<string, Declaration>();
const typeExports = new Set<string>();
for (const file of readdirSync(join(ROOT, 'dist')).filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(join(ROOT, 'dist', file), 'utf8');
  for (const m of text.matchAll(/^(?:declare )?(?:abstract )?(?:class|interface) (\w+)(?:<[^{]*?>)?(?: extends ([^{]+?))?(?: implements [^{]+?)? \{\n([\s\S]*?)^\}/gm)) {
    const members = new Set<string>();
    for (const line of m[3].split('\n')) {
      const member = /^ {4}(?:(?:readonly|static|abstract|private|protected|public|get|set)\s+)*([A-Za-z_$][\w$]*)\??\s*[(:<;]/.exec(line);
      if (member) members.add(member[1]);
    }
    const bases = (m[2] ?? '').split(',').map((b) => b.trim().replace(/<.*$/, '')).filter(Boolean);
    declarations.set(m[1], { members, bases });
  }
  if (file === 'index.d.ts') {
    for (const list of text.matchAll(/^export \{([^}]*)\}/gm)) {
      for (const item of list[1].split(',')) {
        const name = item.trim().replace(/^type /, '').split(/\s+as\s+/).pop()!;
        if (name) typeExports.add(name);
      }
    }
  }
}
const exported = (name: string) => name in wasmnet || typeExports.has(name);
const allMembers = new Set([
  ...[...declarations.values()].flatMap((d) => [...d.members]),
  // Members made at run time (the registry's `add<Kind>` adders on SequentialNet's prototype).
  ...Object.values(wasmnet).flatMap((v) => (typeof v === 'function' && v.prototype ? Object.getOwnPropertyNames(v.prototype) : [])),
]);

function hasMember(name: string, member: string, seen = new Set<string>()): boolean {
  const runtime = (wasmnet as Record<string, unknown>)[name];
  if (typeof runtime === 'function' && member in runtime) return true; // statics
  if (typeof runtime === 'function' && runtime.prototype && member in runtime.prototype) return true;
  const d = declarations.get(name);
  if (!d || seen.has(name)) return false;
  seen.add(name);
  return d.members.has(member) || d.bases.some((b) => hasMember(b, member, seen));
}

/** Why the backticked `token` names nothing, or null when it exists (or is not a name this test checks). */
function missing(token: string): string | null {
  let m: RegExpExecArray | null;
  // docs/api/ is generated (npm run docs), so it is only there after a build of the reference.
  if (/^docs\/api(\/|$)/.test(token)) return null;
  if (/^(crate|ts|test|scripts|docs|playground)\/[\w./-]*$/.test(token)) return existsSync(join(ROOT, token)) ? null : 'no such file';
  if ((m = /^fn (\w+)$/.exec(token))) return new RegExp(`\\bfn ${m[1]}\\b`).test(rust) ? null : 'no such Rust function in crate/src';
  if (/^wn_\w+$/.test(token)) {
    if (!new RegExp(`extern "C" fn ${token}\\(`).test(libRs)) return 'not exported by crate/src/lib.rs';
    return new RegExp(`\\b${token}\\(`).test(wasmTs) ? null : 'not typed in KernelExports (ts/core/wasm.ts)';
  }
  if (/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(token)) return new RegExp(`\\b${token}\\b`).test(rust) ? null : 'no such Rust identifier in crate/src';
  if ((m = /^([A-Z]\w*)\.(\w+)$/.exec(token))) {
    if (!exported(m[1])) return `${m[1]} is not exported by wasmnet`;
    return hasMember(m[1], m[2]) ? null : `${m[1]} has no member ${m[2]}`;
  }
  if ((m = /^([A-Za-z_$][\w$]*)(\(.*\))?$/.exec(token))) {
    const name = m[1];
    if (exported(name) || referenceExports.has(name) || allMembers.has(name) || (!m[2] && /^[A-Z]/.test(name) && name in globalThis)) return null;
    return 'neither an export of wasmnet or test/reference/ nor a member of an exported class or interface';
  }
  return null;
}

describe('names in the docs/ pages', () => {
  for (const page of docPages()) {
    it(`docs/${page.name} names only files and symbols that exist`, () => {
      const problems = [...new Set(backticked(page.text))].map((t) => [t, missing(t)]).filter(([, why]) => why);
      expect(problems.map(([t, why]) => `\`${t}\`: ${why}`)).toEqual([]);
    });

    it(`docs/${page.name} links only to files that exist`, () => {
      const links = [...prose(page.text).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((l) => l[1]).filter((l) => !/^[a-z]+:/.test(l));
      expect(links.filter((l) => !existsSync(join(DOCS, l)))).toEqual([]);
    });
  }

  it('the checker itself catches a renamed file, kernel, Rust function, export and member', () => {
    expect(missing('crate/src/conv/mod.rs')).toBeNull();
    expect(missing('crate/src/conv/nope.rs')).not.toBeNull();
    expect(missing('wn_conv2d_forward')).toBeNull();
    expect(missing('wn_conv2d_forwards')).not.toBeNull();
    expect(missing('fn filter_gradient_taps')).toBeNull();
    expect(missing('fn filter_gradient_tap')).not.toBeNull();
    expect(missing('Conv2DLayer')).toBeNull();
    expect(missing('Conv3DLayer')).not.toBeNull();
    expect(missing('Conv2DLayer.df')).toBeNull();
    expect(missing('Conv2DLayer.backprop')).toBeNull();
    expect(missing('Conv2DLayer.gradcheckCases')).toBeNull();
    expect(missing('Conv2DLayer.dw')).not.toBeNull();
    expect(missing('gradientCheck')).toBeNull();
    expect(missing('gradientCheckz')).not.toBeNull();
    expect(missing('backprop(delta)')).toBeNull();
  });
});
