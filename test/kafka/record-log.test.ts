import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import {
  LogPositions,
  LogReplay,
  entryMessage,
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
  positions.written(0, [10, 12, 15], 40);
  positions.written(0, [20], 44); // a restart marker took 43
  assert.equal(positions.logOffsetFor(0, 11), 40, 'the start of the batch that holds offset 12');
  assert.equal(positions.logOffsetFor(0, 16), 44);
  assert.equal(positions.logOffsetFor(0, 12), 44, 'entries before the last R are forgotten');
  assert.equal(positions.logOffsetFor(0, 25), 45, 'past every entry: the end');
});

test('log positions: one pair of numbers per batch, and the forgotten ones let go', () => {
  const positions = new LogPositions();
  for (let batch = 0; batch < 5_000; batch++) positions.written(0, [batch * 10, batch * 10 + 5], batch * 2);
  assert.equal(positions.logOffsetFor(0, 30_000), 6_000);
  assert.equal(positions.logOffsetFor(0, 30_006), 6_002, 'the batch whose last entry is ≥ R');
  assert.equal(positions.logOffsetFor(0, 49_996), 10_000, 'past every entry: the end');
  // Asked again for an earlier R (it never moves back in practice): the forgotten batches stay forgotten.
  assert.equal(positions.logOffsetFor(0, 0), 10_000);
});
