/**
 * Issue 15.5: metrics an operator can trust. `run` exposes fetch lag (records not yet fetched) and commit
 * lag (high watermark − the group's committed offset, what a restart reads again), and they differ exactly
 * when they should: caught up, the activity topic's commit is at the end (its open windows come back from
 * the changelog), while the repartition topic's commit stays at the access an open sweep window needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repartitionTopic } from '../../src/kafka/repartition.js';
import { decodeCommitMetadata } from '../../src/kafka/watermarks.js';
import { kafkaFor } from '../support/stack.js';
import { burst, minutes, ownerNoise } from '../support/records.js';
import {
  freePort,
  metric,
  pipelineEnv,
  pipelineTopics,
  produceActivity,
  waitFor,
  type RunningPipeline,
  startReady,
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

test('15.5: fetch lag 0 once caught up; commit lag = high watermark − committed offset: 0 on the activity topic (the open window is in the changelog), held back on the repartition topic', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics, admin } = given;
  const pipeline = await startReady(t, pipelineEnv(stack, topics, await freePort()));

  // Offset 0: a non-owner read whose windows stay open (2 h of lateness); then 10 owners' reads.
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
  const commitOf = async (topic: string) => {
    const [offsets] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topic] });
    const partition = offsets?.partitions.find((p) => p.partition === 0);
    return { offset: Number(partition?.offset ?? -1), metadata: partition?.metadata ?? null };
  };
  const [end] = await admin.fetchTopicOffsets(topics.activity);
  const high = Number(end!.high);
  assert.equal(high, 11);
  await waitFor('fetch lag 0: everything fetched', async () => {
    return (await series(pipeline, 'mailbox_radar_consumer_fetch_lag', topics.activity, 0)) === 0;
  });

  // The activity topic: committed where processing stands (the end), the open window's record named in the
  // commit's metadata as where a restore replays the windows' changelog from; commit lag 0, as the broker says.
  let seen: number | undefined;
  let committed = -1;
  await waitFor('the activity commit at the end, commit lag 0', async () => {
    committed = (await commitOf(topics.activity)).offset;
    seen = await series(pipeline, 'mailbox_radar_consumer_commit_lag', topics.activity, 0);
    return committed === high && seen === 0;
  }).catch((error: Error) =>
    assert.fail(`${error.message}: metric ${seen}, committed ${committed} of ${high}`),
  );
  const meta = decodeCommitMetadata((await commitOf(topics.activity)).metadata);
  assert.equal(meta.restoreFrom, 0, 'the open window is restored from offset 0 of the activity topic');

  // The repartition topic: the actor side's commit stays at the open access; its commit lag is high − that.
  const repartition = repartitionTopic(topics.groupId);
  let lag: number | undefined;
  let bound = -1;
  let actorCommit = -1;
  await waitFor('the repartition commit held at the open access, commit lag > 0', async () => {
    actorCommit = (await commitOf(repartition)).offset;
    lag = await series(pipeline, 'mailbox_radar_consumer_commit_lag', repartition, 0);
    // Progress markers keep arriving behind the access: the metric's high watermark is at most the end now.
    bound = Number((await admin.fetchTopicOffsets(repartition))[0]!.high) - actorCommit;
    return actorCommit === 0 && lag !== undefined && lag > 0 && lag <= bound;
  }).catch((error: Error) =>
    assert.fail(`${error.message}: commit ${actorCommit}, metric ${lag}, high − commit ${bound}`),
  );
  // The HELP text says which lag is which.
  const text = await (await fetch(`http://127.0.0.1:${pipeline.port}/metrics`)).text();
  assert.match(text, /^# HELP mailbox_radar_consumer_commit_lag Commit lag/m);
  assert.doesNotMatch(text, /process_process/);
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
});

test('12: the actor side takes the accesses its own mailbox side wrote as that side holds them, not decoding them again', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const pipeline = await startReady(t, pipelineEnv(stack, topics, await freePort()));
  const start = Date.now() - minutes(30);
  // Five batches of non-owner reads, each written to the repartition topic and read back by this instance.
  for (let round = 0; round < 5; round++) {
    const reads = burst(`shared-${round}`, 10, start + round * minutes(1), 1_000, {
      actor: `reader${round}@contoso.com`,
      owner: 'cfo@contoso.com',
      mailbox: 'mbx-shared',
    });
    await produceActivity(stack, kafkaFor(stack), topics.activity, reads);
    await waitFor(
      `round ${round} read back from the repartition topic`,
      async () =>
        (await metric(pipeline, 'mailbox_radar_repartition_records_produced_total')) === 10 * (round + 1),
    );
  }
  let shared = 0;
  await waitFor('accesses taken as the mailbox side held them', async () => {
    shared = await metric(pipeline, 'mailbox_radar_repartition_accesses_shared_total');
    return shared > 0;
  });
  assert.ok(shared <= 50, `${shared} shared of 50 written`);
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
});
