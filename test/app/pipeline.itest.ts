import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { frame } from '../../src/kafka/avro-codec.js';
import { DeadLetterHeaders } from '../../src/kafka/dead-letter.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import { decodeCommitMetadata } from '../../src/kafka/watermarks.js';
import { activitySchema } from '../../src/model/schemas.js';
import { kafkaFor } from '../support/stack.js';
import { burst, fullActivity, minutes, ownerNoise, sweep } from '../support/records.js';
import {
  freePort,
  metric,
  pipelineEnv,
  pipelineTopics,
  produceActivity,
  readAlerts,
  readTopics,
  startPipeline,
  waitFor,
  startReady,
} from '../support/pipeline.js';
import { withBlockCount } from '../support/corrupt-avro.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const base = () => Date.now() - minutes(40); // well inside the 2 h lateness

test('bursts of all three rules plus noise give exactly the expected alerts on the right topics', async (t) => {
  const given = await pipelineTopics(t, 3);
  if (!given) return;
  const { stack, topics } = given;
  const start = base();
  const records = [
    ...ownerNoise('noise', 300, start),
    // non_owner_burst: 25 reads in 2.5 minutes, same domain.
    ...burst('nob', 25, start + minutes(1), 6_000, {
      actor: 'eve@contoso.com',
      owner: 'ceo@contoso.com',
      mailbox: 'mbx-ceo',
    }),
    // cross_domain_burst: 6 reads from another domain (below the non-owner threshold).
    ...burst('cdb', 6, start + minutes(2), 20_000, {
      actor: 'mallory@fabrikam.com',
      owner: 'cfo@contoso.com',
      mailbox: 'mbx-cfo',
    }),
    // mailbox_sweep: 12 distinct mailboxes, once each.
    ...sweep('swp', 12, start + minutes(3), 'trent@contoso.com'),
    // Slow drip, under every threshold.
    ...burst('drip', 8, start, minutes(4), {
      actor: 'bob@contoso.com',
      owner: 'alice@contoso.com',
      mailbox: 'mbx-alice',
    }),
  ];
  const pipeline = await startReady(t, pipelineEnv(stack, topics, await freePort()));
  await produceActivity(stack, kafkaFor(stack), topics.activity, records);

  const alerts = await readAlerts(stack, topics, { want: 3, timeoutMs: 30_000, quietMs: 3_000 });
  const byRule = Object.fromEntries(alerts.map((a) => [a.alert.rule, a]));
  assert.equal(alerts.length, 3, JSON.stringify(alerts.map((a) => [a.alert.rule, a.alert.actor_user_id])));
  assert.equal(byRule.non_owner_burst?.topic, topics.alerts.non_owner_burst);
  assert.equal(byRule.non_owner_burst?.alert.actor_user_id, 'eve@contoso.com');
  assert.equal(byRule.non_owner_burst?.alert.mailbox_guid, 'mbx-ceo');
  assert.equal(byRule.cross_domain_burst?.topic, topics.alerts.cross_domain_burst);
  assert.equal(byRule.cross_domain_burst?.alert.actor_domain, 'fabrikam.com');
  assert.equal(byRule.mailbox_sweep?.topic, topics.alerts.mailbox_sweep);
  assert.equal(byRule.mailbox_sweep?.alert.distinct_mailbox_count, 10);
  for (const a of alerts) assert.equal(a.key, a.alert.alert_id, 'message key is alert_id');

  assert.equal(await metric(pipeline, 'mailbox_radar_records_consumed_total'), records.length);
  assert.equal(await metric(pipeline, 'mailbox_radar_alerts_total'), 3);
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
});

test('poison records of each kind go to the dead-letter topic with headers; good records still alert', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const registry = new RegistryClient({ url: stack.registryUrl });
  const goodId = await registry.registerValueSchema(topics.activity, activitySchema);
  // A schema the reader cannot resolve (no field in common with the mandatory ones).
  const otherSchema = { type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] };
  const otherId = await registry.register(`${topics.activity}-other-value`, otherSchema);
  const good = fullActivity(1);
  const goodBytes = frame(goodId, avro.Type.forSchema(activitySchema as avro.Schema).toBuffer(good));
  const invalid = { ...fullActivity(2), id: '' }; // decodes, fails validation
  const poison = [
    {
      key: 'no-magic',
      value: Buffer.from('{"id":"json is not accepted on Kafka"}'),
      code: 'DECODE_NO_MAGIC_BYTE',
    },
    { key: 'unknown-id', value: frame(987_654, Buffer.from([2, 4, 6])), code: 'DECODE_UNKNOWN_SCHEMA' },
    { key: 'truncated', value: goodBytes.subarray(0, 40), code: 'DECODE_TRUNCATED' },
    { key: 'wrong-schema', value: frame(otherId, Buffer.from([2])), code: 'DECODE_INCOMPATIBLE_SCHEMA' },
    {
      // A corrupted array count: avsc alone ran out of heap on it (the process crashed on every restart).
      key: 'block-count',
      value: frame(
        goodId,
        withBlockCount(
          avro.Type.forSchema(activitySchema as avro.Schema),
          { ...fullActivity(3), folder_paths: ['Inbox'] },
          'folder_paths',
          2 ** 31,
        ),
      ),
      code: 'DECODE_CORRUPT',
    },
    {
      key: 'invalid',
      value: frame(goodId, avro.Type.forSchema(activitySchema as avro.Schema).toBuffer(invalid)),
      code: 'RECORD_INVALID',
    },
  ];
  // maxInFlightRecords 1: the poison batch's dead letters pause the consumer until they are acknowledged.
  const pipeline = await startReady(
    t,
    pipelineEnv(stack, topics, await freePort(), { MAILBOX_RADAR_PIPELINE__MAX_IN_FLIGHT_RECORDS: '1' }),
  );
  const producer = kafkaFor(stack).producer();
  await producer.connect();
  await producer.send({ topic: topics.activity, messages: poison.map(({ key, value }) => ({ key, value })) });
  await producer.disconnect();
  await produceActivity(stack, kafkaFor(stack), topics.activity, [
    ...burst('after-poison', 20, base(), 5_000, {
      actor: 'eve@contoso.com',
      owner: 'ceo@contoso.com',
      mailbox: 'mbx-1',
    }),
  ]);

  const dead = await readTopics(stack, [topics.deadLetter], {
    want: poison.length,
    timeoutMs: 30_000,
    quietMs: 1_000,
  });
  assert.equal(dead.length, poison.length);
  for (const p of poison) {
    const d = dead.find((m) => m.message.key?.toString() === p.key);
    assert.ok(d, `dead letter for ${p.key}`);
    const headers = d.message.headers ?? {};
    assert.equal(headers[DeadLetterHeaders.code]?.toString(), p.code, p.key);
    assert.ok((headers[DeadLetterHeaders.reason]?.toString() ?? '').length > 0);
    assert.equal(headers[DeadLetterHeaders.topic]?.toString(), topics.activity);
    assert.equal(headers[DeadLetterHeaders.partition]?.toString(), '0');
    assert.match(headers[DeadLetterHeaders.offset]?.toString() ?? '', /^\d+$/);
    assert.deepEqual(d.message.value, p.value, 'original bytes kept');
  }
  const alerts = await readAlerts(stack, topics, { want: 1, timeoutMs: 30_000 });
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]!.alert.rule, 'non_owner_burst');
  // Backpressure paused consumption and resumed it (a short pause is counted, not logged as a warning).
  assert.ok((await metric(pipeline, 'mailbox_radar_backpressure_pauses_total')) > 0);
  assert.doesNotMatch(pipeline.output(), /"msg":"paused: waiting for the broker to acknowledge"/);
  assert.equal(await metric(pipeline, 'mailbox_radar_records_dead_lettered_total'), poison.length);
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
});

test('SIGKILL in the middle of a burst: after a restart the alert is there, duplicates share alert_id', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics, admin } = given;
  const port = await freePort();
  const env = pipelineEnv(stack, topics, port);
  const records = burst('kill', 25, base(), 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-k',
  });
  // Owners reading their mail half an hour before the burst: no window needs them.
  const noise = ownerNoise('kill-noise', 50, base() - minutes(30));

  const first = await startReady(t, env);
  const consumed = async () => metric(first, 'mailbox_radar_records_consumed_total');
  // Where the committed state of the windows begins (commit metadata), and the committed offset.
  const committed = async () => {
    const partition = (await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.activity] }))[0]
      ?.partitions[0];
    return {
      offset: Number(partition?.offset),
      restoreFrom: decodeCommitMetadata(partition?.metadata).restoreFrom,
    };
  };
  await produceActivity(stack, kafkaFor(stack), topics.activity, noise);
  await waitFor('the noise consumed', async () => (await consumed()) === 50);
  await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(0, 12));
  await waitFor('half the burst consumed', async () => (await consumed()) === 62);
  // The commit goes where processing stands (62); the windows' state it names begins at the first burst
  // record (offset 50), whose window is open: a restart replays it from the windows' changelog.
  await waitFor('a commit up to the end', async () => (await committed()).offset === 62, 10_000);
  await new Promise((r) => setTimeout(r, 600)); // a few more commit intervals: it must stay there
  first.process.kill('SIGKILL');
  await first.exit;
  assert.deepEqual(
    await committed(),
    { offset: 62, restoreFrom: 50 },
    'the committed state never begins past a record an open window needs',
  );

  await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(12));
  const second = startPipeline(env);
  t.after(() => second.process.kill('SIGKILL'));
  const alerts = await readAlerts(stack, topics, { want: 1, timeoutMs: 60_000, quietMs: 3_000 });
  assert.ok(alerts.length >= 1, 'the burst was alerted after the restart');
  assert.equal(new Set(alerts.map((a) => a.alert.alert_id)).size, 1, 'any duplicate has the same alert_id');
  assert.equal(alerts[0]!.alert.rule, 'non_owner_burst');
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);
});

test('records written with a v2 writer schema (an extra field) are decoded and detected', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const registry = new RegistryClient({ url: stack.registryUrl });
  await registry.registerValueSchema(topics.activity, activitySchema);
  const v2Schema = {
    ...activitySchema,
    fields: [
      ...(activitySchema.fields as object[]),
      { name: 'x_later_field', type: ['null', 'string'], default: null },
    ],
  };
  const v2Id = await registry.registerValueSchema(topics.activity, v2Schema);
  const v2Type = avro.Type.forSchema(v2Schema as avro.Schema);
  const records = burst('v2', 20, base(), 3_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-v2',
  });
  const pipeline = await startReady(t, pipelineEnv(stack, topics, await freePort()));
  const producer = kafkaFor(stack).producer();
  await producer.connect();
  await producer.send({
    topic: topics.activity,
    messages: records.map((r) => ({
      key: r.mailbox_guid,
      value: frame(v2Id, v2Type.toBuffer({ ...r, x_later_field: 'x' })),
    })),
  });
  await producer.disconnect();
  const alerts = await readAlerts(stack, topics, { want: 1, timeoutMs: 30_000 });
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]!.alert.event_count, 20);
  assert.equal(await metric(pipeline, 'mailbox_radar_records_dead_lettered_total'), 0);
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
});

test('a bad config value stops start-up with exit code 2 and one clear message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'radar-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'detection:\n  rules:\n    nonOwnerBurst: { threshold: -3 }\n');
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config', file],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  assert.equal(result.status, 2, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /detection\.rules\.nonOwnerBurst\.threshold/);
  assert.match(lines[0]!, /-3/);
});

test('SIGTERM finishes cleanly and commits the offsets of records no window needs', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics, admin } = given;
  const pipeline = await startReady(
    t,
    pipelineEnv(stack, topics, await freePort(), { MAILBOX_RADAR_PIPELINE__COMMIT_INTERVAL_MS: '60000' }),
  );
  // Owners only: no window holds anything, so everything read may be committed.
  await produceActivity(stack, kafkaFor(stack), topics.activity, ownerNoise('term', 120, base()));
  await waitFor(
    'all consumed',
    async () => (await metric(pipeline, 'mailbox_radar_records_consumed_total')) === 120,
  );
  const started = Date.now();
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
  assert.ok(Date.now() - started < 30_000);
  assert.match(pipeline.output(), /"msg":"stopped"/);
  const committed = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.activity] });
  assert.equal(committed[0]?.partitions[0]?.offset, '120', 'final commit on SIGTERM');
});

test('an unreachable registry is retried with backoff, then start-up stops with a clear error and exit 1', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const env = pipelineEnv(stack, topics, await freePort(), {
    SCHEMA_REGISTRY_URL: `http://127.0.0.1:${await freePort()}`, // nothing listens there
    MAILBOX_RADAR_REGISTRY__RETRIES: '2',
  });
  const started = Date.now();
  const pipeline = startPipeline(env);
  t.after(() => pipeline.process.kill('SIGKILL'));
  assert.equal(await pipeline.exit, 1, pipeline.output());
  assert.ok(Date.now() - started >= 600, 'two retries with backoff (200 ms, 400 ms) before giving up');
  assert.match(pipeline.output(), /schema registry http:\/\/127\.0\.0\.1:\d+ unavailable: .* failed 3 times/);
  assert.match(pipeline.output(), /REGISTRY_UNAVAILABLE/);
});
