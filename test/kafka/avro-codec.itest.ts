import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { KafkaMessage } from 'kafkajs';
import { AvroCodec } from '../../src/kafka/avro-codec.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import { ACTIVITY_FIELDS, type ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activitySchema, activityType } from '../../src/model/schemas.js';
import { createTopics, kafkaFor, requireStack, uniqueName, type Stack } from '../support/stack.js';
import { fullActivity } from '../support/records.js';

async function consumeAll(stack: Stack, topic: string, count: number): Promise<KafkaMessage[]> {
  const consumer = kafkaFor(stack).consumer({ groupId: uniqueName('g') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const messages: KafkaMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`got ${messages.length} of ${count} messages`)),
        30_000,
      );
      void consumer.run({
        eachMessage: async ({ message }) => {
          messages.push(message);
          if (messages.length === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

test('activity records round-trip through the real broker and registry in Confluent framing', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topic = uniqueName('it.activity');
  const { cleanup } = await createTopics(stack, [topic]);
  t.after(cleanup);

  // Encode with the Confluent client library, decode with ours: the two agree on the wire format.
  const library = new SchemaRegistry({ host: stack.registryUrl });
  const { id } = await library.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(activitySchema) },
    { subject: `${topic}-value` },
  );
  const records = [
    fullActivity(1),
    fullActivity(2, { external_access: false, logon_type: 0, client_ip: '10.0.0.1:5000' }),
    // Every optional field null.
    {
      ...fullActivity(3),
      ...Object.fromEntries(
        ACTIVITY_FIELDS.filter(
          (f) =>
            ![
              'id',
              'record_type',
              'creation_time',
              'operation',
              'organization_id',
              'user_type',
              'user_key',
              'user_id',
              'client_ip',
            ].includes(f),
        ).map((f) => [f, null]),
      ),
    } as ExchangeMailboxActivity,
  ];
  const producer = kafkaFor(stack).producer({ idempotent: true });
  await producer.connect();
  t.after(() => producer.disconnect());
  await producer.send({
    topic,
    messages: await Promise.all(
      records.map(async (r) => ({ key: r.mailbox_guid ?? r.id, value: await library.encode(id, r) })),
    ),
  });

  const messages = await consumeAll(stack, topic, records.length);
  const codec = new AvroCodec<ExchangeMailboxActivity>(
    new RegistryClient({ url: stack.registryUrl }),
    activityType,
  );
  await codec.prepare(messages.map((m) => m.value));
  const decoded = messages.map((m) => codec.decode(m.value));
  decoded.sort((a, b) => a.creation_time - b.creation_time);
  assert.equal(decoded.length, 3);
  for (let i = 0; i < records.length; i++) {
    for (const field of ACTIVITY_FIELDS)
      assert.deepEqual(decoded[i]![field], records[i]![field] ?? null, `record ${i} field ${field}`);
    assert.equal(Object.keys(decoded[i]!).length, ACTIVITY_FIELDS.length);
  }
  // The library decodes them too (timestamp-millis as its logical type or a number, either way the same instant).
  const viaLibrary = await library.decode(messages[0]!.value!);
  assert.equal(typeof viaLibrary.id, 'string');
});

test('a record from a v2 writer schema with an extra field decodes with the v1 reader', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topic = uniqueName('it.activity-v2');
  const { cleanup } = await createTopics(stack, [topic]);
  t.after(cleanup);

  const library = new SchemaRegistry({ host: stack.registryUrl });
  const v1 = await library.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(activitySchema) },
    { subject: `${topic}-value` },
  );
  const fields = (activitySchema.fields as object[]).slice();
  fields.splice(5, 0, {
    name: 'app_access_context',
    type: ['null', 'string'],
    default: null,
    doc: 'added in v2',
  });
  fields.push({ name: 'later_field', type: 'string', default: '' });
  const v2Schema = { ...activitySchema, fields };
  const v2 = await library.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(v2Schema) },
    { subject: `${topic}-value` },
  );
  assert.notEqual(v2.id, v1.id, 'v2 is a new version of the subject');

  const record = { ...fullActivity(7), app_access_context: 'ctx-123', later_field: 's-9' };
  const producer = kafkaFor(stack).producer({ idempotent: true });
  await producer.connect();
  t.after(() => producer.disconnect());
  await producer.send({
    topic,
    messages: [{ key: record.mailbox_guid, value: await library.encode(v2.id, record) }],
  });

  const [message] = await consumeAll(stack, topic, 1);
  assert.equal(message!.value!.readUInt32BE(1), v2.id, 'written with the v2 schema id');
  const codec = new AvroCodec<ExchangeMailboxActivity>(
    new RegistryClient({ url: stack.registryUrl }),
    activityType,
  );
  await codec.prepare([message!.value]);
  const decoded = codec.decode(message!.value);
  assert.deepEqual({ ...decoded }, fullActivity(7));
  assert.equal('later_field' in decoded, false);
});
