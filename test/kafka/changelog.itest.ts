import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeMessage, readChangelog } from '../../src/kafka/changelog.js';
import { partitionOfKey } from '../../src/kafka/murmur2.js';
import { Partitioners } from 'kafkajs';
import { readTopics } from '../support/pipeline.js';
import { createTopics, kafkaFor, requireStack, uniqueName } from '../support/stack.js';

test('a changelog partition read back gives each key its latest value, tombstones removed, other partitions left out', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topic = uniqueName('changelog');
  const { admin, cleanup } = await createTopics(stack, [topic], 3);
  t.after(cleanup);
  const keys = Array.from({ length: 30 }, (_, i) => `app-${i}`);
  const producer = kafkaFor(stack).producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, messages: keys.map((k, i) => changeMessage(k, i, 3)) });
  await producer.send({ topic, messages: [changeMessage('app-1', 100, 3), changeMessage('app-2', null, 3)] });
  await producer.disconnect();

  const wanted = [0, 2];
  const state = await readChangelog(kafkaFor(stack), admin, topic, wanted);
  const expected = new Map<string, number>();
  keys.forEach((k, i) => {
    if (wanted.includes(partitionOfKey(k, 3)) && k !== 'app-2') expected.set(k, k === 'app-1' ? 100 : i);
  });
  assert.ok(expected.size > 0 && expected.size < 30, 'the keys spread over the partitions');
  assert.deepEqual(new Map([...state].sort()), new Map([...expected].sort()));
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
  assert.equal(
    groups.filter((g) => g.startsWith(`${topic}-restore-`)).length,
    0,
    'its restore group is gone',
  );
});

test('partitionOfKey is where the producer default partitioner puts a key (as on the repartition topic)', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topic = uniqueName('keyed');
  const { cleanup } = await createTopics(stack, [topic], 6);
  t.after(cleanup);
  const keys = Array.from({ length: 24 }, (_, i) => `actor${i}@contoso.com`);
  const producer = kafkaFor(stack).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const sent = await producer.send({ topic, messages: keys.map((key) => ({ key, value: key })) });
  await producer.disconnect();
  assert.ok(sent.length > 1);
  const got = await readTopics(stack, [topic], { want: keys.length });
  const where = new Map(got.map((m) => [m.message.key!.toString(), m.partition]));
  for (const key of keys) assert.equal(where.get(key), partitionOfKey(key, 6), key);
});
