/**
 * Reading the docs/ pages for their tests: the runnable checks (a ```js block
 * that imports from 'wasmnet', followed by the ```text block of what it
 * prints) and the names a page mentions in backticks outside code blocks.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DOCS = join(ROOT, 'docs');

export interface Snippet {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** The ```text block after it: what it prints. */
  expected: string | null;
}

/** The Markdown pages of docs/ (not the generated API reference). */
export function docPages(): { name: string; text: string }[] {
  return readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(DOCS, name), 'utf8') }));
}

interface Fence {
  lang: string;
  body: string;
  line: number;
}

function fences(text: string): Fence[] {
  const out: Fence[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    out.push({ lang: open[1], body: body.join('\n'), line: start + 1 });
  }
  return out;
}

/** Every runnable check of a page, with the output the page shows for it. */
export function snippets(page: { name: string; text: string }): Snippet[] {
  const fs = fences(page.text);
  const out: Snippet[] = [];
  fs.forEach((f, i) => {
    if (f.lang !== 'js' || !/from 'wasmnet'/.test(f.body)) return;
    const next = fs[i + 1];
    out.push({ page: page.name, line: f.line, code: f.body, expected: next && next.lang === 'text' ? next.body : null });
  });
  return out;
}

/** The page's text with fenced code blocks and $…$ math removed: the prose whose backticked names are checked. */
export function prose(text: string): string {
  return text
    .replace(/^```[\s\S]*?^```\s*$/gm, '')
    .replace(/\$\$[\s\S]*?\$\$/g, '')
    .replace(/\$[^$\n]+\$/g, '');
}

/** The contents of every `inline code` span of the prose. */
export function backticked(text: string): string[] {
  return [...prose(text).matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
}
