/**
 * The lazy restore (src/app/lazy-restore.ts) against the eager one and against no restart at all: over random
 * streams on two partitions, an instance stops at a random batch; one successor replays every changelog
 * entry at once (as `run` did before), another lets each mailbox wait until it is first needed. From there on
 * all three publish the same alert revisions, byte for byte, once those the first instance published before
 * the stop are dropped (what `run` does with the alert topics it reads back).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubTopology } from '../../src/app/sub-topology.js';
import { WaitingMailboxes } from '../../src/app/lazy-restore.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';
import type { DetectionConfig } from '../../src/detect/types.js';
import { activity, detection, numberedRead, seededRandom } from '../detect/helpers.js';

const MINUTE = 60_000;
const key = (alert: MailboxAccessAlert) => `${alert.alert_id}/${alert.revision ?? 0}`;
const text = (alerts: readonly MailboxAccessAlert[]) => alerts.map((a) => JSON.stringify(a)).sort();
const hooks = { onError: (error: unknown) => assert.fail(String(error)), onStats: () => undefined };

/** A changelog entry as `run` writes it, with the record it holds (decoding is not under test). */
interface Entry {
  partition: number;
  offset: number;
  watermark: number;
  time: number;
  mailbox: string;
  record: ExchangeMailboxActivity;
}

interface Batch {
  partition: number;
  first: number;
  records: ExchangeMailboxActivity[];
}

/** One instance's mailbox side, driven as `mailboxBatch` and `endBatch` drive it. */
class Instance {
  readonly sub: SubTopology;
  /** What each step (a batch, the end) published, in order. */
  readonly steps: MailboxAccessAlert[][] = [];
  private id = 0;

  constructor(config: DetectionConfig) {
    this.sub = new SubTopology('mailbox', 'activity', config, 30_000, hooks);
    this.sub.reset([0, 1]);
  }

  batch({ partition, first, records }: Batch, log?: Entry[]): void {
    const sub = this.sub;
    const watermark = sub.watermarks.watermark(0);
    sub.feedWatermark(watermark);
    records.forEach((record, i) => {
      if (!sub.watermarks.admit(partition, record.creation_time)) return;
      sub.wake(record);
      sub.feeding = partition;
      sub.core.input.next({ kind: 'record', record });
      sub.feeding = undefined;
      if (sub.forwarded.length > 0) {
        const mailbox = sub.forwarded[0]!.mailbox;
        log?.push({ partition, offset: first + i, watermark, time: record.creation_time, mailbox, record });
      }
      sub.forwarded.length = 0;
    });
    sub.watermarks.fetched(partition, false, 0);
    sub.checkpoint(0, ++this.id);
    this.steps.push(sub.takeAlerts());
  }

  end(): void {
    this.sub.feedWatermark(Number.POSITIVE_INFINITY);
    this.sub.core.input.next({ kind: 'checkpoint', id: ++this.id });
    this.steps.push(this.sub.takeAlerts());
  }

  /** Per step from `from` on, the alerts not in `published`, as text. */
  after(from: number, published: ReadonlySet<string>): string[][] {
    return this.steps.slice(from).map((alerts) => text(alerts.filter((a) => !published.has(key(a)))));
  }
}

const config = detection({
  // Long beside the windows and the stream, so that at a stop many mailboxes have all their entries within
  // it: they wait past the restore.
  allowedLateness: '10m',
  rules: {
    nonOwnerBurst: { threshold: 4, window: '1m' },
    crossDomainBurst: { threshold: 3, window: '1m' },
    firstAccess: { enabled: false }, // its state is in its stores, which the successors here do not restore
  },
});

test('a lazy restore publishes what an eager one does, and what no restart would have (200 random streams)', () => {
  const random = seededRandom(23);
  const start = Date.UTC(2026, 10, 2, 8);
  let compared = 0;
  let waitedForRecord = 0;
  let waitedForWatermark = 0;
  for (let round = 0; round < 200; round++) {
    const records: ExchangeMailboxActivity[] = [];
    // Twelve mailboxes read all along, and two read only within five minutes: once the stream has passed
    // them, nothing but the watermark replays their entries and closes their episodes.
    const quietFrom = start + Math.floor(random() * 15) * MINUTE;
    for (let i = 0; i < 300; i++) {
      const quiet = random() < 0.15;
      const mailbox = quiet ? 12 + Math.floor(random() * 2) : Math.floor(random() * 12);
      const actor = Math.floor(random() * 3);
      const time = quiet
        ? quietFrom + Math.floor(random() * 5 * MINUTE)
        : start + Math.floor(random() * 20) * MINUTE + Math.floor(random() * 75_000);
      const draw = random();
      const userId = actor === 2 ? 'mallory@fabrikam.com' : `reader${actor}@contoso.com`;
      records.push(
        numberedRead(mailbox, actor, userId, time, {
          is_throttled: draw < 0.01 ? true : null,
          ...(draw > 0.8
            ? {
                mail_access_type: 'Sync',
                folder_paths: [`/Inbox/f${Math.floor(random() * 12)}`],
                client_info_string: 'Client=REST',
              }
            : {}),
        }),
      );
    }
    // Arrival: by event time, each record up to 100 s later (within the lateness); a mailbox's records on
    // partition mailbox mod 2, in batches of up to 8 consecutive records of a partition.
    const arriving = records
      .map((record) => ({ record, at: record.creation_time + Math.floor(random() * 100_000) }))
      .sort((a, b) => a.at - b.at)
      .map((item) => item.record);
    const batches: Batch[] = [];
    const next = [0, 0];
    for (const record of arriving) {
      const partition = Number(record.mailbox_guid!.slice(4)) % 2;
      const last = batches[batches.length - 1];
      if (last?.partition === partition && last.records.length < 8) last.records.push(record);
      else batches.push({ partition, first: next[partition]!, records: [record] });
      next[partition]!++;
    }
    const cut = 1 + Math.floor(random() * (batches.length - 2));

    const before = new Instance(config);
    const log: Entry[] = [];
    for (const batch of batches.slice(0, cut)) before.batch(batch, log);
    const published = new Set(before.steps.flat().map(key));
    const streamTimes = [0, 1].map((p) => before.sub.watermarks.streamTime(p));

    // No restart: the same instance goes on.
    for (const batch of batches.slice(cut)) before.batch(batch);
    before.end();
    const going = before.after(cut, published);

    const successor = (lazy: boolean): string[][] => {
      const after = new Instance(config);
      const sub = after.sub;
      for (const p of [0, 1]) sub.watermarks.assign(p, 0, streamTimes[p]);
      if (lazy) {
        const records = new Map(log.map((e) => [`${e.partition}/${e.offset}`, e.record]));
        sub.decodeEntry = (entry) => records.get(`${entry.partition}/${entry.offset}`);
        for (const e of log) sub.waiting.add(e.mailbox, { ...e, value: null });
        for (const entries of sub.waiting.takeBefore(sub.watermark(0))) sub.replayMailbox(entries);
        waitedForWatermark += sub.waiting.size;
      } else {
        sub.replay(log, 0);
      }
      sub.checkpoint(0, 0);
      // The closes a restore's first watermark ends go out with the first batch's alerts.
      const restored = sub.takeAlerts();
      const waiting = sub.waiting.size;
      for (const batch of batches.slice(cut)) after.batch(batch);
      if (lazy && sub.waiting.size < waiting) waitedForRecord++;
      after.end();
      assert.equal(sub.waiting.size, 0, 'every mailbox replayed by the end');
      after.steps[0]!.unshift(...restored);
      return after.after(0, published);
    };
    const eager = successor(false);
    const lazy = successor(true);
    // Step by step: the same revisions in the same batch, not merely by the end.
    assert.deepEqual(eager, going, `round ${round}: the eager restore`);
    assert.deepEqual(lazy, going, `round ${round}: the lazy restore`);
    compared += going.flat().length;
  }
  assert.ok(compared > 500, `revisions compared: ${compared}`);
  assert.ok(waitedForRecord > 50, `rounds where a mailbox waited past the restore: ${waitedForRecord}`);
  assert.ok(waitedForWatermark > 50, `mailboxes left waiting at the restores: ${waitedForWatermark}`);
});

test("a waiting mailbox's entries hold the commit, as the records an eager restore holds do", () => {
  const sub = new SubTopology('mailbox', 'activity', config, 30_000, hooks);
  sub.reset([0]);
  const t = Date.UTC(2026, 10, 2, 8);
  sub.watermarks.assign(0, 0, t + 5 * MINUTE);
  const read = activity({ creation_time: t, mailbox_guid: 'mbx-1', user_id: 'reader@contoso.com' });
  // Restored: one entry at offset 3 (its mailbox waits), the commit at 10; then the stream goes on.
  sub.decodeEntry = () => read;
  sub.waiting.add('mbx-1', { partition: 0, offset: 3, time: t, value: null });
  sub.tracker.track(0, 3, 10, t, t + 5 * MINUTE, t + 5 * MINUTE, t, 0);
  sub.tracker.track(0, 10, 10, Number.NEGATIVE_INFINITY, t + 5 * MINUTE);
  sub.checkpoint(0, 1);
  assert.equal(sub.waiting.size, 1, 'the watermark (t − 5 min) has not reached its entry');
  sub.tracker.track(0, 10, 20, t + 9 * MINUTE, t + 5 * MINUTE, t + 9 * MINUTE, t + 9 * MINUTE, 0);
  sub.checkpoint(0, 2);
  assert.equal(sub.commitPoints()?.get(0)?.offset, 3, 'a restart must find the waiting entry again');
});

test('waiting mailboxes: taken by key or by their earliest entry, which the commit counts', () => {
  const waiting = new WaitingMailboxes();
  const entry = (time: number) => ({ partition: 0, offset: time, time, value: null });
  waiting.add('a', entry(50));
  waiting.add('b', entry(30));
  waiting.add('a', entry(20)); // fed later, earlier in event time
  waiting.add('c', entry(70));
  assert.equal(waiting.earliest(), 20);
  assert.equal(waiting.entries, 4);
  assert.deepEqual(
    waiting.take('a')?.map((e) => e.time),
    [50, 20],
    'in the order they were fed',
  );
  assert.equal(waiting.earliest(), 30, 'a taken: its heap items are stale');
  assert.deepEqual(
    waiting.takeBefore(70).map((list) => list.map((e) => e.time)),
    [[30]],
  );
  assert.equal(waiting.earliest(), 70);
  assert.equal(waiting.take('b'), undefined);
  assert.equal(waiting.entries, 1);
  waiting.clear();
  assert.equal(waiting.earliest(), Infinity);
  assert.equal(waiting.size, 0);
});
