/**
 * The backtest report in a real browser (Debian's chromium, as the dashboard's page test): opened from a
 * file, offline, it draws its charts with the inlined uPlot, lists every setting, asks for nothing over
 * the network, and shows an actor whose name is markup as text. Under CI=true a missing chromium fails
 * the test (skipOrFail), elsewhere it skips.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { renderReport } from '../../src/backtest/report.js';
import { launchChromium, screenshot, watch } from '../support/browser.js';
import { skipOrFail } from '../support/stack.js';
import { XSS_ACTOR, xssBacktest } from './support.js';

test('the backtest report opens offline and draws its charts and tables', async (t) => {
  const browser = await launchChromium(t);
  if (typeof browser === 'string') return skipOrFail(t, browser);
  const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { keys, result } = xssBacktest();
  const file = join(dir, 'report.html');
  writeFileSync(file, renderReport(result, { inputs: ['burst.ndjson'], generatedAt: new Date(), keys }));

  // Offline: the context refuses every request, so anything the page needed from elsewhere would fail.
  const context = await browser.newContext({ offline: true });
  const page = await context.newPage();
  const seen = watch(page);
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('#daily-chart canvas');

  // One row per setting (2 × 3 and the configured one among them), the configured one marked.
  const rows = page.locator('#settings tbody tr');
  assert.equal(await rows.count(), 6);
  assert.deepEqual(await page.locator('#settings tbody tr.default td:first-child').allTextContents(), ['4*']);
  assert.deepEqual(await page.locator('#settings tbody td:nth-child(2)').allTextContents(), [
    '5',
    '5',
    '20',
    '20',
    '40',
    '40',
  ]);

  // The charts: alerts per day, the peak distribution of the one rule that alerted, the top names.
  assert.equal(await page.locator('#daily-chart canvas').count(), 1);
  assert.equal(await page.locator('.peak-chart[data-rule="non_owner_burst"] canvas').count(), 1);
  assert.equal(await page.locator('.top-chart[data-what="actor"] canvas').count(), 1);
  assert.equal(await page.locator('.top-chart[data-what="mailbox"] canvas').count(), 1);
  assert.equal(await page.locator('.uplot').count(), 4, 'per day, peaks, top actors, top mailboxes');
  const legend = await page.locator('#daily-chart .u-legend .u-label').allTextContents();
  assert.ok(legend.includes('#4* nonOwnerBurst.threshold=20 mailboxSweep.window=10m'), legend.join(' | '));

  // The markup actor is text in the top actors' table, and ran nowhere.
  const actors = await page.locator('table.top[data-what="actor"] td.name').allTextContents();
  assert.deepEqual(actors, [XSS_ACTOR]);
  assert.deepEqual(
    await page.locator('table.top[data-what="actor"] tbody td.num').allTextContents(),
    ['1', '1', '1', '1', '1', '0', '0'],
    'its rank, then its alerts under the 6 settings (threshold 40 misses it)',
  );
  assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
  assert.equal(await page.locator('main script').count(), 0);

  assert.deepEqual(seen.errors, []);
  assert.deepEqual(
    seen.requests.filter((url) => !url.startsWith('file:')),
    [],
    'no request beyond the file',
  );
  await screenshot(page, 'backtest-report.png');
});
