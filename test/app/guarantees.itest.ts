/**
 * Issue 8: the delivery guarantees under the faults that broke them, against the real broker and registry.
 * Each test reproduces one fault with `mailbox-radar run` as a child process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import type { Admin } from 'kafkajs';
import { frame } from '../../src/kafka/avro-codec.js';
import { DeadLetterHeaders } from '../../src/kafka/dead-letter.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import { decodeCommitMetadata } from '../../src/kafka/watermarks.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activitySchema } from '../../src/model/schemas.js';
import { startRegistryProxy } from '../support/registry-proxy.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { kafkaFor, type Stack } from '../support/stack.js';
import { burst, minutes, ownerNoise } from '../support/records.js';
import {
  freePort,
  metric,
  pipelineEnv,
  pipelineTopics,
  produceActivity,
  readAlerts,
  readTopics,
  sleep,
  startPipeline,
  waitFor,
  waitReady,
  type Topics,
  startReady,
} from '../support/pipeline.js';

/** Per activity partition: the committed offset and where its metadata says the windows' state begins. */
async function commits(
  admin: Admin,
  topics: Topics,
): Promise<{ offset: number; restoreFrom: number | undefined }[]> {
  const [offsets] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.activity] });
  return (offsets?.partitions ?? [])
    .sort((a, b) => a.partition - b.partition)
    .map((p) => ({ offset: Number(p.offset), restoreFrom: decodeCommitMetadata(p.metadata).restoreFrom }));
}

test('8.1: no commit passes a record an unacknowledged alert was built from; kill -9 then loses nothing', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics, admin } = given;
  const env = pipelineEnv(stack, topics, await freePort());
  const start = Date.now() - minutes(200);
  const records = burst('unacked', 20, start, 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-unacked',
  });
  // One owner record 2 h 20 min later: event time moves past the episode (lateness 2 h + T 5 min).
  const later = ownerNoise('unacked-later', 1, start + minutes(140));

  const first = await startReady(t, env);
  // The broker cannot acknowledge the alert: its topic is gone (auto-creation is off), so the idempotent
  // producer retries the send for minutes. A restart's start-up creates the topic again.
  await admin.deleteTopics({ topics: [topics.alerts.non_owner_burst] });
  const consumed = () => metric(first, 'mailbox_radar_records_consumed_total');
  // Three batches: offsets 0–18, then 19 (fires; its send stays pending), then 20 (no output).
  await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(0, 19));
  await waitFor('19 records consumed', async () => (await consumed()) === 19);
  await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(19));
  await waitFor('the 20th consumed', async () => (await consumed()) === 20);
  await produceActivity(stack, kafkaFor(stack), topics.activity, later);
  await waitFor('the later record consumed', async () => (await consumed()) === 21);
  await sleep(2_500); // several commit intervals and timer ticks
  assert.equal(await metric(first, 'mailbox_radar_alerts_total'), 0, 'the alert is not acknowledged');
  const [committed] = await commits(admin, topics);
  first.process.kill('SIGKILL');
  await first.exit;
  // Issue 15: the commit goes where processing stands, short of the batch whose alert is unacknowledged
  // (a restart reads it again); the burst's first 19 records come back from the windows' changelog.
  assert.ok(
    committed === undefined || committed.offset <= 19,
    `committed ${committed?.offset}: past the batch whose alert was unacknowledged`,
  );
  assert.ok(
    committed === undefined || (committed.restoreFrom ?? 0) <= 0,
    `the windows' state begins at ${committed?.restoreFrom}, past the burst's first record`,
  );

  const second = await startReady(t, env); // its start-up creates the alert topic again
  // The open, and its close (event time is 2 h 20 min past the burst): one alert, two revisions.
  const alerts = await readAlerts(stack, topics, { want: 2, timeoutMs: 60_000, quietMs: 3_000 });
  assert.deepEqual(
    alerts.map((a) => `${a.alert.rule} ${a.alert.status} ${a.alert.revision} ${a.alert.event_count}`),
    ['non_owner_burst open 0 20', 'non_owner_burst closed 1 20'],
    'the alert comes after the restart, once, and closes',
  );
  assert.equal(alerts[1]!.key, alerts[0]!.key);
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);
});

test('8.3: a record dropped as late before a crash is dropped after it too (stream time restored from the commit)', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics, admin } = given;
  const env = pipelineEnv(stack, topics, await freePort());
  const start = Date.now() - minutes(300);
  // Offset 0: a non-owner read 3 h after the burst; its window stays open, so the commit stays at 0.
  const ahead = burst('late-ahead', 1, start + minutes(180), 0, {
    actor: 'mallory@contoso.com',
    owner: 'cfo@contoso.com',
    mailbox: 'mbx-ahead',
  });
  // Offsets 1–20: a burst 3 h behind the stream time: late (allowed lateness 2 h), dropped, no alert.
  const lateBurst = burst('late-burst', 20, start, 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-late',
  });

  const first = await startReady(t, env);
  await produceActivity(stack, kafkaFor(stack), topics.activity, ahead);
  await waitFor(
    'the record ahead consumed',
    async () => (await metric(first, 'mailbox_radar_records_consumed_total')) === 1,
  );
  await produceActivity(stack, kafkaFor(stack), topics.activity, lateBurst);
  await waitFor(
    'the burst dropped as late',
    async () => (await metric(first, 'mailbox_radar_late_records_total')) === 20,
  );
  await sleep(1_000);
  assert.equal(await metric(first, 'mailbox_radar_alerts_total'), 0);
  first.process.kill('SIGKILL');
  await first.exit;
  const [committed] = await commits(admin, topics);
  assert.ok(committed !== undefined, 'a commit');
  assert.ok(
    (committed.restoreFrom ?? committed.offset) <= 0,
    `the windows' state begins at ${committed.restoreFrom}: the open window needs offset 0`,
  );

  // Issue 15: the restart replays the window from its changelog and reads on from the commit; the
  // stream time restored from the commit makes the same burst's other records late as well.
  const second = await startReady(t, env);
  const reRead = committed.offset >= 21 ? 0 : 21 - committed.offset;
  const more = burst('late-burst-more', 5, start + 1_000, 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-late',
  });
  await produceActivity(stack, kafkaFor(stack), topics.activity, more);
  await waitFor(
    'the new records read',
    async () => (await metric(second, 'mailbox_radar_records_consumed_total')) >= reRead + 5,
  );
  await sleep(1_500);
  assert.equal(
    await metric(second, 'mailbox_radar_late_records_total'),
    5 + Math.max(0, 21 - Math.max(committed.offset, 1)),
    'late as before the crash',
  );
  assert.equal(await metric(second, 'mailbox_radar_alerts_total'), 0, 'and raise nothing');
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);
});

test('8.5: members join and leave repeatedly while commits run: no exit, alerts exact', async (t) => {
  const given = await pipelineTopics(t, 3);
  if (!given) return;
  const { stack, topics } = given;
  // Commits once a second, from batches and from the timer alike (the timer's commit was the fatal one).
  const env = pipelineEnv(stack, topics, await freePort(), {
    MAILBOX_RADAR_PIPELINE__COMMIT_INTERVAL_MS: '1000',
  });
  const start = Date.now() - minutes(60);
  const bursts = Array.from({ length: 6 }, (_, i) =>
    burst(`churn-${i}`, 20, start + i * minutes(4), 5_000, {
      actor: `intruder${i}@contoso.com`,
      owner: `exec${i}@contoso.com`,
      mailbox: `mbx-churn-${i}`,
    }),
  );
  const main = await startReady(t, env);

  let producing = true;
  let round = 0;
  const kafka = kafkaFor(stack);
  const traffic = (async () => {
    while (producing) {
      const i = round++;
      const batch = ownerNoise(`churn-noise-${i}`, 40, start + i * 10_000);
      const b = bursts[i % 6]!;
      // Each burst arrives in halves over the run, so its window spans the rebalances.
      if (i < 12) batch.push(...b.slice(i < 6 ? 0 : 10, i < 6 ? 10 : 20));
      await produceActivity(stack, kafka, topics.activity, batch);
      await sleep(100);
    }
  })();
  for (let cycle = 0; cycle < 6; cycle++) {
    const joiner = startPipeline({ ...env, MAILBOX_RADAR_HTTP__PORT: String(await freePort()) });
    t.after(() => joiner.process.kill('SIGKILL'));
    await waitReady(joiner, 60_000).catch(() => undefined);
    await sleep(1_500);
    joiner.process.kill('SIGTERM');
    await joiner.exit;
    assert.equal(
      main.process.exitCode,
      null,
      `the first member exited during cycle ${cycle}:\n${main.output().slice(-3_000)}`,
    );
  }
  while (round < 14) await sleep(100); // every burst produced
  producing = false;
  await traffic;
  const alerts = await readAlerts(stack, topics, { want: 6, timeoutMs: 60_000, quietMs: 4_000 });
  assert.equal(main.process.exitCode, null, 'the first member is still running');
  const byMailbox = new Map<string, Set<string>>();
  for (const { alert } of alerts) {
    const ids = byMailbox.get(alert.mailbox_guid ?? '') ?? new Set<string>();
    ids.add(alert.alert_id);
    byMailbox.set(alert.mailbox_guid ?? '', ids);
  }
  assert.deepEqual(
    [...byMailbox.keys()].sort(),
    bursts.map((_, i) => `mbx-churn-${i}`).sort(),
    'one alert per burst, nothing else',
  );
  for (const [mailbox, ids] of byMailbox)
    assert.equal(ids.size, 1, `${mailbox}: duplicates share one alert_id`);
  main.process.kill('SIGTERM');
  assert.equal(await main.exit, 0);
});

test('8.5: a timed commit refused because the group moved on (stale member) is skipped; the process rejoins', async (t) => {
  const given = await pipelineTopics(t, 2);
  if (!given) return;
  const { stack, topics } = given;
  const env = pipelineEnv(stack, topics, await freePort(), {
    MAILBOX_RADAR_KAFKA__TOPIC_PARTITIONS: '2',
    MAILBOX_RADAR_PIPELINE__PARTITION_IDLE_MS: '2000',
  });
  const start = Date.now() - minutes(300);
  // Two mailboxes, on either partition or both: an open window at `start`, and a read 3 h later. Once
  // both partitions are idle the watermark passes the window, and the timer has a commit to make.
  const records = [
    ...burst('stale-a', 3, start, 5_000, {
      actor: 'eve@contoso.com',
      owner: 'a@contoso.com',
      mailbox: 'mbx-a',
    }),
    ...burst('stale-b', 1, start + minutes(180), 0, {
      actor: 'eve@contoso.com',
      owner: 'b@contoso.com',
      mailbox: 'mbx-b',
    }),
    ...burst('stale-c', 1, start + minutes(180), 0, {
      actor: 'eve@contoso.com',
      owner: 'c@contoso.com',
      mailbox: 'mbx-c',
    }),
  ];
  const p = await startReady(t, env);
  await produceActivity(stack, kafkaFor(stack), topics.activity, records);
  await waitFor(
    'records consumed',
    async () => (await metric(p, 'mailbox_radar_records_consumed_total')) === 5,
  );
  // Frozen past the session timeout (8 s): the group drops the member. On waking, the timer's commit
  // goes out with the old member id before the consumer learns it must rejoin.
  p.process.kill('SIGSTOP');
  await sleep(12_000);
  p.process.kill('SIGCONT');
  await sleep(5_000);
  assert.equal(p.process.exitCode, null, `the pipeline exited:\n${p.output().slice(-2_000)}`);
  await waitReady(p, 30_000);
  p.process.kill('SIGTERM');
  assert.equal(await p.exit, 0);
});

/** Registers a v2 writer schema (one extra field) so the pipeline must ask the registry for a new id. */
async function v2Writer(stack: Stack, topic: string): Promise<(r: ExchangeMailboxActivity) => Buffer> {
  const registry = new RegistryClient({ url: stack.registryUrl });
  await registry.registerValueSchema(topic, activitySchema);
  const schema = {
    ...activitySchema,
    fields: [
      ...(activitySchema.fields as object[]),
      { name: 'x_later_field', type: ['null', 'string'], default: null },
    ],
  };
  const id = await registry.registerValueSchema(topic, schema);
  const type = avro.Type.forSchema(schema as avro.Schema);
  return (r) => frame(id, type.toBuffer({ ...r, x_later_field: null }));
}

async function produceFramed(
  stack: Stack,
  topic: string,
  records: ExchangeMailboxActivity[],
  encode: (r: ExchangeMailboxActivity) => Buffer,
) {
  const producer = kafkaFor(stack).producer();
  await producer.connect();
  await producer.send({ topic, messages: records.map((r) => ({ key: r.mailbox_guid, value: encode(r) })) });
  await producer.disconnect();
}

test('8.4: the registry gone mid-burst: consumption waits, /readyz says why, then the alert comes once', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const { proxy, url } = TcpProxy.forUrl(stack.registryUrl);
  await proxy.start();
  t.after(() => proxy.stop());
  const encodeV2 = await v2Writer(stack, topics.activity);
  const env = pipelineEnv(stack, topics, await freePort(), {
    SCHEMA_REGISTRY_URL: url(),
    MAILBOX_RADAR_REGISTRY__RETRIES: '1',
    MAILBOX_RADAR_REGISTRY__MAX_OUTAGE: '2m',
  });
  const records = burst('outage', 20, Date.now() - minutes(30), 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-outage',
  });
  const p = await startReady(t, env);
  await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(0, 10));
  await waitFor(
    'half the burst',
    async () => (await metric(p, 'mailbox_radar_records_decoded_total')) === 10,
  );
  await proxy.stop();
  // The second half is written with a schema id the pipeline has not seen: it must ask the registry.
  await produceFramed(stack, topics.activity, records.slice(10), encodeV2);
  await waitFor(
    'the outage counted',
    async () => (await metric(p, 'mailbox_radar_registry_failures_total')) > 0,
  );
  const ready = await fetch(`http://127.0.0.1:${p.port}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /registry/i);
  await sleep(8_000); // longer than the client's own retries
  assert.equal(
    p.process.exitCode,
    null,
    `the pipeline must wait, not exit or loop:\n${p.output().slice(-2_000)}`,
  );
  await proxy.start();
  const alerts = await readAlerts(stack, topics, { want: 1, timeoutMs: 60_000, quietMs: 3_000 });
  assert.equal(alerts.length, 1, 'the alert once');
  assert.equal(alerts[0]!.alert.event_count, 20, 'no record lost');
  assert.equal(await metric(p, 'mailbox_radar_records_dead_lettered_total'), 0);
  await waitReady(p, 30_000);
  p.process.kill('SIGTERM');
  assert.equal(await p.exit, 0);
});

test('8.4: the registry gone for good: exit 1 with REGISTRY_UNAVAILABLE within registry.maxOutage', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const { proxy, url } = TcpProxy.forUrl(stack.registryUrl);
  await proxy.start();
  t.after(() => proxy.stop());
  const encodeV2 = await v2Writer(stack, topics.activity);
  const env = pipelineEnv(stack, topics, await freePort(), {
    SCHEMA_REGISTRY_URL: url(),
    MAILBOX_RADAR_REGISTRY__RETRIES: '1',
    MAILBOX_RADAR_REGISTRY__MAX_OUTAGE: '10s',
  });
  const p = await startReady(t, env);
  await proxy.stop();
  const stopped = Date.now();
  await produceFramed(stack, topics.activity, ownerNoise('gone', 5, Date.now() - minutes(5)), encodeV2);
  const code = await Promise.race([p.exit, sleep(60_000).then(() => 'still running')]);
  assert.equal(code, 1, `exit 1 expected, got ${code}:\n${p.output().slice(-2_000)}`);
  const elapsed = Date.now() - stopped;
  assert.ok(elapsed >= 10_000 && elapsed < 40_000, `exited after ${elapsed} ms (maxOutage 10 s)`);
  assert.match(p.output(), /REGISTRY_UNAVAILABLE/);
});

test('8.2: a record dated 2099 is dead-lettered as RECORD_FROM_FUTURE and does not silence detection', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const p = await startReady(t, pipelineEnv(stack, topics, await freePort()));
  const future = burst('future', 1, Date.UTC(2099, 0, 1), 0, {
    actor: 'clock@contoso.com',
    owner: 'someone@contoso.com',
    mailbox: 'mbx-future',
  });
  await produceActivity(stack, kafkaFor(stack), topics.activity, future);
  await waitFor(
    'the future record read',
    async () => (await metric(p, 'mailbox_radar_records_consumed_total')) === 1,
  );
  const records = burst('after-future', 20, Date.now() - minutes(30), 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-after-future',
  });
  await produceActivity(stack, kafkaFor(stack), topics.activity, records);
  const alerts = await readAlerts(stack, topics, { want: 1, timeoutMs: 30_000, quietMs: 2_000 });
  assert.equal(alerts.length, 1, 'the burst after it still alerts');
  assert.equal(alerts[0]!.alert.mailbox_guid, 'mbx-after-future');
  assert.equal(await metric(p, 'mailbox_radar_late_records_total'), 0);
  const dead = await readTopics(stack, [topics.deadLetter], { want: 1, timeoutMs: 20_000 });
  assert.equal(dead.length, 1);
  assert.equal(dead[0]!.message.headers?.[DeadLetterHeaders.code]?.toString(), 'RECORD_FROM_FUTURE');
  assert.match(p.output(), /"code":"RECORD_FROM_FUTURE"/);
  const rejected = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
  assert.match(rejected, /mailbox_radar_records_rejected_total\{code="RECORD_FROM_FUTURE"\} 1/);
  p.process.kill('SIGTERM');
  assert.equal(await p.exit, 0);
});

test('8.6: the registry refusing us (403) mid-run stops consumption like an outage: no dead letter, no loss', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const proxy = await startRegistryProxy(stack.registryUrl);
  t.after(() => proxy.close());
  const encodeV2 = await v2Writer(stack, topics.activity);
  const p = await startReady(
    t,
    pipelineEnv(stack, topics, await freePort(), {
      SCHEMA_REGISTRY_URL: proxy.url,
      MAILBOX_RADAR_REGISTRY__MAX_OUTAGE: '2m',
    }),
  );
  const records = burst('refused', 20, Date.now() - minutes(30), 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-refused',
  });
  await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(0, 10));
  await waitFor(
    'half the burst',
    async () => (await metric(p, 'mailbox_radar_records_decoded_total')) === 10,
  );
  proxy.intercept = () => ({
    status: 403,
    body: JSON.stringify({ error_code: 40301, message: 'forbidden' }),
  });
  await produceFramed(stack, topics.activity, records.slice(10), encodeV2);
  await waitFor(
    'the refusal counted',
    async () => (await metric(p, 'mailbox_radar_registry_failures_total')) > 0,
  );
  const ready = await fetch(`http://127.0.0.1:${p.port}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /REGISTRY_UNAUTHORIZED/);
  await sleep(3_000);
  assert.equal(await metric(p, 'mailbox_radar_records_dead_lettered_total'), 0, 'never a dead letter');
  assert.equal(p.process.exitCode, null);
  proxy.intercept = undefined; // credentials fixed
  const alerts = await readAlerts(stack, topics, { want: 1, timeoutMs: 60_000, quietMs: 3_000 });
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]!.alert.event_count, 20);
  assert.equal(await metric(p, 'mailbox_radar_records_dead_lettered_total'), 0);
  p.process.kill('SIGTERM');
  assert.equal(await p.exit, 0);
});
