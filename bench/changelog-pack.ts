/**
 * The windows' changelog's entries, one Kafka record each (the format before packing) against packed
 * (`packEntries`, up to 256 KiB a message), through kafkajs's own record-batch encoder and decoder: what
 * `run` pays per entry to produce it, and what a restore pays to read it back (decoding the fetched batch
 * and `LogReplay.add`). No broker: the protocol work only, on the bytes of generated activity records as the
 * activity topic carries them (framed Avro, about 500 bytes), in batches of 250 entries (a mailbox batch's
 * non-owner share).
 *
 * Also the repartition path's encoding, per access: the record in the detection schema, framed, then packed
 * per partition (`packRepartition`), with avsc's `toBuffer` and `frame` (a fresh buffer each, the way before)
 * against `AvroTopicWriter.encode` (views of shared chunks).
 *
 *   node --import tsx bench/changelog-pack.ts [--entries 200000] [--runs 3]
 *
 * Writes .bench/changelog-pack.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { KafkaMessage, Message } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { frame } from '../src/kafka/avro-codec.js';
import { AvroTopicWriter } from '../src/kafka/avro-producer.js';
import { LogReplay, entryMessage, packEntries, type LogWrite } from '../src/kafka/record-log.js';
import type { RegistryClient } from '../src/kafka/registry.js';
import { packRepartition } from '../src/kafka/repartition.js';
import type { ExchangeMailboxActivity } from '../src/model/activity.js';
import { activityDetectionSchema, activityDetectionType, activityType } from '../src/model/schemas.js';
import { generateActivity } from './generate.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}

// kafkajs's protocol modules, as its producer and consumer call them (not part of its public API).
const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (options: { records: Encoded[]; lastOffsetDelta: number }) => Promise<Encoded>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: {
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}) => Encoded;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<{ records: (KafkaMessage & { headers: Record<string, Buffer> })[] }>;

const total = Number(arg('--entries', '200000'));
const runs = Number(arg('--runs', '3'));
const BATCH = 250;
const writes: (LogWrite & { key: Buffer })[] = [];
let offset = 0;
for (const record of generateActivity({ records: total })) {
  writes.push({
    offset: offset++,
    watermark: record.creation_time - 7_200_000,
    time: record.creation_time,
    mailbox: record.mailbox_guid ?? '',
    key: Buffer.from(record.mailbox_guid ?? ''), // the one-record format keeps it as the message key
    value: frame(1, activityType.toBuffer(record)),
  });
}
const parsed = [...generateActivity({ records: total })];
const batches: (LogWrite & { key: Buffer })[][] = [];
for (let i = 0; i < writes.length; i += BATCH) batches.push(writes.slice(i, i + BATCH));

async function encode(messages: Message[]): Promise<Buffer> {
  const records = messages.map((m, i) =>
    Record({
      offsetDelta: i,
      key: (m.key as Buffer | null) ?? null,
      value: m.value as Buffer | null,
      headers: (m.headers ?? {}) as Record<string, string>,
    }),
  );
  return (await RecordBatch({ records, lastOffsetDelta: records.length - 1 })).buffer;
}

async function measure(packed: boolean): Promise<{ encodeUs: number; decodeUs: number; bytes: number }> {
  let bytes = 0;
  const encoded: Buffer[] = [];
  let started = process.hrtime.bigint();
  for (const batch of batches) {
    const messages = packed
      ? packEntries(0, batch)
      : batch.map((w) => entryMessage(0, w.offset, w.watermark, w));
    const buffer = await encode(messages);
    bytes += buffer.length;
    encoded.push(buffer);
  }
  const encodeNs = Number(process.hrtime.bigint() - started);
  const replay = new LogReplay();
  started = process.hrtime.bigint();
  for (const buffer of encoded) {
    const { records } = await decodeBatch(new Decoder(buffer));
    for (const message of records) replay.add(message);
  }
  const decodeNs = Number(process.hrtime.bigint() - started);
  const back = replay.between(0, total);
  if (back.length !== total || back[total - 1]!.value!.length !== writes[total - 1]!.value!.length)
    throw new Error(`read back ${back.length} of ${total} entries`);
  return { encodeUs: encodeNs / 1_000 / total, decodeUs: decodeNs / 1_000 / total, bytes };
}

/** µs per access to encode a batch's accesses and pack them for 3 repartition partitions. */
function measureRepartition(chunked: boolean): number {
  // encode() needs neither the producer nor the registry: it frames with the schema id it is given.
  const writer = new AvroTopicWriter<ExchangeMailboxActivity>(
    undefined as unknown as Producer,
    undefined as unknown as RegistryClient,
    'unused',
    activityDetectionType,
    activityDetectionSchema,
  );
  let packs = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < parsed.length; i += BATCH) {
    const onward: (Message & { record: ExchangeMailboxActivity })[] = [];
    for (let j = i; j < Math.min(i + BATCH, parsed.length); j++) {
      const record = parsed[j]!;
      onward.push({
        record,
        key: record.user_id,
        value: chunked ? writer.encode(1, record) : frame(1, activityDetectionType.toBuffer(record)),
      });
    }
    packs += packRepartition(onward, 3).length;
  }
  const ns = Number(process.hrtime.bigint() - started);
  if (packs === 0) throw new Error('nothing packed');
  return ns / 1_000 / total;
}

const results: { run: number; format: string; encodeUs: number; decodeUs: number; bytesPerEntry: number }[] =
  [];
const repartition: { run: number; encoding: string; encodeUs: number }[] = [];
for (let run = 1; run <= runs; run++)
  for (const chunked of [false, true]) {
    const row = {
      run,
      encoding: chunked ? 'AvroTopicWriter.encode (shared chunks)' : 'frame(toBuffer)',
      encodeUs: Number(measureRepartition(chunked).toFixed(2)),
    };
    repartition.push(row);
    console.log(JSON.stringify(row));
  }
for (let run = 1; run <= runs; run++)
  for (const packed of [false, true]) {
    const { encodeUs, decodeUs, bytes } = await measure(packed);
    const row = {
      run,
      format: packed ? 'packed' : 'one record each',
      encodeUs: Number(encodeUs.toFixed(2)),
      decodeUs: Number(decodeUs.toFixed(2)),
      bytesPerEntry: Math.round(bytes / total),
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
mkdirSync('.bench', { recursive: true });
writeFileSync(
  '.bench/changelog-pack.json',
  JSON.stringify(
    { entries: total, batch: BATCH, valueBytes: writes[0]!.value!.length, results, repartition },
    null,
    2,
  ),
);
