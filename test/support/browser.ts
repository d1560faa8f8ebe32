/**
 * A real browser for the dashboard's tests: Debian's chromium (`apt-get install chromium`; .ci/run installs
 * it), driven by playwright-core. Never a browser download: nothing outside this machine is reached.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.RADAR_CHROMIUM ?? '/usr/bin/chromium';

/** Where tests leave screenshots (ignored by git). */
export const ARTIFACTS = new URL('../../.artifacts/', import.meta.url);

/** Chromium, headless, closed after the test; or why there is none (for skipOrFail). */
export async function launchChromium(t: TestContext): Promise<Browser | string> {
  if (!existsSync(CHROMIUM))
    return `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`;
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  t.after(() => browser.close());
  return browser;
}

/** What a page did that a test checks afterwards: errors (CSP refusals included) and every request. */
export function watch(page: Page): { errors: string[]; requests: string[] } {
  const seen = { errors: [] as string[], requests: [] as string[] };
  page.on('console', (message) => {
    if (message.type() === 'error') seen.errors.push(message.text());
  });
  page.on('pageerror', (error) => seen.errors.push(error.message));
  page.on('request', (request) => seen.requests.push(request.url()));
  return seen;
}

/** Saves a screenshot under .artifacts/; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = new URL(name, ARTIFACTS).pathname;
  await page.screenshot({ path, fullPage: true });
  return path;
}
