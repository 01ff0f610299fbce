// The playground's layout in Chromium: on a laptop screen the guess and its probabilities sit beside
// the drawing pad, above the fold; on a phone below it; the chart is drawn at the device pixel ratio
// with an axis per quantity; MNIST's download shows its progress. Screenshots: artifacts/playground-*.png.
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { buildSite, serve } from '../scripts/playground.mjs';
import { ensureDir, launchChromium, repo } from './helpers/consumer.js';

const artifacts = ensureDir(join(repo, 'artifacts'));
let server: Server;
let url: string;
let browser: Browser;

type Box = { x: number; y: number; width: number; height: number };
type PlaygroundState = { state: { done: boolean; padProbabilities: number[] | null }; ready: Promise<void>; train(o: object): Promise<unknown> };

beforeAll(async () => {
  ({ server, url } = await serve(buildSite(), 0));
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

/** Opens the playground, recording every status line shown while it starts. */
async function open(viewport: { width: number; height: number }, deviceScaleFactor: number, mobile = false): Promise<Page> {
  const page = await browser.newPage({ viewport, deviceScaleFactor, isMobile: mobile, hasTouch: mobile });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as never as { statuses: string[] }).statuses = seen;
    new MutationObserver(() => {
      const s = document.getElementById('status')?.textContent;
      if (s && seen[seen.length - 1] !== s) seen.push(s);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await page.goto(`${url}?n=1000&epochs=2&batch=50&seed=7`);
  await page.evaluate(() => (window as never as { playground: PlaygroundState }).playground.ready);
  return page;
}

/** Trains (1,000 digits, 2 epochs) so the chart has curves, then draws a "7" on the pad. */
async function trainAndDraw(page: Page): Promise<void> {
  await page.click('#train-button');
  await page.waitForFunction(() => (window as never as { playground: PlaygroundState }).playground.state.done, null, { timeout: 60_000 });
  await page.locator('#pad').scrollIntoViewIfNeeded(); // below the training controls on a phone
  const pad = (await page.locator('#pad').boundingBox())!;
  const at = (fx: number, fy: number) => [pad.x + pad.width * fx, pad.y + pad.height * fy] as const;
  await page.mouse.move(...at(0.25, 0.22));
  await page.mouse.down();
  for (const [fx, fy] of [[0.5, 0.22], [0.75, 0.22], [0.65, 0.45], [0.55, 0.65], [0.48, 0.85]]) await page.mouse.move(...at(fx, fy), { steps: 6 });
  await page.mouse.up();
  await page.waitForFunction(() => (window as never as { playground: PlaygroundState }).playground.state.padProbabilities !== null);
}

const box = async (page: Page, selector: string): Promise<Box> => (await page.locator(selector).boundingBox())!;

describe('the playground layout', () => {
  it('on a laptop screen (1366×768): pad, guess and probabilities side by side, all above the fold; loading shows progress', async () => {
    const page = await open({ width: 1366, height: 768 }, 1);
    const statuses = await page.evaluate(() => (window as never as { statuses: string[] }).statuses);
    expect(statuses.some((s) => /^Loading MNIST… [\d.]+ of [\d.]+ MB$/.test(s)), statuses.join(' | ')).toBe(true);
    await trainAndDraw(page);
    const [pad, guess, bars, chart] = await Promise.all(['#pad', '#guess', '#bars', '#chart'].map((s) => box(page, s)));
    expect(guess.x).toBeGreaterThanOrEqual(pad.x + pad.width);
    expect(bars.x).toBeGreaterThanOrEqual(pad.x + pad.width);
    for (const b of [pad, guess, bars, chart]) expect(b.y + b.height).toBeLessThanOrEqual(768);
    expect(await page.locator('#guess .digit-guess').textContent()).toMatch(/^\d$/);
    expect(await page.locator('#legend-acc').textContent()).toMatch(/^[\d.]+ %$/);
    await page.screenshot({ path: join(artifacts, 'playground-desktop.png') });
    await page.close();
  }, 90_000);

  it('on a phone (390×844, 3× pixels): the guess below the pad, nothing wider than the screen, the chart sharp', async () => {
    const page = await open({ width: 390, height: 844 }, 3, true);
    await trainAndDraw(page);
    const [pad, guess, bars] = await Promise.all(['#pad', '#guess', '#bars'].map((s) => box(page, s)));
    expect(guess.y).toBeGreaterThanOrEqual(pad.y + pad.height);
    expect(bars.y).toBeGreaterThanOrEqual(pad.y + pad.height);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    // The canvas's pixels are the device's: its CSS size times devicePixelRatio.
    const chart = await page.evaluate(() => {
      const c = document.getElementById('chart') as HTMLCanvasElement;
      return { width: c.width, height: c.height, cssWidth: c.clientWidth, cssHeight: c.clientHeight, dpr: devicePixelRatio };
    });
    expect(chart.dpr).toBe(3);
    expect(chart.width).toBe(Math.round(chart.cssWidth * 3));
    expect(chart.height).toBe(Math.round(chart.cssHeight * 3));
    // Every card's content stays inside its card (the file input used to stick out).
    const sticking = await page.evaluate(() =>
      Array.from(document.querySelectorAll('.card')).flatMap((card) => {
        const right = card.getBoundingClientRect().right;
        return Array.from(card.querySelectorAll('*')).filter((e) => e.getBoundingClientRect().right > right + 0.5).map((e) => e.id || e.tagName);
      }),
    );
    expect(sticking).toEqual([]);
    await page.screenshot({ path: join(artifacts, 'playground-phone.png'), fullPage: true });
    await page.locator('#train-panel').screenshot({ path: join(artifacts, 'playground-phone-chart.png') });
    await page.close();
  }, 90_000);
});
