/**
 * Issue 15: restarts that cost seconds and publish nothing twice, against the real broker and registry.
 * `mailbox-radar run` as a child process, stopped cleanly (SIGTERM) or killed (SIGKILL), then started again.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createTopics, kafkaFor, requireStack, type Stack } from '../support/stack.js';
import { burst, minutes, ownerNoise, sweep } from '../support/records.js';
import {
  allTopics,
  freePort,
  metric,
  pipelineEnv,
  produceActivity,
  readAlerts,
  sleep,
  uniqueTopics,
  waitFor,
  type RunningPipeline,
  type Topics,
  startReady,
} from '../support/pipeline.js';

const CONSUMED = 'mailbox_radar_records_consumed_total';

/** A stack, unique topics, and a started, ready pipeline on them. */
async function setUp(
  t: TestContext,
  extraEnv: Record<string, string> = {},
): Promise<
  | {
      stack: Stack;
      topics: Topics;
      env: NodeJS.ProcessEnv;
      start: (readyWithinMs?: number) => Promise<RunningPipeline>;
    }
  | undefined
> {
  const stack = await requireStack(t);
  if (!stack) return undefined;
  const topics = uniqueTopics();
  const { cleanup } = await createTopics(stack, allTopics(topics), 3);
  t.after(cleanup);
  const env = pipelineEnv(stack, topics, await freePort(), extraEnv);
  const start = async (readyWithinMs?: number) => {
    const p = await startReady(t, env, [], readyWithinMs);
    return p;
  };
  return { stack, topics, env, start };
}

/** A non-owner burst of 20 (one alert), a sweep of 10 mailboxes (one alert), and owners' own reads. */
function traffic(prefix: string, start: number) {
  return [
    ...burst(`${prefix}-burst`, 20, start, 5_000, {
      actor: 'eve@contoso.com',
      owner: 'ceo@contoso.com',
      mailbox: 'mbx-restart',
    }),
    ...sweep(`${prefix}-sweep`, 10, start, 'mallory@contoso.com'),
    ...ownerNoise(`${prefix}-owner`, 300, start),
  ];
}

test('15.1: a clean restart re-reads no activity and publishes no alert again', async (t) => {
  const setup = await setUp(t);
  if (!setup) return;
  const { stack, topics, start } = setup;
  const records = traffic('clean', Date.now() - minutes(30));
  const first = await start();
  await produceActivity(stack, kafkaFor(stack), topics.activity, records);
  await waitFor('every record consumed', async () => (await metric(first, CONSUMED)) === records.length);
  const before = await readAlerts(stack, topics, { want: 2, timeoutMs: 60_000, quietMs: 2_000 });
  assert.equal(before.length, 2, 'a burst and a sweep');
  first.process.kill('SIGTERM');
  assert.equal(await first.exit, 0);

  const second = await start();
  await sleep(3_000); // the timer ticks, commits and watermark moves of a running pipeline
  assert.equal(await metric(second, CONSUMED), 0, 'activity re-read after a clean restart');
  assert.ok(
    (await metric(second, 'mailbox_radar_restored_records_total')) >= 20,
    'the windows come back from the changelog',
  );
  await waitFor(
    'the repartition topic read again',
    async () => (await metric(second, 'mailbox_radar_repartition_records_consumed_total')) > 0,
  );
  assert.ok(
    (await metric(second, 'mailbox_radar_restore_waiting_accesses')) >= 10,
    'the accesses read again from the repartition topic, released before the stop, wait for their actor undecoded',
  );
  const after = await readAlerts(stack, topics, { want: 2, timeoutMs: 30_000, quietMs: 3_000 });
  assert.deepEqual(
    after.map((a) => a.key).sort(),
    before.map((a) => a.key).sort(),
    'alerts published again by the restart',
  );
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);

  // Again: the sweep's records are read again from the repartition topic at every restart, and what they
  // raise was published two restarts ago — still not again.
  const third = await start();
  await sleep(3_000);
  const later = await readAlerts(stack, topics, { want: 2, timeoutMs: 30_000, quietMs: 3_000 });
  assert.deepEqual(
    later.map((a) => a.key).sort(),
    before.map((a) => a.key).sort(),
    'alerts published again by the second restart',
  );
  third.process.kill('SIGTERM');
  assert.equal(await third.exit, 0);
});

test('15.1: a sweep one of whose reads came after it opened keeps its id across a clean restart', async (t) => {
  // Live, the sweep's ten reads reach the actor side and open the alert before an older read of an eleventh
  // mailbox comes: that one goes out to the sweep at once (too late for the ordering), into the open
  // alert's episode. The restart reads all eleven again from the repartition topic in one fetch: sorted there, the
  // eleventh would reach the threshold with the first nine and open an alert under another id.
  const setup = await setUp(t, { MAILBOX_RADAR_PIPELINE__PARTITION_IDLE_MS: '2000' });
  if (!setup) return;
  const { stack, topics, start } = setup;
  const from = Date.now() - minutes(30);
  const actor = 'mallory@contoso.com';
  const reads = sweep('ordered', 10, from, actor);
  const older = burst('ordered-late', 1, from + 5_000, 0, {
    actor,
    owner: 'user10@contoso.com',
    mailbox: '00000000-0000-4000-8000-000000000010',
  });
  const first = await start();
  await produceActivity(stack, kafkaFor(stack), topics.activity, reads);
  const opened = await readAlerts(stack, topics, { want: 1, timeoutMs: 60_000, quietMs: 2_000 });
  assert.deepEqual(
    opened.map((a) => [a.alert.rule, a.alert.status]),
    [['mailbox_sweep', 'open']],
  );
  await produceActivity(stack, kafkaFor(stack), topics.activity, older);
  await waitFor('the older read consumed', async () => (await metric(first, CONSUMED)) === 11);
  await sleep(6_000); // idle markers: it goes out to the sweep, which takes it into the open alert's episode
  const before = await readAlerts(stack, topics, { want: 2, timeoutMs: 5_000, quietMs: 2_000 });
  assert.deepEqual(
    before.map((a) => [a.key, a.alert.revision]),
    [[opened[0]!.key, 0]],
    'one alert (an update comes at twice the threshold)',
  );
  first.process.kill('SIGTERM');
  assert.equal(await first.exit, 0);

  const second = await start();
  await waitFor(
    'the repartition topic read again',
    async () => (await metric(second, 'mailbox_radar_repartition_records_consumed_total')) > 0,
  );
  await sleep(6_000); // idle markers: what the re-read holds back for the event order goes out
  const after = await readAlerts(stack, topics, { want: 3, timeoutMs: 10_000, quietMs: 3_000 });
  assert.deepEqual(
    after.map((a) => [a.key, a.alert.revision]),
    before.map((a) => [a.key, a.alert.revision]),
    'published after the restart',
  );
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);
});

test('15.1: after kill -9, no alert acknowledged before the kill is published again', async (t) => {
  const setup = await setUp(t);
  if (!setup) return;
  const { stack, topics, start } = setup;
  const records = traffic('killed', Date.now() - minutes(30));
  const first = await start();
  await produceActivity(stack, kafkaFor(stack), topics.activity, records);
  await waitFor('every record consumed', async () => (await metric(first, CONSUMED)) === records.length);
  await waitFor(
    'both alerts acknowledged',
    async () => (await metric(first, 'mailbox_radar_alerts_total')) === 2,
  );
  await sleep(1_000); // commits every 200 ms
  first.process.kill('SIGKILL');
  await first.exit;

  const second = await start();
  await sleep(3_000);
  const alerts = await readAlerts(stack, topics, { want: 2, timeoutMs: 30_000, quietMs: 3_000 });
  const keys = alerts.map((a) => a.key);
  assert.equal(keys.length, 2, `alerts on the topics: ${keys.join(', ')}`);
  assert.equal(new Set(keys).size, 2);
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);
});

for (const how of ['SIGTERM', 'SIGKILL'] as const) {
  test(`15.2: a burst split by a restart (${how}) still alerts, once, with every record counted`, async (t) => {
    const setup = await setUp(t);
    if (!setup) return;
    const { stack, topics, start } = setup;
    const base = Date.now() - minutes(30);
    const records = burst(`split-${how}`, 20, base, 5_000, {
      actor: 'eve@contoso.com',
      owner: 'cfo@contoso.com',
      mailbox: 'mbx-split',
    });
    const first = await start();
    await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(0, 12));
    await waitFor('the first 12 consumed', async () => (await metric(first, CONSUMED)) === 12);
    await sleep(1_000); // commits every 200 ms
    first.process.kill(how);
    await first.exit;

    const second = await start();
    await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(12));
    const alerts = await readAlerts(stack, topics, { want: 1, timeoutMs: 60_000, quietMs: 3_000 });
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.alert.rule, 'non_owner_burst');
    assert.equal(alerts[0]!.alert.event_count, 20);
    assert.equal(alerts[0]!.alert.first_seen, base);
    second.process.kill('SIGTERM');
    assert.equal(await second.exit, 0);
  });
}

test('13: kill -9 between an alert’s open and its close: the close comes after the restart, same id, once', async (t) => {
  const setup = await setUp(t);
  if (!setup) return;
  const { stack, topics, start } = setup;
  const base = Date.now() - minutes(180);
  const who = { actor: 'eve@contoso.com', owner: 'cfo@contoso.com', mailbox: 'mbx-close' };
  const records = burst('closing', 25, base, 5_000, who);
  const first = await start();
  await produceActivity(stack, kafkaFor(stack), topics.activity, records);
  await waitFor('the alert opened', async () => (await metric(first, 'mailbox_radar_alerts_total')) === 1);
  await sleep(1_000); // commits every 200 ms
  first.process.kill('SIGKILL');
  await first.exit;

  const second = await start();
  // Event time moves 2 h 10 min past the burst on the burst's partition (same mailbox key), and the
  // partitions without records go idle: the watermark passes the episode's end + T.
  const later = burst('closing-later', 1, base + minutes(130), 0, { ...who, actor: 'cfo@contoso.com' });
  await produceActivity(stack, kafkaFor(stack), topics.activity, later);
  const alerts = await readAlerts(stack, topics, { want: 2, timeoutMs: 90_000, quietMs: 3_000 });
  assert.deepEqual(
    alerts.map((a) => `${a.alert.revision} ${a.alert.status} ${a.alert.event_count}`),
    ['0 open 20', '1 closed 25'],
  );
  assert.equal(alerts[1]!.key, alerts[0]!.key, 'the close keeps the id');
  assert.equal(alerts[1]!.alert.duration_ms, 24 * 5_000);
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);
});

test('15.2: after kill -9 the restarted instance evicts its dead member instead of waiting out the session timeout', async (t) => {
  // A session timeout far longer than the readiness bound below: a restart that waits for the broker to
  // drop the killed member cannot be ready in time.
  const setup = await setUp(t, { MAILBOX_RADAR_KAFKA__SESSION_TIMEOUT_MS: '60000' });
  if (!setup) return;
  const { stack, topics, start } = setup;
  const first = await start();
  const base = Date.now() - minutes(30);
  await produceActivity(stack, kafkaFor(stack), topics.activity, ownerNoise('evict-before', 100, base));
  await waitFor('records consumed', async () => (await metric(first, CONSUMED)) === 100);
  await sleep(1_000); // commits every 200 ms
  first.process.kill('SIGKILL');
  await first.exit;

  const second = await start(30_000);
  assert.match(second.output(), /removed the member .* of this instance's previous run/);
  await produceActivity(stack, kafkaFor(stack), topics.activity, traffic('evict', base));
  const alerts = await readAlerts(stack, topics, { want: 2, timeoutMs: 60_000, quietMs: 3_000 });
  assert.equal(new Set(alerts.map((a) => a.key)).size, 2, 'the burst and the sweep');
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);
});
