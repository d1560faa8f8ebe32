/**
 * Issue 15.5: metrics an operator can trust. `run` exposes fetch lag (records not yet fetched) and commit
 * lag (high watermark − the group's committed offset, what a restart reads again), and they differ exactly
 * when they should: caught up, yet an open window holds the commit back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopics, kafkaFor, requireStack } from '../support/stack.js';
import { burst, minutes, ownerNoise } from '../support/records.js';
import {
  allTopics,
  freePort,
  metric,
  pipelineEnv,
  produceActivity,
  startPipeline,
  uniqueTopics,
  waitFor,
  waitReady,
  type RunningPipeline,
} from '../support/pipeline.js';

/** One series of a metric, by its topic and partition labels (undefined when the series is absent). */
async function series(
  p: RunningPipeline,
  name: string,
  topic: string,
  partition: number,
): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{topic="${topic}",partition="${partition}"} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('15.5: fetch lag 0 once caught up; commit lag = high watermark − committed offset, held back by an open window', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topics = uniqueTopics();
  const { admin, cleanup } = await createTopics(stack, allTopics(topics), 1);
  t.after(cleanup);
  const pipeline = startPipeline(pipelineEnv(stack, topics, await freePort()));
  t.after(() => pipeline.process.kill('SIGKILL'));
  await waitReady(pipeline);

  // Offset 0: a non-owner read whose window stays open, so no commit passes it; then 10 owners' reads.
  const start = Date.now() - minutes(10);
  const open = burst('lag-open', 1, start, 0, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-lag',
  });
  await produceActivity(stack, kafkaFor(stack), topics.activity, [
    ...open,
    ...ownerNoise('lag-owner', 10, start),
  ]);
  await waitFor(
    'the 11 records consumed',
    async () => (await metric(pipeline, 'mailbox_radar_records_consumed_total')) === 11,
  );
  const committed = async () => {
    const [offsets] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.activity] });
    return Number(offsets?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
  };
  await waitFor('a commit on the activity partition', async () => (await committed()) >= 0);
  const [end] = await admin.fetchTopicOffsets(topics.activity);
  const high = Number(end!.high);
  assert.equal(high, 11);

  await waitFor('fetch lag 0: everything fetched', async () => {
    return (await series(pipeline, 'mailbox_radar_consumer_fetch_lag', topics.activity, 0)) === 0;
  });
  let seen: number | undefined;
  let want = -1;
  await waitFor('commit lag = high watermark − committed offset', async () => {
    want = high - (await committed());
    seen = await series(pipeline, 'mailbox_radar_consumer_commit_lag', topics.activity, 0);
    return seen === want;
  }).catch((error: Error) => assert.fail(`${error.message}: metric ${seen}, broker ${want}`));
  assert.ok(want > 0, `the open window holds the commit back (committed ${high - want} of ${high})`);
  // The HELP text says which lag is which.
  const text = await (await fetch(`http://127.0.0.1:${pipeline.port}/metrics`)).text();
  assert.match(text, /^# HELP mailbox_radar_consumer_commit_lag Commit lag/m);
  assert.doesNotMatch(text, /process_process/);
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
});
