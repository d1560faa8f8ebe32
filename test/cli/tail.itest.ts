import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { formatAlert } from '../../src/cli/tail.js';
import { AvroTopicWriter } from '../../src/kafka/avro-producer.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import { alertToJson, type MailboxAccessAlert, type RuleName } from '../../src/model/alert.js';
import { alertSchema, alertType } from '../../src/model/schemas.js';
import { compareWithManifest } from '../../src/simulate/compare.js';
import { Simulation, Tally, buildManifest, type Manifest } from '../../src/simulate/simulation.js';
import { alertsOf, deleteSubjects, runCli, stackEnv, startCli } from '../simulate/support.js';
import { createTopics, kafkaFor, requireStack, uniqueName, type Stack } from '../support/stack.js';

const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-tail-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Real alerts: a short simulation with one attack per rule through the detection core. */
async function simulatedAlerts(seed: string): Promise<{ alerts: MailboxAccessAlert[]; manifest: Manifest }> {
  const simulation = new Simulation({
    seed,
    start: Date.UTC(2026, 10, 25, 9),
    rate: 1000,
    count: 3000,
    attacks: 1,
  });
  const items = [...simulation];
  const tally = new Tally();
  items.forEach((i) => tally.add(i));
  // The alerts as they opened (their later revisions are issue 13's; tail prints whatever is published).
  const alerts = (await alertsOf(items.map((i) => i.record))).filter((a) => (a.revision ?? 0) === 0);
  const manifest = buildManifest(simulation, tally, true);
  // One per attack of the seven rules, and first_access for every mailbox a user attack opened.
  assert.equal(alerts.length, 7 + compareWithManifest(manifest, alerts).first_access.companions);
  return { alerts, manifest };
}

/** Fresh alert topics, one per rule, the env that points the CLI at them, and a producer of alerts onto them. */
async function alertTopics(t: TestContext, stack: Stack) {
  const topics: Record<RuleName, string> = {
    non_owner_burst: uniqueName('it.alerts.non-owner'),
    cross_domain_burst: uniqueName('it.alerts.cross-domain'),
    mailbox_sweep: uniqueName('it.alerts.sweep'),
    app_mailbox_sweep: uniqueName('it.alerts.app-sweep'),
    bulk_mail_access: uniqueName('it.alerts.bulk'),
    first_app_access: uniqueName('it.alerts.first-app'),
    first_access: uniqueName('it.alerts.first-access'),
  };
  const { cleanup } = await createTopics(stack, Object.values(topics));
  const producer = kafkaFor(stack).producer();
  await producer.connect();
  t.after(async () => {
    await producer.disconnect();
    await cleanup();
    await deleteSubjects(
      stack,
      Object.values(topics).map((topic) => `${topic}-value`),
    );
  });
  const registry = new RegistryClient({ url: stack.registryUrl });
  const produce = async (alerts: MailboxAccessAlert[]) => {
    for (const alert of alerts)
      await new AvroTopicWriter<MailboxAccessAlert>(
        producer,
        registry,
        topics[alert.rule],
        alertType,
        alertSchema,
      ).send([{ key: alert.alert_id, value: alert }]);
  };
  const env = stackEnv(stack, {
    MAILBOX_RADAR_TOPICS__ALERTS__NON_OWNER_BURST: topics.non_owner_burst,
    MAILBOX_RADAR_TOPICS__ALERTS__CROSS_DOMAIN_BURST: topics.cross_domain_burst,
    MAILBOX_RADAR_TOPICS__ALERTS__MAILBOX_SWEEP: topics.mailbox_sweep,
    MAILBOX_RADAR_TOPICS__ALERTS__APP_MAILBOX_SWEEP: topics.app_mailbox_sweep,
    MAILBOX_RADAR_TOPICS__ALERTS__BULK_MAIL_ACCESS: topics.bulk_mail_access,
    MAILBOX_RADAR_TOPICS__ALERTS__FIRST_APP_ACCESS: topics.first_app_access,
    MAILBOX_RADAR_TOPICS__ALERTS__FIRST_ACCESS: topics.first_access,
  });
  return { env, produce };
}

const byId = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  String(a.alert_id).localeCompare(String(b.alert_id));

test('tail --from-beginning --max prints the alerts on the topics, as JSON and as readable lines', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const { env, produce } = await alertTopics(t, stack);
  const { alerts } = await simulatedAlerts('tail-json');
  await produce(alerts);

  const max = String(alerts.length);
  const json = await runCli(['tail', '--from-beginning', '--max', max, '--json', '--timeout', '60s'], {
    env,
  });
  assert.equal(json.code, 0, json.stderr);
  const printed = json.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    printed.sort(byId),
    alerts.map((a) => JSON.parse(JSON.stringify(alertToJson(a))) as Record<string, unknown>).sort(byId),
  );
  assert.match(json.stderr, /tail: listening on it\.alerts/);
  assert.match(json.stderr, new RegExp(`tail: ${max} alerts\n$`));

  const lines = await runCli(['tail', '--from-beginning', '--max', max], { env });
  assert.equal(lines.code, 0, lines.stderr);
  assert.deepEqual(
    lines.stdout.trimEnd().split('\n').sort(),
    alerts.map((alert) => formatAlert(alert)).sort(),
  );
});

test('tail (new alerts only) prints what arrives after it starts; Ctrl-C leaves cleanly with exit code 0', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const { env, produce } = await alertTopics(t, stack);
  const { alerts } = await simulatedAlerts('tail-live');
  await produce(alerts.slice(0, 1)); // before tail starts: not shown

  const tail = startCli(['tail', '--json'], { env });
  await tail.stderrIncludes('tail: listening on');
  // The new group's starting offset is fixed at its first fetch, just after joining: send until one shows.
  const late = alerts[1]!;
  for (let attempt = 0; ; attempt++) {
    await produce([late]);
    try {
      await tail.stdoutIncludes(late.alert_id, 5_000);
      break;
    } catch (error) {
      if (attempt === 5) throw error;
    }
  }
  tail.child.kill('SIGINT');
  const result = await tail.result;
  assert.equal(result.code, 0, result.stderr);
  const ids = result.stdout
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { alert_id: string }).alert_id);
  assert.ok(ids.includes(late.alert_id));
  assert.ok(!ids.includes(alerts[0]!.alert_id), 'an alert from before tail started is not shown');
  assert.match(result.stderr, /tail: \d+ alerts?\n$/);
});

test('tail --manifest stops once every injected attack is seen and prints injected vs detected', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const { env, produce } = await alertTopics(t, stack);
  const { alerts, manifest } = await simulatedAlerts('tail-manifest');
  const file = join(dir, 'manifest.json');
  writeFileSync(file, JSON.stringify(manifest));
  await produce(alerts);

  const all = await runCli(['tail', '--from-beginning', '--manifest', file, '--timeout', '60s'], { env });
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stderr, /non_owner_burst\s+1\s+1\s+0\s+0/);
  assert.match(all.stderr, /\nmailbox_sweep\s+1\s+1\s+0\s+0/);
  for (const rule of ['app_mailbox_sweep', 'bulk_mail_access', 'first_app_access', 'first_access'])
    assert.match(all.stderr, new RegExp(`${rule}\\s+1\\s+1\\s+0\\s+0`));

  // An attack nobody detected: exit code 1, and the miss named.
  const missing = {
    ...manifest,
    attacks: {
      ...manifest.attacks,
      cross_domain_burst: [
        ...manifest.attacks.cross_domain_burst,
        {
          ...manifest.attacks.cross_domain_burst[0]!,
          key: { ...manifest.attacks.cross_domain_burst[0]!.key, actor_user_id: 'nobody@fabrikam.com' },
        },
      ],
    },
  };
  writeFileSync(file, JSON.stringify(missing));
  const short = await runCli(['tail', '--from-beginning', '--manifest', file, '--timeout', '8s'], { env });
  assert.equal(short.code, 1, short.stderr);
  assert.match(short.stderr, /cross_domain_burst\s+2\s+1\s+1\s+0/);
  assert.match(short.stderr, /missed cross_domain_burst: actor nobody@fabrikam\.com/);
});

test('tail: alert topics that do not exist are one clear line and exit code 1', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const env = stackEnv(stack, {
    MAILBOX_RADAR_TOPICS__ALERTS__MAILBOX_SWEEP: uniqueName('it.no-such-topic'),
  });
  const run = await runCli(['tail', '--timeout', '5s'], { env });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /mailbox-radar tail: topics? .*it\.no-such-topic.* not exist/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('tail --timeout: no alert within it is exit code 3 (alerts within it: 0)', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const { env, produce } = await alertTopics(t, stack);
  const started = Date.now();
  const none = await runCli(['tail', '--from-beginning', '--timeout', '3s'], { env });
  assert.equal(none.code, 3, none.stderr);
  assert.match(none.stderr, /tail: 0 alerts\n/);
  assert.match(none.stderr, /no alert within --timeout 3s/);
  assert.ok(Date.now() - started < 60_000, 'it stops at the timeout');

  const { alerts } = await simulatedAlerts('tail-timeout');
  await produce(alerts.slice(0, 2));
  const some = await runCli(['tail', '--from-beginning', '--timeout', '5s'], { env });
  assert.equal(some.code, 0, some.stderr);
  assert.equal(some.stdout.trimEnd().split('\n').length, 2);
});
