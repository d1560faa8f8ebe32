/**
 * Issue 8: the delivery guarantees under the faults that broke them, against the real broker and registry.
 * Each test reproduces one fault with `mailbox-radar run` as a child process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin } from 'kafkajs';
import { createTopics, kafkaFor, requireStack } from '../support/stack.js';
import { burst, minutes, ownerNoise } from '../support/records.js';
import {
  allTopics,
  freePort,
  metric,
  pipelineEnv,
  produceActivity,
  readAlerts,
  sleep,
  startPipeline,
  uniqueTopics,
  waitFor,
  waitReady,
  type Topics,
} from '../support/pipeline.js';

async function committedOffsets(admin: Admin, topics: Topics): Promise<number[]> {
  const [offsets] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.activity] });
  return (offsets?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
}

test(
  '8.1: no commit passes a record an unacknowledged alert was built from; kill -9 then loses nothing',
  { todo: 'issue 8.1: red until the fix' },
  async (t) => {
    const stack = await requireStack(t);
    if (!stack) return;
    const topics = uniqueTopics();
    const { admin, cleanup } = await createTopics(stack, allTopics(topics), 1);
    t.after(cleanup);
    const env = pipelineEnv(stack, topics, await freePort());
    const start = Date.now() - minutes(200);
    const records = burst('unacked', 20, start, 5_000, {
      actor: 'eve@contoso.com',
      owner: 'ceo@contoso.com',
      mailbox: 'mbx-unacked',
    });
    // One owner record 2 h 20 min later: event time moves past the episode (lateness 2 h + T 5 min).
    const later = ownerNoise('unacked-later', 1, start + minutes(140));

    const first = startPipeline(env);
    t.after(() => first.process.kill('SIGKILL'));
    await waitReady(first);
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
    const [committed] = await committedOffsets(admin, topics);
    first.process.kill('SIGKILL');
    await first.exit;
    assert.ok(
      committed === undefined || committed <= 0,
      `committed ${committed}: past the burst's first record while its alert was unacknowledged`,
    );

    const second = startPipeline(env);
    t.after(() => second.process.kill('SIGKILL'));
    const alerts = await readAlerts(stack, topics, { want: 1, timeoutMs: 60_000, quietMs: 3_000 });
    assert.equal(alerts.length, 1, 'the alert comes after the restart, once');
    assert.equal(alerts[0]!.alert.rule, 'non_owner_burst');
    assert.equal(alerts[0]!.alert.event_count, 20);
    second.process.kill('SIGTERM');
    assert.equal(await second.exit, 0);
  },
);
