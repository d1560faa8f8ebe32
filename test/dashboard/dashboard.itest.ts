/**
 * Issue 11, end to end: `mailbox-radar dashboard` (the CLI, as a person starts it) beside a real `run`, on
 * the real broker and registry, looked at in Debian's chromium. `simulate` makes an attack of every rule,
 * `run` detects them and the page shows each one as it is published; an alert published before the page
 * opened is there from the history; the charts read the pipeline's /metrics; a display name that is markup
 * shows as text. Saves a screenshot (.artifacts/dashboard.png; docs/dashboard.png is one of them).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Page } from 'playwright-core';
import { AvroTopicWriter } from '../../src/kafka/avro-producer.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import { RULES, type MailboxAccessAlert } from '../../src/model/alert.js';
import { alertSchemaFor, alertType } from '../../src/model/schemas.js';
import { BACKUP_APP_ID } from '../../src/simulate/tenant.js';
import { launchChromium, screenshot, watch } from '../support/browser.js';
import {
  allTopics,
  freePort,
  pipelineEnv,
  readAlerts,
  topicsEnv,
  uniqueTopics,
  type Topics,
  startReady,
} from '../support/pipeline.js';
import { createTopics, kafkaFor, requireStack, skipOrFail, type Stack } from '../support/stack.js';
import { deleteSubjects, runCli, stackEnv, startCli } from '../simulate/support.js';
import { sampleAlert } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-dashboard-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Publishes alerts straight onto their topics, as `run` writes them (key alert_id, the rule's schema). */
async function publish(stack: Stack, topics: Topics, alerts: MailboxAccessAlert[]): Promise<void> {
  const producer = kafkaFor(stack).producer();
  await producer.connect();
  try {
    const registry = new RegistryClient({ url: stack.registryUrl });
    for (const alert of alerts)
      await new AvroTopicWriter<MailboxAccessAlert>(
        producer,
        registry,
        topics.alerts[alert.rule],
        alertType,
        alertSchemaFor(alert.rule),
      ).send([{ key: alert.alert_id, value: alert }]);
  } finally {
    await producer.disconnect();
  }
}

/** `rule actor` of every row on the page. */
async function rows(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('#alerts tbody tr')].map(
      (tr) => `${tr.querySelector('.rule')?.textContent} ${tr.querySelector('.actor-id')?.textContent}`,
    ),
  );
}

async function rowCount(page: Page, count: number, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction((n) => document.querySelectorAll('#alerts tbody tr').length === n, count, {
    timeout: timeoutMs,
  });
}

const XSS_NAME = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

test('dashboard: every rule of a real run appears as it is published, with the history, filters, detail and charts', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const browser = await launchChromium(t);
  if (typeof browser === 'string') return skipOrFail(t, browser);
  const topics = uniqueTopics();
  const { cleanup } = await createTopics(stack, allTopics(topics), 3);
  t.after(async () => {
    await cleanup();
    await deleteSubjects(
      stack,
      [topics.activity, ...Object.values(topics.alerts)].map((topic) => `${topic}-value`),
    );
  });

  // The pipeline, for the simulated tenant (its organization's two domains, its backup app allowed).
  const pipeline = await startReady(
    t,
    pipelineEnv(stack, topics, await freePort(), {
      MAILBOX_RADAR_DETECTION__ORGANIZATION_DOMAINS: '[[contoso.com, contoso.co.uk]]',
      MAILBOX_RADAR_DETECTION__ALLOWLIST__APPS: `[${BACKUP_APP_ID}]`,
      MAILBOX_RADAR_PIPELINE__PARTITION_IDLE_MS: '2000',
    }),
  );

  // An alert published an hour before the page opens (by detection time; on the topic just now).
  const earlier = sampleAlert({
    alert_id: 'e0e0e0e0e0e0e0e0',
    actor_user_id: 'earlier@contoso.com',
    detected_at: Date.now() - 3_600_000,
  });
  await publish(stack, topics, [earlier]);

  const env = stackEnv(stack, topicsEnv(topics));
  const metricsUrl = `http://127.0.0.1:${pipeline.port}/metrics`;
  const dashboard = startCli(['dashboard', '--port', '0', '--metrics', metricsUrl, '--history', '2h'], {
    env: { ...env, MAILBOX_RADAR_DASHBOARD__SCRAPE_INTERVAL: '1s' },
  });
  let stderr = '';
  dashboard.child.stderr.on('data', (chunk: string) => (stderr += chunk));
  t.after(() => dashboard.child.kill('SIGKILL'));
  await dashboard.stderrIncludes('dashboard: http://');
  const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(stderr)?.[1];
  assert.ok(url, 'the URL on stderr');

  const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
  const seen = watch(page);
  await page.goto(url);
  // From the history: the page opened after it was published.
  await rowCount(page, 1);
  assert.deepEqual(await rows(page), ['non_owner_burst earlier@contoso.com']);
  await dashboard.stderrIncludes('dashboard: following the alert topics');
  await page.waitForFunction(() => document.getElementById('feed')?.textContent?.startsWith('live'));

  // Traffic with an attack of every rule, through the real pipeline.
  const simulate = await runCli(
    [
      'simulate',
      '--count',
      '3000',
      '--rate',
      '1000',
      '--attacks',
      '1',
      '--seed',
      'dashboard',
      '--start',
      new Date(Date.now() - 600_000).toISOString(),
      '--speed',
      'max',
    ],
    { env },
  );
  assert.equal(simulate.code, 0, simulate.stderr);
  const published = (
    await readAlerts(stack, topics, {
      want: 1 + RULES.length,
      // Every rule's topic: a count of messages alone was once made up by revisions before first_app_access.
      until: (got) => Object.values(topics.alerts).every((topic) => got.some((m) => m.topic === topic)),
      timeoutMs: 180_000,
      quietMs: 5_000,
    })
  )
    .map((a) => a.alert)
    .filter((a) => a.alert_id !== earlier.alert_id)
    // One row per alert: its later revisions (issue 13) are its history.
    .filter((a, i, all) => all.findIndex((b) => b.alert_id === a.alert_id) === i);
  assert.deepEqual(
    [...new Set(published.map((a) => a.rule))].sort(),
    [...RULES].sort(),
    `an alert of every rule:\n${pipeline.output().slice(-3_000)}`,
  );
  // Each one on the page (the page has them as soon as they are on their topics: within seconds).
  await rowCount(page, 1 + published.length, 15_000);
  assert.deepEqual(
    (await rows(page)).sort(),
    [...published, earlier].map((a) => `${a.rule} ${a.actor_user_id}`).sort(),
  );

  // Live, and escaped: a display name that is markup shows as written.
  const xss = sampleAlert({
    alert_id: 'a5a5a5a5a5a5a5a5',
    rule: 'cross_domain_burst',
    severity: 'high',
    actor_user_id: 'eve@fabrikam.com',
    actor_display_name: XSS_NAME,
    detected_at: Date.now(),
  });
  await publish(stack, topics, [xss]);
  await rowCount(page, 2 + published.length, 15_000);
  assert.ok((await page.locator('#alerts tbody .display-name').allTextContents()).includes(XSS_NAME));
  assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
  assert.equal(await page.locator('#alerts script, #alerts img').count(), 0);

  // Filters: by rule, by actor.
  const sweeps = published.filter((a) => a.rule === 'mailbox_sweep');
  await page.selectOption('#filter-rule', 'mailbox_sweep');
  await rowCount(page, sweeps.length, 5_000);
  assert.deepEqual((await rows(page)).sort(), sweeps.map((a) => `mailbox_sweep ${a.actor_user_id}`).sort());
  await page.selectOption('#filter-rule', '');
  await page.fill('#filter-actor', 'fabrikam.com');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#alerts tbody .actor-id')].every((e) =>
      e.textContent?.includes('fabrikam.com'),
    ),
  );
  assert.ok((await rows(page)).includes('cross_domain_burst eve@fabrikam.com'));
  await page.fill('#filter-actor', '');
  await rowCount(page, 2 + published.length, 5_000);

  // Detail: the sample records of the run's non-owner burst.
  const burst = published.find((a) => a.rule === 'non_owner_burst')!;
  await page
    .locator('#alerts tbody tr', { hasText: 'non_owner_burst' })
    .filter({ hasText: burst.actor_user_id })
    .first()
    .click();
  await page.waitForSelector('#detail:not([hidden])');
  assert.equal(await page.locator('#detail-id').textContent(), burst.alert_id);
  assert.deepEqual(await page.locator('#detail-samples li').allTextContents(), burst.sample_record_ids);
  assert.ok(burst.sample_record_ids.length > 0);

  // Charts from the pipeline's /metrics: records per second, and the activity partitions' delay.
  await page.waitForFunction(
    () => Number(document.getElementById('chart-records')?.dataset.points) >= 2,
    null,
    {
      timeout: 30_000,
    },
  );
  const delay = (await page.locator('#chart-delay').getAttribute('data-series')) ?? '';
  assert.match(delay, new RegExp(`${topics.activity.replace(/\./g, '\\.')}\\[\\d\\]`));
  assert.deepEqual(await page.locator('#instances li.up').allTextContents(), [metricsUrl]);
  await screenshot(page, 'dashboard.png');
  assert.equal(page.url(), url, 'nothing went into the URL');
  assert.deepEqual(seen.errors, []);

  dashboard.child.kill('SIGTERM');
  const result = await dashboard.result;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /dashboard: stopped\n$/);
});

test('dashboard: missing alert topics are one line and exit 1; a bad --port is exit 2', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const env = stackEnv(stack, { MAILBOX_RADAR_TOPICS__ALERTS__MAILBOX_SWEEP: 'it.no-such-topic-dashboard' });
  const missing = await runCli(['dashboard', '--port', '0'], { env });
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /mailbox-radar dashboard: topics? .*it\.no-such-topic-dashboard.* not exist/);
  const port = await runCli(['dashboard', '--port', '70000'], { env });
  assert.equal(port.code, 2);
  assert.match(port.stderr, /invalid --port "70000"/);
});
