import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubTopology } from '../../src/app/sub-topology.js';
import { defaultConfig } from '../../src/config/load.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { burst, minutes, ownerNoise } from '../support/records.js';

const hooks = { onError: (error: unknown) => assert.fail(String(error)), onStats: () => undefined };

/** Feeds one batch of a partition as the pipeline does: records, the segment, a checkpoint. */
function batch(sub: SubTopology, first: number, records: ExchangeMailboxActivity[], id: number): void {
  const times = records.map((r) => r.creation_time);
  const before = sub.watermarks.streamTime(0);
  for (const record of records) {
    sub.watermarks.admit(0, record.creation_time);
    sub.core.input.next({ kind: 'record', record });
  }
  sub.watermarks.fetched(0, false, 0);
  sub.tracker.track(
    0,
    first,
    first + records.length,
    Math.max(...times),
    before,
    sub.watermarks.streamTime(0),
    Math.min(...times),
  );
  sub.checkpoint(0, id);
}

/**
 * 21 reads of one mailbox 5 s apart from `t` (a burst: one episode), and a cross-domain read of another
 * mailbox inside their span, which cross_domain_burst's windows hold 20 minutes (2T).
 */
function burstAndStray(t: number) {
  const reads = burst('episode', 21, t, 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-ceo',
  });
  const stray = burst('stray', 1, t + 50_000, 0, {
    actor: 'x@fabrikam.com',
    owner: 'cfo@contoso.com',
    mailbox: 'mbx-cfo',
  });
  return { reads, stray };
}

test('9/8.11: an alert whose episode has closed keeps a commit from landing inside its records', () => {
  const sub = new SubTopology('mailbox', 'activity', defaultConfig().detection, 30_000, hooks);
  sub.reset([0]);
  sub.watermarks.assign(0, 0);
  const t = Date.UTC(2026, 10, 1, 8);
  const { reads, stray } = burstAndStray(t);
  batch(sub, 0, reads.slice(0, 1), 1);
  batch(sub, 1, [...reads.slice(1), ...stray], 2);
  const alerts = sub.takeAlerts();
  assert.equal(alerts.length, 1);
  const held = sub.holdAlerts(alerts)!;
  held.done = true; // the broker acknowledged it
  // 2 h 8 min later: the episode (ended t + 100 s) has closed, the stray read is still held.
  batch(sub, 23, ownerNoise('later', 1, t + minutes(128)), 3);
  const point = sub.commitPoints()?.get(0);
  assert.equal(
    point?.offset,
    0,
    'a commit at offset 1 would make a restart re-read 20 of the 21 reads: a new burst',
  );
  // Once the stray read is freed and the next batch starts after the episode, the commit moves past it.
  batch(sub, 24, ownerNoise('much-later', 1, t + minutes(150)), 4);
  assert.equal(sub.commitPoints()?.get(0)?.offset, 25);
});

test('chaos seed mx0ccn9s: an episode rebuilt by a restore keeps a commit from landing inside its records, as a live one does', () => {
  // An instance restored a burst's 21 reads from the windows' changelog; the alert it rebuilt had been
  // published by the instance before, so the replay dropped it, and with it the hold a published alert
  // puts on the commit. Its next commit landed on the fifth read (where a chunk of replayed entries began,
  // after the episode had closed): the next instance rebuilt a burst from the other 17 and published it
  // under a new id.
  const sub = new SubTopology('mailbox', 'activity', defaultConfig().detection, 30_000, hooks);
  sub.reset([0]);
  const t = Date.UTC(2026, 10, 1, 8);
  sub.watermarks.assign(0, 0, t + 100_000);
  const { reads, stray } = burstAndStray(t);
  const entries = [...reads, ...stray].sort((a, b) => a.creation_time - b.creation_time);
  sub.replay(
    entries.map((record) => ({ partition: 0, watermark: t - minutes(120), record })),
    0,
  );
  sub.checkpoint(0, 1);
  // As applyRestore books the replayed entries: one tracker segment per chunk (here, per entry).
  entries.forEach((record, offset) =>
    sub.tracker.track(0, offset, offset + 1, record.creation_time, t, t, record.creation_time, 0),
  );
  sub.tracker.track(0, entries.length, entries.length, Number.NEGATIVE_INFINITY, t + 100_000);
  assert.deepEqual(sub.takeAlerts(), [], 'published before the restore: dropped');
  batch(sub, entries.length, ownerNoise('later', 1, t + minutes(128)), 2);
  assert.equal(
    sub.commitPoints()?.get(0)?.offset,
    0,
    'a commit inside the episode would make the next restart rebuild a burst from its tail: a new alert',
  );
  batch(sub, entries.length + 1, ownerNoise('much-later', 1, t + minutes(150)), 3);
  assert.equal(sub.commitPoints()?.get(0)?.offset, entries.length + 2);
});

test('8.11: a restore replays entries with the watermark they met, not past what the partitions now assigned allow', () => {
  // A chaos run: the instance before held partition 0 only (partition 1 sat with a killed member), so its
  // watermark left partition 1 out and its changelog entries carry 10:00. Its successor takes both; its
  // core's watermark never moves back, so replaying 10:00 dropped partition 1's reads from 01:00 on (616 of
  // them, and three expected alerts) — though each is well within its own partition's lateness.
  const sub = new SubTopology('mailbox', 'activity', defaultConfig().detection, 30_000, hooks);
  sub.reset([0, 1]);
  const noon = Date.UTC(2026, 10, 1, 12);
  sub.watermarks.assign(0, 0, noon);
  sub.watermarks.assign(1, 0, noon - minutes(12 * 60));
  const who = { actor: 'eve@contoso.com', owner: 'ceo@contoso.com', mailbox: 'mbx-ceo' };
  const [replayed] = burst('replayed', 1, noon, 0, who);
  sub.replay([{ partition: 0, watermark: noon - minutes(120), record: replayed! }], 0);
  const [read] = burst('partition-1', 1, noon - minutes(11 * 60), 0, { ...who, mailbox: 'mbx-cfo' });
  assert.ok(sub.watermarks.admit(1, read!.creation_time), 'within partition 1’s own lateness');
  sub.feeding = 1;
  sub.core.input.next({ kind: 'record', record: read! });
  sub.feeding = undefined;
  assert.equal(sub.forwarded.length, 1, 'the rules took it: not behind a watermark of partition 0 alone');
});

test("actor side: the core's watermark follows the markers' floor minus the lateness, never past a held record", () => {
  const detection = defaultConfig().detection; // lateness 2 h
  const sub = new SubTopology('actor', 'repartition', detection, 30_000, hooks, 2, 2);
  sub.reset([0, 1]);
  const t = Date.UTC(2026, 10, 1, 8);
  const h = 3_600_000;
  assert.equal(sub.watermark(0), Number.NEGATIVE_INFINITY, 'no markers yet');
  for (const partition of [0, 1]) {
    sub.order(partition).progressOf(0, t + 3 * h);
    sub.order(partition).progressOf(1, t + 5 * h);
  }
  assert.equal(sub.watermark(0), t + h, 'the least active source (3 h) minus 2 h');
  // Partition 1 holds a read back (source 1 idle, not yet vouched for): the watermark stays at or before it.
  const [read] = burst('held', 1, t + 90 * 60_000, 0, {
    actor: 'a@contoso.com',
    owner: 'b@contoso.com',
    mailbox: 'm',
  });
  sub.order(1).progressOf(1, Number.POSITIVE_INFINITY);
  assert.equal(sub.order(1).add(read!), false);
  for (const partition of [0, 1]) {
    sub.order(partition).progressOf(0, t + 6 * h);
    sub.order(partition).progressOf(1, Number.POSITIVE_INFINITY);
  }
  assert.equal(sub.watermark(0), t + 90 * 60_000, 'held back at the read (90 min), not at 6 h − 2 h');
  sub.order(1).progressOf(1, Number.POSITIVE_INFINITY);
  assert.deepEqual(
    sub
      .order(1)
      .release()
      .map((r) => r.id),
    [read!.id],
  );
  assert.equal(sub.watermark(0), t + 4 * h, 'released: source 0 (6 h) minus 2 h');
  assert.equal(sub.watermark(0), t + 4 * h);
});
