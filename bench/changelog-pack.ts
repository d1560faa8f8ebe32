/**
 * The windows' changelog's entries, one Kafka record each (the format before packing) against packed
 * (`packEntries`, up to 256 KiB a message), through kafkajs's own record-batch encoder and decoder: what
 * `run` pays per entry to produce it, and what a restore pays to read it back (decoding the fetched batch
 * and `LogReplay.add`). No broker: the protocol work only, on the bytes of generated activity records as the
 * activity topic carries them (framed Avro, about 500 bytes), in batches of 250 entries (a mailbox batch's
 * non-owner share).
 *
 *   node --import tsx bench/changelog-pack.ts [--entries 200000] [--runs 3]
 *
 * Writes .bench/changelog-pack.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { KafkaMessage, Message } from 'kafkajs';
import { frame } from '../src/kafka/avro-codec.js';
import { LogReplay, entryMessage, packEntries, type LogWrite } from '../src/kafka/record-log.js';
import { activityType } from '../src/model/schemas.js';
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
    key: Buffer.from(record.mailbox_guid ?? ''), // the one-record format keeps it as the message key
    value: frame(1, activityType.toBuffer(record)),
  });
}
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

const results: { run: number; format: string; encodeUs: number; decodeUs: number; bytesPerEntry: number }[] =
  [];
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
  JSON.stringify({ entries: total, batch: BATCH, valueBytes: writes[0]!.value!.length, results }, null, 2),
);
