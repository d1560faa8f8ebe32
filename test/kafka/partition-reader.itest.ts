/**
 * readRanges, the restore's reader: what it reads, and that a range emptied under it (another instance
 * purging a changelog partition this one now restores) ends the read instead of stalling it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin } from 'kafkajs';
import { readRanges } from '../../src/kafka/partition-reader.js';
import { createTopics, kafkaFor, requireStack, uniqueName } from '../support/stack.js';

async function fill(stack: Parameters<typeof kafkaFor>[0], topic: string, perPartition: number[]) {
  const producer = kafkaFor(stack).producer({ idempotent: true });
  await producer.connect();
  for (const [partition, n] of perPartition.entries())
    await producer.send({
      topic,
      messages: Array.from({ length: n }, (_, i) => ({ partition, value: `${partition}:${i}` })),
    });
  await producer.disconnect();
}

test('readRanges reads each range once, in offset order, and leaves other partitions out', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topic = uniqueName('ranges');
  const { admin, cleanup } = await createTopics(stack, [topic], 3);
  t.after(cleanup);
  await fill(stack, topic, [10, 10, 10]);
  const got: string[] = [];
  await readRanges(
    kafkaFor(stack),
    admin,
    [
      { topic, partition: 0, from: 3, to: 6 },
      { topic, partition: 2, from: 'earliest' },
    ],
    (_topic, _partition, message) => got.push(message.value!.toString()),
    { timeoutMs: 30_000 },
  );
  const want = [...['0:3', '0:4', '0:5'], ...Array.from({ length: 10 }, (_, i) => `2:${i}`)];
  assert.deepEqual([...got].sort(), [...want].sort());
  assert.deepEqual(
    got.filter((v) => v.startsWith('2:')),
    want.filter((v) => v.startsWith('2:')),
  );
});

test('a range whose records are deleted while the read begins ends the read (before, it waited for its timeout and failed the restore)', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topic = uniqueName('ranges-purged');
  const { admin, cleanup } = await createTopics(stack, [topic], 2);
  t.after(cleanup);
  await fill(stack, topic, [5, 20]);
  // The admin the reader uses is the real one; right after the reader has looked at the partitions'
  // offsets, partition 1 is purged up to its end, as the partition's previous owner does with a changelog.
  let purged = false;
  const racing = new Proxy(admin, {
    get(target, name, receiver) {
      if (name !== 'fetchTopicOffsets') return Reflect.get(target, name, receiver) as unknown;
      return async (t: string) => {
        const offsets = await target.fetchTopicOffsets(t);
        if (!purged) {
          purged = true;
          await target.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '20' }] });
        }
        return offsets;
      };
    },
  }) as Admin;
  const got: string[] = [];
  await readRanges(
    kafkaFor(stack),
    racing,
    [
      { topic, partition: 0, from: 'earliest' },
      { topic, partition: 1, from: 'earliest' },
    ],
    (_topic, _partition, message) => got.push(message.value!.toString()),
    { timeoutMs: 60_000 },
  );
  assert.ok(purged);
  assert.deepEqual(
    got.filter((v) => v.startsWith('0:')),
    ['0:0', '0:1', '0:2', '0:3', '0:4'],
  );
});
