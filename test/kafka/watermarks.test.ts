import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PartitionWatermarks,
  decodeCommitMetadata,
  decodeStreamTime,
  encodeCommitMetadata,
  encodeStreamTime,
} from '../../src/kafka/watermarks.js';

const H = 3_600_000;

/** Records of a partition in one batch, then the batch is done (`caughtUp`: it reached the log's end). */
function batch(w: PartitionWatermarks, partition: number, times: number[], now: number, caughtUp = true) {
  const admitted = times.map((t) => w.admit(partition, t));
  w.fetched(partition, caughtUp, now);
  return admitted;
}

test('the watermark is the slowest active partition minus the lateness', () => {
  const w = new PartitionWatermarks(2 * H, 30_000);
  batch(w, 0, [10 * H], 0);
  batch(w, 1, [5 * H], 0);
  assert.equal(w.watermark(1_000), 3 * H);
});

test('a caught-up partition silent for idleMs stops holding the watermark back', () => {
  const w = new PartitionWatermarks(2 * H, 30_000);
  batch(w, 0, [10 * H], 0);
  batch(w, 1, [5 * H], 0);
  batch(w, 0, [11 * H], 40_000);
  assert.equal(w.watermark(40_000), 9 * H, 'partition 1 silent for 40 s');
});

test('8.3: a partition that is behind (its fetch did not reach the end) is never idle', () => {
  const w = new PartitionWatermarks(2 * H, 30_000);
  batch(w, 0, [10 * H], 0);
  batch(w, 1, [5 * H], 0, false); // a backlog: more to read
  batch(w, 0, [11 * H], 120_000);
  assert.equal(w.watermark(120_000), 3 * H, 'the lagging partition still holds the watermark');
  assert.deepEqual(batch(w, 1, [4 * H], 121_000), [true], 'so its records are not late');
});

test('8.3: while the consumer is paused no partition becomes idle, and on resume silence counts anew', () => {
  const w = new PartitionWatermarks(2 * H, 30_000);
  batch(w, 0, [10 * H], 0);
  batch(w, 1, [5 * H], 0);
  w.pause();
  assert.equal(w.watermark(100_000), 3 * H, 'paused for 100 s: nobody is idle');
  w.resume(100_000);
  assert.equal(w.watermark(110_000), 3 * H);
  assert.equal(w.watermark(131_000), 8 * H, 'idle 31 s after the resume');
});

test('an assigned partition that never sent holds the watermark until it is found caught up and idle', () => {
  const w = new PartitionWatermarks(0, 30_000);
  w.assign(2, 0);
  batch(w, 0, [1_000], 0);
  assert.equal(w.watermark(40_000), Number.NEGATIVE_INFINITY, 'not known to be caught up');
  w.caughtUp(2);
  batch(w, 0, [2_000], 41_000);
  assert.equal(w.watermark(41_000), 2_000);
});

test('8.3: lateness is decided per partition against its own stream time, restored after a restart', () => {
  const before = new PartitionWatermarks(2 * H, 30_000);
  before.assign(0, 0);
  assert.deepEqual(batch(before, 0, [10 * H, 7 * H, 8.5 * H], 0), [true, false, true]);
  // A restart at the offset after the first record: its stream time comes back from the commit metadata.
  const after = new PartitionWatermarks(2 * H, 30_000);
  after.assign(0, 0, decodeStreamTime(encodeStreamTime(10 * H)));
  assert.deepEqual(batch(after, 0, [7 * H, 8.5 * H], 0), [false, true], 'the same verdicts');
  // Another partition far ahead changes nothing for this one.
  batch(after, 1, [50 * H], 0);
  assert.deepEqual(batch(after, 0, [8.1 * H], 0), [true]);
});

test('the watermark never moves back', () => {
  const w = new PartitionWatermarks(0, 30_000);
  batch(w, 0, [5_000], 0);
  assert.equal(w.watermark(0), 5_000);
  batch(w, 1, [1_000], 1);
  assert.equal(w.watermark(2), 5_000);
});

test('commit metadata: stream time round-trips; foreign or empty metadata is unknown', () => {
  assert.equal(decodeStreamTime(encodeStreamTime(1_700_000_000_000)), 1_700_000_000_000);
  assert.equal(decodeStreamTime(encodeStreamTime(Number.NEGATIVE_INFINITY)), Number.NEGATIVE_INFINITY);
  assert.equal(decodeStreamTime(''), Number.NEGATIVE_INFINITY);
  assert.equal(decodeStreamTime(null), Number.NEGATIVE_INFINITY);
  assert.equal(decodeStreamTime('kafka-streams-binary'), Number.NEGATIVE_INFINITY);
});

test('commit metadata: the actor side event order round-trips (idle +Infinity, nothing released); too large or malformed is left out', () => {
  const order = {
    progress: [
      [0, 1_700_000_000_000],
      [1, Number.POSITIVE_INFINITY],
    ] as [number, number][],
    released: Number.NEGATIVE_INFINITY,
  };
  const meta = decodeCommitMetadata(encodeCommitMetadata({ streamTime: 5, since: 7, order }));
  assert.deepEqual(meta, { streamTime: 5, since: 7, order });
  assert.deepEqual(
    decodeCommitMetadata(encodeCommitMetadata({ streamTime: 5, order, lazyUntil: 1_234 })),
    { streamTime: 5, order, lazyUntil: 1_234 },
    'where the lazy re-read may stop',
  );
  const released = { progress: [[2, 10]] as [number, number][], released: 9 };
  assert.deepEqual(
    decodeCommitMetadata(encodeCommitMetadata({ streamTime: 5, order: released })).order,
    released,
  );
  const huge = {
    progress: Array.from({ length: 500 }, (_, i) => [i, 1_700_000_000_000 + i] as [number, number]),
    released: 1,
  };
  const big = encodeCommitMetadata({ streamTime: 5, order: huge });
  assert.ok(big.length < 4_096, `${big.length} characters`);
  assert.equal(decodeCommitMetadata(big).order, undefined);
  for (const bad of [{ p: 'x' }, { p: [['a', 1]] }, { p: [[0, 'soon']] }, 3])
    assert.equal(decodeCommitMetadata(JSON.stringify({ v: 1, streamTime: 5, order: bad })).order, undefined);
});
