/**
 * Headless Chromium for the UI tests, set up one way: where it is (CHROMIUM_PATH, default
 * /usr/bin/chromium; the tests skip without it), the flags that keep it quiet on a shared CI box
 * (no GPU, sandbox, QUIC or background traffic), the page errors each test asserts are none, and
 * the wait for what the page shows.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { poller } from './wait-for.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Records the page's uncaught errors and console errors in `into` (a test ends with `expect(into).toEqual([])`). */
export function collectPageErrors(page: Page, into: string[]): void {
  page.on('pageerror', (e) => into.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') into.push(m.text());
  });
}

// Generous: the page repaints on live events, which lag on a loaded machine.
const waitFor = poller({ timeoutMs: 45_000, intervalMs: 50 });

/** Waits until `fn` holds (what the page or the store shows). */
export async function until(fn: () => Promise<boolean>, what: string, ms?: number): Promise<void> {
  await waitFor(what, fn, ms);
}
