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
