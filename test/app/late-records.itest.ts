/**
 * Issue 15.4: records a live `run` drops as late do not vanish into a metric: they are counted and told in
 * a rate-limited log line that says how many and how far behind they were.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaFor } from '../support/stack.js';
import { burst, minutes } from '../support/records.js';
import {
  freePort,
  metric,
  pipelineEnv,
  pipelineTopics,
  produceActivity,
  waitFor,
  startReady,
} from '../support/pipeline.js';

/** The pipeline's JSON log entries that tell records dropped as late. */
function lateLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => typeof entry.msg === 'string' && entry.msg.includes('dropped as late'));
}

test('15.4: records dropped as late are counted and told in a log line: how many, how far behind', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const env = pipelineEnv(stack, topics, await freePort(), { MAILBOX_RADAR_LOG__FORMAT: 'json' });
  const start = Date.now() - minutes(300);
  // One read 3 h after the burst moves the partition's stream time there: its bound is start + 1 h.
  const ahead = burst('late-log-ahead', 1, start + minutes(180), 0, {
    actor: 'mallory@contoso.com',
    owner: 'cfo@contoso.com',
    mailbox: 'mbx-ahead',
  });
  // 20 reads from start to start + 95 s: between 58 min 25 s and 1 h behind that bound.
  const late = burst('late-log', 20, start, 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-late',
  });

  const pipeline = await startReady(t, env);
  await produceActivity(stack, kafkaFor(stack), topics.activity, ahead);
  await waitFor(
    'the record ahead consumed',
    async () => (await metric(pipeline, 'mailbox_radar_records_consumed_total')) === 1,
  );
  await produceActivity(stack, kafkaFor(stack), topics.activity, late);
  await waitFor(
    'the burst counted as late',
    async () => (await metric(pipeline, 'mailbox_radar_late_records_total')) === 20,
  );
  // Told within the rate limit's interval (10 s) whatever the batches were.
  await waitFor(
    'the 20 told in the log',
    async () => lateLines(pipeline.output()).reduce((n, e) => n + Number(e.dropped), 0) === 20,
    30_000,
  );
  const lines = lateLines(pipeline.output());
  for (const line of lines) {
    assert.equal(line.level, 40, 'a warning');
    assert.equal(line.topic, topics.activity);
    assert.equal(line.partition, 0);
    assert.equal(line.bound, new Date(start + minutes(60)).toISOString());
    assert.equal(line.allowedLatenessMs, 2 * 3_600_000);
  }
  const behind = lines.map((line) => line.behindMs as { min: number; max: number });
  assert.equal(Math.max(...behind.map((b) => b.max)), minutes(60), 'the oldest: start, 1 h behind');
  assert.equal(Math.min(...behind.map((b) => b.min)), minutes(60) - 95_000, 'the newest: start + 95 s');
  const times = lines.map((line) => line.eventTimes as { oldest: string; newest: string });
  assert.equal(times.map((e) => e.oldest).sort()[0], new Date(start).toISOString());
  assert.equal(
    times
      .map((e) => e.newest)
      .sort()
      .at(-1),
    new Date(start + 95_000).toISOString(),
  );
  assert.equal(await metric(pipeline, 'mailbox_radar_alerts_total'), 0, 'and they raise nothing');
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
});
