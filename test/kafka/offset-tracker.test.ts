import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetTracker } from '../../src/kafka/offset-tracker.js';

test('commits past segments whose records are all older than what the core needs', () => {
  const t = new OffsetTracker();
  t.track(0, 0, 100, 1_000);
  t.track(0, 100, 200, 2_000);
  t.track(0, 200, 250, 3_000);
  assert.equal(t.committable(Number.NEGATIVE_INFINITY).get(0), 0, 'everything needed: commit nothing');
  assert.equal(t.committable(1_500).get(0), 100);
  assert.equal(t.committable(2_500).get(0), 200);
  assert.equal(
    t.committable(Number.POSITIVE_INFINITY).get(0),
    250,
    'nothing held: commit up to what was read',
  );
  assert.equal(t.size(), 0);
});

test('an out-of-order segment that is still needed holds back the later ones', () => {
  const t = new OffsetTracker();
  t.track(1, 10, 20, 5_000); // needed
  t.track(1, 20, 30, 100); // old, not needed, but after a needed one
  assert.equal(t.committable(1_000).get(1), 10);
});

test('partitions are independent and can be forgotten', () => {
  const t = new OffsetTracker();
  t.track(0, 0, 10, 100);
  t.track(1, 0, 10, 9_000);
  const c = t.committable(1_000);
  assert.equal(c.get(0), 10);
  assert.equal(c.get(1), 0);
  t.forget(1);
  assert.equal(t.committable(1_000).has(1), false);
});

test('memory is bounded by compaction of passed segments', () => {
  const t = new OffsetTracker();
  for (let i = 0; i < 10_000; i++) {
    t.track(0, i * 10, i * 10 + 10, i);
    t.committable(i - 5);
  }
  assert.ok(t.size() <= 6, `held ${t.size()} segments`);
  assert.equal(t.committable(Number.POSITIVE_INFINITY).get(0), 100_000);
});

test('commit points carry the stream time at the offset, and stop at a held offset', () => {
  const t = new OffsetTracker();
  t.track(0, 0, 10, 1_000, Number.NEGATIVE_INFINITY, 1_000, 500);
  t.track(0, 10, 20, 2_000, 1_000, 2_000, 1_500);
  t.track(0, 20, 30, 3_000, 2_000, 3_000, 2_500);
  assert.equal(t.peek(2_500).get(0), 2_500, 'peek: where it would stop, nothing dropped');
  assert.equal(
    t.peek(2_500, undefined, new Map([[0, 1_200]])).get(0),
    1_500,
    'a lower need for one partition',
  );
  const at20 = { offset: 20, streamTime: 2_000, minEventTime: 2_500, processedAt: Infinity };
  assert.deepEqual(t.commitPoints(2_500).get(0), at20);
  assert.deepEqual(t.commitPoints(Infinity, new Map([[0, 20]])).get(0), at20);
  assert.deepEqual(t.commitPoints(Infinity).get(0), {
    offset: 30,
    streamTime: 3_000,
    minEventTime: Infinity,
    processedAt: Infinity,
  });
});

test('8.1: an unacknowledged alert holds the commit at its first record, not at its batch', () => {
  // 19 burst records (offsets 0–18), the 20th (19) fires, then an owner record 2 h 20 min later (20).
  const t = new OffsetTracker();
  const start = 0;
  t.track(0, 0, 19, start + 18 * 5_000, -Infinity);
  t.track(0, 19, 20, start + 19 * 5_000, start + 18 * 5_000);
  t.track(0, 20, 21, start + 140 * 60_000, start + 19 * 5_000);
  // The episode is over (neededFrom moved on), but the alert's earliest record (start) is still held.
  const alertFirstSeen = start;
  const neededFrom = Math.min(start + 140 * 60_000 - 7_200_000, alertFirstSeen);
  assert.equal(t.commitPoints(neededFrom).get(0)?.offset, 0);
});

test("commit points carry the actor side's event order at their offset", () => {
  const tracker = new OffsetTracker();
  const at = (released: number) => ({ progress: [[0, released]] as [number, number][], released });
  tracker.track(0, 0, 10, 100, 0, 100, 50, 1, { before: at(1), after: at(2) });
  tracker.track(0, 10, 20, 200, 100, 200, 150, 2, { before: at(2), after: at(3) });
  assert.deepEqual(tracker.commitPoints(120).get(0)?.order, at(2), 'at the second segment: before it');
  assert.deepEqual(
    tracker.commitPoints(Number.POSITIVE_INFINITY).get(0)?.order,
    at(3),
    'nothing held: after',
  );
});
