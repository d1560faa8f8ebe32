import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import {
  LogPositions,
  LogReplay,
  entryMessage,
  packEntries,
  packUnkeyedEntries,
  type LogWrite,
  replayOrder,
  restartMessage,
  type LogEntry,
} from '../../src/kafka/record-log.js';

let logOffset = 0;
/** A produced message as a consumer reads it back. */
function readBack(message: {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: unknown;
}): KafkaMessage {
  return {
    key: message.key === undefined || message.key === null ? null : Buffer.from(message.key),
    value: message.value === null ? null : Buffer.from(message.value),
    headers: message.headers as KafkaMessage['headers'],
    offset: String(logOffset++),
    timestamp: '0',
    attributes: 0,
  } as KafkaMessage;
}

const entry = (offset: number, watermark: number) =>
  readBack(entryMessage(0, offset, watermark, { key: null, value: Buffer.from(`record ${offset}`) }));

test('a restart marker supersedes the entries a previous owner wrote past its commit', () => {
  logOffset = 0;
  const replay = new LogReplay();
  // Owner 1 wrote entries for source offsets 3, 7, 9 and committed at 8; killed after writing 9.
  for (const offset of [3, 7, 9]) replay.add(entry(offset, 100));
  // Owner 2 resumes at 8: its marker, then 9 again and 12.
  replay.add(readBack(restartMessage(0, 8)));
  replay.add(entry(9, 200));
  replay.add(entry(12, 200));
  const entries = replay.between(0, 13);
  assert.deepEqual(
    entries.map((e) => [e.offset, e.watermark]),
    [
      [3, 100],
      [7, 100],
      [9, 200],
      [12, 200],
    ],
  );
  assert.equal(entries[0]!.value!.toString(), 'record 3');
  assert.deepEqual(
    replay.between(7, 12).map((e) => e.offset),
    [7, 9],
    'from where the state begins, up to the committed offset',
  );
});

test('an entry keeps a watermark of −∞ (nothing seen yet) through the header', () => {
  logOffset = 0;
  const replay = new LogReplay();
  replay.add(entry(0, Number.NEGATIVE_INFINITY));
  assert.equal(replay.between(0, 1)[0]!.watermark, Number.NEGATIVE_INFINITY);
});

test('replay order: by the watermark each record met, each partition in its own order', () => {
  const e = (offset: number, watermark: number): LogEntry => ({
    offset,
    watermark,
    value: null,
    logOffset: offset,
  });
  const order = replayOrder(
    new Map([
      [0, [e(1, 10), e(2, 30), e(3, 20)]], // 20 after 30: it met 30 already (the watermark never goes back)
      [1, [e(5, Number.NEGATIVE_INFINITY), e(6, 25)]],
    ]),
  );
  assert.deepEqual(
    order.map(({ partition, entry }) => `${partition}:${entry.offset}`),
    ['1:5', '0:1', '1:6', '0:2', '0:3'],
  );
});

test('log positions: the changelog offset where entries of source offsets ≥ R begin', () => {
  const positions = new LogPositions();
  assert.equal(positions.logOffsetFor(0, 0), undefined, 'nothing known');
  positions.endAt(0, 40);
  assert.equal(positions.logOffsetFor(0, 5), 40, 'no entries: the end seen at the restore');
  positions.written(0, [10, 12, 15], 40, 3);
  positions.written(0, [20], 44, 1); // a restart marker took 43
  assert.equal(positions.logOffsetFor(0, 11), 40, 'the start of the batch that holds offset 12');
  assert.equal(positions.logOffsetFor(0, 16), 44);
  assert.equal(positions.logOffsetFor(0, 12), 44, 'entries before the last R are forgotten');
  assert.equal(positions.logOffsetFor(0, 25), 45, 'past every entry: the end');
});

test('log positions: one pair of numbers per batch, and the forgotten ones let go', () => {
  const positions = new LogPositions();
  for (let batch = 0; batch < 5_000; batch++)
    positions.written(0, [batch * 10, batch * 10 + 5], batch * 2, 2);
  assert.equal(positions.logOffsetFor(0, 30_000), 6_000);
  assert.equal(positions.logOffsetFor(0, 30_006), 6_002, 'the batch whose last entry is ≥ R');
  assert.equal(positions.logOffsetFor(0, 49_996), 10_000, 'past every entry: the end');
  // Asked again for an earlier R (it never moves back in practice): the forgotten batches stay forgotten.
  assert.equal(positions.logOffsetFor(0, 0), 10_000);
});

const write = (offset: number, watermark: number, value: string | null): LogWrite => ({
  offset,
  watermark,
  value: value === null ? null : Buffer.from(value),
  time: Number.isFinite(watermark) ? watermark + offset : offset,
  mailbox: `mailbox-${offset % 3}`,
});

test('packed entries carry their event time and mailbox: a lazy restore groups them without decoding', () => {
  logOffset = 40;
  const written = [write(7, 1_000, 'a'), write(8, 1_000, 'b'), write(9, 2_000, 'c')];
  written[1]!.mailbox = 'c0000000-0000-4000-8000-00000000000é'; // not ASCII
  const replay = new LogReplay();
  for (const message of packEntries(0, written)) replay.add(readBack(message));
  assert.deepEqual(
    replay.between(0, 10).map((e) => [e.offset, e.time, e.mailbox]),
    written.map((w) => [w.offset, w.time, w.mailbox]),
  );
  assert.deepEqual(replay.problems, []);
});

test('entries packed by the version before (no time, no mailbox) still restore, without either', () => {
  logOffset = 0;
  const replay = new LogReplay();
  for (const message of packUnkeyedEntries(0, [write(3, 100, 'record 3')])) replay.add(readBack(message));
  for (const message of packEntries(0, [write(4, 100, 'record 4')])) replay.add(readBack(message));
  assert.deepEqual(
    replay.between(0, 10).map((e) => [e.offset, e.watermark, e.time, e.mailbox, e.value!.toString()]),
    [
      [3, 100, undefined, undefined, 'record 3'],
      [4, 100, 104, 'mailbox-1', 'record 4'],
    ],
  );
});

test('packed entries come back as written: offsets, watermarks (−∞ too), values (null too), in order', () => {
  logOffset = 100;
  const written = [
    write(7, Number.NEGATIVE_INFINITY, 'first'),
    write(8, 1_795_790_000_000, ''),
    write(2 ** 40, 1_795_790_000_001, null),
    write(2 ** 40 + 3, 1_795_790_000_001, 'x'.repeat(5_000)),
  ];
  const messages = packEntries(0, written);
  assert.equal(messages.length, 1, 'one message for a small batch');
  assert.equal(messages[0]!.key, null);
  const replay = new LogReplay();
  for (const message of messages) replay.add(readBack(message));
  const entries = replay.between(0, 2 ** 41);
  assert.deepEqual(
    entries.map((e) => [e.offset, e.watermark, e.value === null ? null : e.value.toString(), e.logOffset]),
    written.map((w) => [w.offset, w.watermark, w.value === null ? null : w.value.toString(), 100]),
  );
  assert.deepEqual(replay.problems, []);
});

test('packing splits at the size bound, keeps the order, and sends an entry over the bound alone', () => {
  logOffset = 0;
  const written = [
    write(1, 5, 'a'.repeat(40)),
    write(2, 5, 'b'.repeat(40)),
    write(3, 5, 'c'.repeat(400)), // over the bound by itself
    write(4, 5, 'd'.repeat(40)),
  ];
  const messages = packEntries(3, written, 200);
  assert.deepEqual(
    messages.map((m) => [m.partition, m.headers?.['radar.entries.keyed']]),
    [
      [3, '2'],
      [3, '1'],
      [3, '1'],
    ],
  );
  const replay = new LogReplay();
  for (const message of messages) replay.add(readBack(message));
  assert.deepEqual(
    replay.between(0, 10).map((e) => [e.offset, e.value!.toString()[0], e.logOffset]),
    [
      [1, 'a', 0],
      [2, 'b', 0],
      [3, 'c', 1],
      [4, 'd', 2],
    ],
  );
});

test('a changelog written before packing, then packed (an upgrade), restores as one sequence', () => {
  logOffset = 0;
  const replay = new LogReplay();
  replay.add(entry(3, 100));
  replay.add(entry(5, 100));
  replay.add(readBack(restartMessage(0, 5))); // the upgraded instance resumes at 5
  for (const message of packEntries(0, [write(5, 200, 'record 5'), write(6, 200, 'record 6')]))
    replay.add(readBack(message));
  assert.deepEqual(
    replay.between(0, 10).map((e) => [e.offset, e.watermark, e.value!.toString()]),
    [
      [3, 100, 'record 3'],
      [5, 200, 'record 5'],
      [6, 200, 'record 6'],
    ],
  );
});

test('a restart marker supersedes packed entries past the commit', () => {
  logOffset = 0;
  const replay = new LogReplay();
  for (const message of packEntries(0, [write(3, 1, 'a'), write(7, 1, 'b'), write(9, 1, 'c')]))
    replay.add(readBack(message));
  replay.add(readBack(restartMessage(0, 8)));
  for (const message of packEntries(0, [write(9, 2, 'c2')])) replay.add(readBack(message));
  assert.deepEqual(
    replay.between(0, 10).map((e) => [e.offset, e.value!.toString()]),
    [
      [3, 'a'],
      [7, 'b'],
      [9, 'c2'],
    ],
  );
});

test('a packed message that does not parse is named and left out; the others are restored', () => {
  logOffset = 10;
  const replay = new LogReplay();
  const [good] = packEntries(0, [write(1, 1, 'kept')]);
  const [bad] = packEntries(0, [write(2, 1, 'lost'), write(3, 1, 'lost too')]);
  const truncated = { ...bad!, value: (bad!.value as Buffer).subarray(0, 30) };
  const miscounted = { ...bad!, headers: { 'radar.entries.keyed': '3' } };
  replay.add(readBack(good!));
  replay.add(readBack(truncated));
  replay.add(readBack(miscounted));
  replay.add(readBack({ ...bad!, value: null }));
  for (const message of packEntries(0, [write(4, 1, 'after')])) replay.add(readBack(message));
  assert.deepEqual(
    replay.between(0, 10).map((e) => e.value!.toString()),
    ['kept', 'after'],
  );
  assert.equal(replay.problems.length, 3);
  assert.match(replay.problems[0]!, /offset 11 is truncated/);
  assert.match(replay.problems[1]!, /offset 12 holds 2 items; its header says 3/);
  assert.match(replay.problems[2]!, /offset 13 has no value/);
});

test('log positions count messages, not entries: a packed batch ends one past its last message', () => {
  const positions = new LogPositions();
  positions.written(0, [10, 12, 15], 40, 1);
  assert.equal(positions.logOffsetFor(0, 16), 41, 'the end: one message after 40');
});
