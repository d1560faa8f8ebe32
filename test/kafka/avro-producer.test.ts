import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Producer } from 'kafkajs';
import { generateActivity } from '../../bench/generate.js';
import { AvroTopicWriter } from '../../src/kafka/avro-producer.js';
import { frame } from '../../src/kafka/avro-codec.js';
import type { RegistryClient } from '../../src/kafka/registry.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activityDetectionSchema, activityDetectionType } from '../../src/model/schemas.js';

// encode() needs neither: it frames with the schema id it is given.
const writer = () =>
  new AvroTopicWriter<ExchangeMailboxActivity>(
    undefined as unknown as Producer,
    undefined as unknown as RegistryClient,
    'unused',
    activityDetectionType,
    activityDetectionSchema,
  );

test('encode gives the framed bytes of toBuffer, and earlier results stay intact as more are encoded', () => {
  const w = writer();
  const records = [...generateActivity({ records: 2_000, seed: 7 })];
  // One record far larger than a chunk (a long folder list), among the others.
  records[900] = { ...records[900]!, folder_paths: Array.from({ length: 4_000 }, (_, i) => `/Inbox/${i}`) };
  const encoded = records.map((r, i) => w.encode(1_000 + (i % 3), r));
  records.forEach((r, i) => {
    const expected = frame(1_000 + (i % 3), activityDetectionType.toBuffer(r));
    assert.ok(encoded[i]!.equals(expected), `record ${i} differs from frame(toBuffer)`);
  });
});

test('encoded records share their backing memory: one allocation a chunk, not one a record', () => {
  const w = writer();
  const records = [...generateActivity({ records: 200, seed: 3 })];
  const backing = new Set(records.map((r) => w.encode(1, r).buffer));
  assert.ok(backing.size <= 2, `200 records used ${backing.size} backing buffers`);
});
