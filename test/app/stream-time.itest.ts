/**
 * `mailbox_radar_partition_stream_time_seconds{topic,partition}`: each input partition's stream time (its
 * largest event time so far), which the dashboard turns into a watermark delay per partition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaFor } from '../support/stack.js';
import { minutes, ownerNoise } from '../support/records.js';
import {
  freePort,
  metric,
  pipelineEnv,
  pipelineTopics,
  produceActivity,
  waitFor,
  startReady,
} from '../support/pipeline.js';

test("a partition's stream time is its largest event time read, in seconds", async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const pipeline = await startReady(t, pipelineEnv(stack, topics, await freePort()));

  const records = ownerNoise('stream-time', 12, Date.now() - minutes(30));
  const latest = Math.max(...records.map((r) => r.creation_time));
  await produceActivity(stack, kafkaFor(stack), topics.activity, records);
  // The series is set once the batch is done (after the records are counted as consumed): wait for it.
  const series = `mailbox_radar_partition_stream_time_seconds{topic="${topics.activity}",partition="0"} `;
  let seen: string | undefined;
  await waitFor('the stream time of the partition', async () => {
    const text = await (await fetch(`http://127.0.0.1:${pipeline.port}/metrics`)).text();
    seen = text.split('\n').find((l) => l.startsWith(series));
    return seen !== undefined && (await metric(pipeline, 'mailbox_radar_records_consumed_total')) === 12;
  }).catch((error: Error) => assert.fail(`${error.message}; last seen: ${seen}`));
  assert.equal(Number(seen!.slice(seen!.lastIndexOf(' ') + 1)), latest / 1_000);
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
});
