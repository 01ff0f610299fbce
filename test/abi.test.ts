// The kernel ABI cannot drift silently: the functions dist/wasmnet.wasm exports (crate/src/lib.rs) and the
// `KernelExports` interface in ts/core/wasm.ts must name the same kernels with the same parameter counts.
// Both sides are read, nothing is listed here, so adding or changing a kernel needs no edit to this test.
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const WASM = new URL('../dist/wasmnet.wasm', import.meta.url);
const TYPES = new URL('../ts/core/wasm.ts', import.meta.url);

/** Exported functions → their wasm parameter counts (a wasm function's `.length`); other exports → null. */
async function wasmExports(): Promise<Map<string, number | null>> {
  const module = await WebAssembly.compile(readFileSync(WASM));
  const instance = await WebAssembly.instantiate(module, {});
  return new Map(Object.entries(instance.exports).map(([name, value]) => [name, typeof value === 'function' ? value.length : null]));
}

/** `KernelExports`' members → parameter counts for functions, null for other members (memory). */
function typedExports(): Map<string, number | null> {
  const source = ts.createSourceFile('wasm.ts', readFileSync(TYPES, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'KernelExports');
  if (!found) throw new Error('ts/core/wasm.ts declares no interface KernelExports');
  const members = new Map<string, number | null>();
  for (const member of found.members) {
    const name = member.name && ts.isIdentifier(member.name) ? member.name.text : member.name?.getText(source);
    if (!name) throw new Error(`KernelExports has a member without a name: ${member.getText(source)}`);
    if (ts.isMethodSignature(member)) members.set(name, member.parameters.length);
    else if (ts.isPropertySignature(member) && member.type && ts.isFunctionTypeNode(member.type)) members.set(name, member.type.parameters.length);
    else members.set(name, null);
  }
  return members;
}

describe('kernel ABI', () => {
  it('dist/wasmnet.wasm exports exactly the functions KernelExports types, with the same parameter counts', async () => {
    const wasm = await wasmExports();
    const typed = typedExports();
    expect([...typed.values()].filter((n) => n !== null).length, 'no kernels found in KernelExports').toBeGreaterThan(0);
    const problems: string[] = [];
    for (const [name, count] of wasm) {
      if (count === null) continue; // globals such as __heap_base are not part of the binding
      const declared = typed.get(name);
      if (declared === undefined) problems.push(`${name}: exported by the wasm (${count} parameters) but missing from KernelExports`);
      else if (declared === null) problems.push(`${name}: a function in the wasm (${count} parameters) but not a function in KernelExports`);
      else if (declared !== count) problems.push(`${name}: the wasm takes ${count} parameters, KernelExports declares ${declared}`);
    }
    for (const [name, declared] of typed) {
      if (!wasm.has(name)) problems.push(`${name}: in KernelExports${declared === null ? '' : ` (${declared} parameters)`} but not exported by the wasm`);
      else if (declared === null && wasm.get(name) !== null) problems.push(`${name}: a function in the wasm but not typed as one in KernelExports`);
    }
    expect(problems, `the kernel ABI drifted:\n${problems.join('\n')}`).toEqual([]);
  });
});
