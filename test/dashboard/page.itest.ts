/**
 * The dashboard's page in a real browser (Debian's chromium), served by the real server from the real
 * state, fed here without Kafka (test/dashboard/dashboard.itest.ts runs the whole thing against the broker):
 * what the page makes of alerts of every shape — lifecycle revisions and a policy, which the alert schema
 * gains in later versions — its filters, its detail view, its escaping, its charts and what it asks for.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { createMetrics } from '../../src/app/metrics.js';
import type { BoardAlert } from '../../src/dashboard/alert-board.js';
import { loadAssets } from '../../src/dashboard/assets.js';
import { DashboardState } from '../../src/dashboard/dashboard-state.js';
import { parsePrometheusText } from '../../src/dashboard/prom-text.js';
import { DashboardServer } from '../../src/dashboard/server.js';
import { launchChromium, screenshot, watch } from '../support/browser.js';
import { skipOrFail } from '../support/stack.js';
import { sampleAlert } from './support.js';

const minute = (n: number) => Date.UTC(2026, 10, 25, 9, n);

/** The real state and server, on a free loopback port. */
async function serve(t: TestContext, auth?: { username: string; password: string }) {
  const state = new DashboardState(
    { maxAlerts: 100, historyMs: 6 * 3_600_000, metrics: 1, activityTopic: 'o365.activity' },
    (e, d) => server.broadcast(e, d),
  );
  const server = new DashboardServer({
    host: '127.0.0.1',
    port: 0,
    auth,
    assets: loadAssets(),
    snapshot: () => state.snapshot(),
  });
  const url = await server.listen();
  t.after(() => server.close());
  return { state, url };
}

const XSS_NAME = '<script>window.__pwned = 1</script>';
const XSS_IMG = '<img src=x onerror="window.__pwned = 2">';

/** Alerts of four rules; a lifecycle of three revisions with a policy; names that are markup. */
function alerts(): BoardAlert[] {
  return [
    sampleAlert({ alert_id: 'burst-1', detected_at: minute(1), sample_record_ids: ['rec-a', 'rec-b'] }),
    sampleAlert({
      alert_id: 'xdomain-1',
      rule: 'cross_domain_burst',
      severity: 'high',
      actor_user_id: 'eve@fabrikam.com',
      actor_display_name: XSS_NAME,
      detected_at: minute(2),
    }),
    sampleAlert({
      alert_id: 'sweep-1',
      rule: 'mailbox_sweep',
      severity: 'critical',
      actor_user_id: 'trudy@contoso.com',
      actor_display_name: XSS_IMG,
      mailbox_guid: null,
      mailbox_owner_upn: null,
      distinct_mailbox_count: 12,
      threshold: 10,
      event_count: 30,
      mailboxes: ['ceo@contoso.com', 'cfo@contoso.com'],
      detected_at: minute(3),
    }),
    // A lifecycle: open, update, closed (the closed revision arrives before the update).
    revision('open', 0, 6, 'high'),
    revision('closed', 2, 57, 'critical'),
    revision('update', 1, 12, 'high'),
  ];
}

/** One revision of an app sweep's lifecycle, decided by a policy. */
function revision(
  status: 'open' | 'update' | 'closed',
  revision: number,
  mailboxes: number,
  severity: 'high' | 'critical',
): BoardAlert {
  return sampleAlert({
    alert_id: 'life-1',
    rule: 'app_mailbox_sweep',
    severity,
    actor_user_id: 'app-1234',
    mailbox_guid: null,
    status,
    revision,
    distinct_mailbox_count: mailboxes,
    event_count: mailboxes,
    threshold: 6,
    policy: 'vip-mailboxes',
    detected_at: minute(4),
  });
}

/** The rows' cells of one column, top to bottom. */
function column(page: Page, name: string): Promise<string[]> {
  return page.locator(`#alerts tbody td.${name}`).allTextContents();
}

async function waitRows(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => document.querySelectorAll('#alerts tbody tr').length === n, count, {
    timeout: 10_000,
  });
}

test('the page: alerts newest first, a lifecycle as one alert with its history, filters, detail, escaping, charts', async (t) => {
  const browser = await launchChromium(t);
  if (typeof browser === 'string') return skipOrFail(t, browser);
  const { state, url } = await serve(t);
  for (const alert of alerts()) state.alert(alert);
  const metrics = createMetrics();
  const read = async () => [
    {
      url: 'http://pipeline-1:9464/metrics',
      samples: parsePrometheusText(await metrics.registry.metrics()).samples,
    },
  ];
  state.healthRound(Date.now() - 10_000, await read());

  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const seen = watch(page);
  await page.goto(url);
  await waitRows(page, 4);
  assert.deepEqual(await column(page, 'rule'), [
    'app_mailbox_sweep',
    'mailbox_sweep',
    'cross_domain_burst',
    'non_owner_burst',
  ]);

  // The lifecycle: one row, its latest revision; the policy shown.
  assert.deepEqual(await column(page, 'status'), ['closed (r2)', '', '', '']);
  assert.equal((await column(page, 'count'))[0], '57/6 mailboxes (57 reads)');
  assert.deepEqual(await column(page, 'policy'), ['vip-mailboxes', '', '', '']);
  assert.equal(await page.locator('#count').textContent(), '4 of 4 alerts');

  // Markup in a display name is text: shown as written, never run.
  const names = await page.locator('#alerts tbody .display-name').allTextContents();
  assert.ok(names.includes(XSS_NAME), names.join(' | '));
  assert.ok(names.includes(XSS_IMG), names.join(' | '));
  assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
  assert.equal(await page.locator('#alerts script, #alerts img').count(), 0);

  // Filters: rule, severity, actor, mailbox (a sweep's mailboxes count), and back.
  await page.selectOption('#filter-rule', 'mailbox_sweep');
  await waitRows(page, 1);
  assert.deepEqual(await column(page, 'rule'), ['mailbox_sweep']);
  await page.selectOption('#filter-rule', '');
  await page.selectOption('#filter-severity', 'high');
  await waitRows(page, 1);
  assert.deepEqual(await column(page, 'rule'), ['cross_domain_burst']);
  await page.selectOption('#filter-severity', '');
  await page.fill('#filter-actor', 'EVE@');
  await waitRows(page, 1);
  assert.deepEqual(await page.locator('#alerts tbody .actor-id').allTextContents(), ['eve@fabrikam.com']);
  await page.fill('#filter-actor', '');
  await page.fill('#filter-mailbox', 'cfo@');
  await waitRows(page, 1);
  assert.deepEqual(await column(page, 'rule'), ['mailbox_sweep']);
  assert.equal(await page.locator('#count').textContent(), '1 of 4 alerts');
  await page.fill('#filter-mailbox', '');
  await waitRows(page, 4);

  // Detail: sample records, IPs, operations; the lifecycle's history, newest first.
  await page.locator('#alerts tbody tr', { hasText: 'non_owner_burst' }).click();
  await page.waitForSelector('#detail:not([hidden])');
  assert.deepEqual(await page.locator('#detail-samples li').allTextContents(), ['rec-a', 'rec-b']);
  assert.deepEqual(await page.locator('#detail-ips li').allTextContents(), ['203.0.113.7']);
  assert.equal(await page.locator('#detail-operations').textContent(), 'MailItemsAccessed20');
  assert.equal(await page.locator('#detail-history').count(), 0, 'no history for an alert without revisions');
  await page.locator('#alerts tbody tr', { hasText: 'app_mailbox_sweep' }).click();
  await page.waitForSelector('#detail-history');
  assert.equal(await page.locator('#detail-status').textContent(), 'closed (r2)');
  assert.equal(await page.locator('#detail-policy').textContent(), 'vip-mailboxes');
  const history = await page.locator('#detail-history tr td:nth-child(2)').allTextContents();
  assert.deepEqual(history, ['closed', 'update', 'open']);
  await page.locator('#alerts tbody tr', { hasText: 'cross_domain_burst' }).click();
  await page.waitForFunction(() =>
    document.getElementById('detail-display-name')?.textContent?.includes('<'),
  );
  assert.equal(await page.locator('#detail-display-name').textContent(), XSS_NAME);

  // Live: a new alert arrives over the event stream; a duplicate revision changes nothing.
  state.alert(
    sampleAlert({ alert_id: 'new-1', rule: 'bulk_mail_access', severity: 'high', detected_at: minute(9) }),
  );
  state.alert(
    sampleAlert({ alert_id: 'new-1', rule: 'bulk_mail_access', severity: 'high', detected_at: minute(9) }),
  );
  await waitRows(page, 5);
  assert.equal((await column(page, 'rule'))[0], 'bulk_mail_access');

  // Charts: alerts per rule from the alerts; records per second and lags from two reads of /metrics.
  metrics.classified.inc({ class: 'owner' }, 500);
  metrics.fetchLag.set({ topic: 'o365.activity', partition: '0' }, 7);
  metrics.fetchLag.set({ topic: 'radar-mailbox-sweep-repartition', partition: '1' }, 0);
  metrics.streamTime.set({ topic: 'o365.activity', partition: '0' }, Date.now() / 1_000 - 42);
  state.healthRound(Date.now(), await read());
  await page.waitForFunction(() => document.getElementById('chart-records')?.dataset.points === '2');
  assert.equal(
    await page.locator('#chart-fetch-lag').getAttribute('data-series'),
    'o365.activity[0],radar-mailbox-sweep-repartition[1]',
  );
  assert.deepEqual(await page.locator('#chart-fetch-lag .u-legend .u-label').allTextContents(), [
    'activity[0]',
    'repartition[1]',
  ]);
  assert.equal(await page.locator('#chart-delay').getAttribute('data-series'), 'o365.activity[0]');
  assert.match(
    (await page.locator('#chart-alerts').getAttribute('data-series')) ?? '',
    /^non_owner_burst,cross_domain_burst,mailbox_sweep/,
  );
  assert.equal(await page.locator('.uplot').count(), 5, 'five charts drawn');
  assert.deepEqual(await page.locator('#instances li.up').allTextContents(), [
    'http://pipeline-1:9464/metrics',
  ]);
  await screenshot(page, 'dashboard-page.png');

  // Nothing but the page's own files and its event stream was asked for; the URL never changed.
  assert.equal(page.url(), url);
  const origin = new URL(url).origin;
  const paths = new Set(seen.requests.map((r) => (r.startsWith(origin) ? new URL(r).pathname : r)));
  assert.deepEqual([...paths].sort(), [
    '/',
    '/dashboard.css',
    '/dashboard.js',
    '/events',
    '/favicon.svg',
    '/vendor/uPlot.iife.min.js',
    '/vendor/uPlot.min.css',
  ]);
  assert.deepEqual(seen.errors, [], 'no script error, no refused content');
});

test('behind basic auth the page and its event stream work with the credentials, and not without', async (t) => {
  const browser = await launchChromium(t);
  if (typeof browser === 'string') return skipOrFail(t, browser);
  const { state, url } = await serve(t, { username: 'soc', password: 's3cret' });
  state.alert(sampleAlert());
  assert.equal((await fetch(url)).status, 401);
  const context = await browser.newContext({ httpCredentials: { username: 'soc', password: 's3cret' } });
  const page = await context.newPage();
  await page.goto(url);
  await waitRows(page, 1);
  assert.equal(await page.locator('#connection').textContent(), 'connected');
});
