/**
 * The lazy restore of the actor side (SubTopology.released) against the eager re-read and against no restart:
 * over random repartition partitions (accesses of five actors, one an app, from two mailbox partitions, with
 * their progress markers), an instance stops at a random batch; a successor re-reads the partition from the
 * committed offset with the event order committed there, either decoding and feeding every access (as `run`
 * did before) or letting the accesses released below `lazyUntil` wait for their actor. From the stop on, all
 * three publish the same alert revisions, batch by batch, once those published before the stop are dropped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubTopology, type OrderedAccess } from '../../src/app/sub-topology.js';
import { actorKey } from '../../src/detect/classify.js';
import { orderBatchAt, type OrderItem } from '../../src/detect/event-order.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';
import type { DetectionConfig } from '../../src/detect/types.js';
import { detection, numberedRead, seededRandom } from '../detect/helpers.js';

const MINUTE = 60_000;
const key = (alert: MailboxAccessAlert) => `${alert.alert_id}/${alert.revision ?? 0}`;
const text = (alerts: readonly MailboxAccessAlert[]) => alerts.map((a) => JSON.stringify(a)).sort();
const hooks = { onError: (error: unknown) => assert.fail(String(error)), onStats: () => undefined };

/** One item of the repartition partition, at its offset (its index). */
type Item =
  { kind: 'record'; record: ExchangeMailboxActivity } | { kind: 'progress'; source: number; time: number };

/** One instance's actor side, driven as `actorBatch` and `endBatch` drive it. */
class Instance {
  readonly sub: SubTopology;
  readonly steps: MailboxAccessAlert[][] = [];
  private id = 0;

  constructor(
    config: DetectionConfig,
    private readonly published: ReadonlySet<string> = new Set(),
  ) {
    this.sub = new SubTopology('actor', 'repartition', config, 30_000, hooks, 2, 2);
    this.sub.reset([0]);
  }

  /** Items [first, next) as one fetched batch; those below `lazyUntil` as `run` reads them on a restart. */
  batch(items: readonly Item[], first: number, next: number): void {
    const sub = this.sub;
    const order = sub.order(0);
    const lazyUntil = sub.lazyUntil.get(0) ?? Number.NEGATIVE_INFINITY;
    const orderBefore = order.state();
    const streamTimeBefore = sub.watermarks.streamTime(0);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    const ordered: OrderItem<OrderedAccess>[] = [];
    for (let at = first; at < next; at++) {
      const item = items[at]!;
      if (item.kind === 'progress') {
        ordered.push({ ...item, at });
        continue;
      }
      const record = item.record;
      min = Math.min(min, record.creation_time);
      max = Math.max(max, record.creation_time);
      const access: OrderedAccess =
        at < lazyUntil
          ? {
              lazy: true,
              creation_time: record.creation_time,
              id: record.id,
              actor: actorKey(record)!,
              partition: 0,
              offset: at,
              value: null,
            }
          : record;
      ordered.push({ kind: 'record', record: access, at });
    }
    orderBatchAt(order, ordered, (access, at) => sub.released(0, access, at));
    sub.watermarks.fetched(0, false, 0, max > Number.NEGATIVE_INFINITY);
    sub.tracker.track(0, first, next, max, streamTimeBefore, sub.watermarks.streamTime(0), min, 0, {
      before: orderBefore,
      after: order.state(),
    });
    sub.checkpoint(0, ++this.id);
    this.publish();
  }

  end(): void {
    this.sub.feedWatermark(Number.POSITIVE_INFINITY);
    this.sub.core.input.next({ kind: 'checkpoint', id: ++this.id });
    this.publish();
  }

  /**
   * As `publishInBackground`: the alerts published before the restart (`published`) dropped, holding the
   * commit as published ones; the others sent (and at once acknowledged), holding it too.
   */
  private publish(): void {
    const raised = this.sub.takeAlerts();
    this.sub.holdPublished(raised.filter((a) => this.published.has(key(a))));
    const held = this.sub.holdAlerts(raised.filter((a) => !this.published.has(key(a))));
    if (held !== undefined) held.done = true;
    this.steps.push(raised);
  }

  after(from: number, published: ReadonlySet<string>): string[][] {
    return this.steps.slice(from).map((alerts) => text(alerts.filter((a) => !published.has(key(a)))));
  }
}

const config = detection({
  allowedLateness: '10m',
  rules: {
    nonOwnerBurst: { enabled: false },
    crossDomainBurst: { enabled: false },
    bulkMailAccess: { enabled: false },
    firstAccess: { enabled: false },
    firstAppAccess: { enabled: false }, // its state is in its stores, which the successors here do not restore
    mailboxSweep: { threshold: 3, window: '2m' },
    appMailboxSweep: { threshold: 3, window: '2m' },
  },
});

/**
 * A repartition partition: accesses of five actors (the fifth an app) to ten mailboxes, each from mailbox
 * partition mailbox mod 2 in the order that partition read them (by event time, up to 40 s late), each
 * partition's progress marker behind every few of its accesses, the two interleaved at random; both idle at
 * the end (three markers each: past the grace).
 */
function partitionContent(random: () => number, start: number, quietFrom: number): Item[] {
  const sources: Item[][] = [[], []];
  const reads: { record: ExchangeMailboxActivity; arrival: number }[] = [];
  for (let i = 0; i < 160; i++) {
    const quiet = random() < 0.15; // an actor seen within a few minutes only: the watermark replays it
    const actor = quiet ? 3 : Math.floor(random() * 5) === 3 ? 0 : Math.floor(random() * 5);
    const mailbox = Math.floor(random() * 10);
    const time = quiet
      ? quietFrom + Math.floor(random() * 3 * MINUTE)
      : start + Math.floor(random() * 20) * MINUTE + Math.floor(random() * 50_000);
    const record =
      actor === 4
        ? numberedRead(mailbox, actor, 'app-principal', time, {
            user_type: 5,
            client_app_id: 'ABCD-APP',
            app_id: null,
          })
        : numberedRead(mailbox, actor, `reader${actor}@contoso.com`, time);
    reads.push({ record, arrival: time + Math.floor(random() * 40_000) });
  }
  reads.sort((a, b) => a.arrival - b.arrival);
  const streamTime = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const { record } of reads) {
    const source = Number(record.mailbox_guid!.slice(4)) % 2;
    sources[source]!.push({ kind: 'record', record });
    streamTime[source] = Math.max(streamTime[source]!, record.creation_time);
    if (random() < 0.3) sources[source]!.push({ kind: 'progress', source, time: streamTime[source]! });
  }
  for (const source of [0, 1])
    for (let i = 0; i < 3; i++) sources[source]!.push({ kind: 'progress', source, time: Infinity });
  const items: Item[] = [];
  const at = [0, 0];
  while (at[0]! < sources[0]!.length || at[1]! < sources[1]!.length) {
    const source = at[1]! >= sources[1]!.length || (at[0]! < sources[0]!.length && random() < 0.5) ? 0 : 1;
    items.push(sources[source]![at[source]!++]!);
  }
  return items;
}

test('a lazy re-read of the repartition topic publishes what an eager one does, and what no restart would have (200 random partitions)', () => {
  const random = seededRandom(41);
  const start = Date.UTC(2026, 10, 2, 8);
  let compared = 0;
  let waited = 0;
  let wokenByAccess = 0;
  for (let round = 0; round < 200; round++) {
    const items = partitionContent(random, start, start + Math.floor(random() * 16) * MINUTE);
    // Live: batches of 1 to 8 items.
    const cuts: number[] = [0];
    while (cuts[cuts.length - 1]! < items.length)
      cuts.push(Math.min(items.length, cuts[cuts.length - 1]! + 1 + Math.floor(random() * 8)));
    const stopAt = 1 + Math.floor(random() * (cuts.length - 2)); // batches [0, stopAt) before the stop
    const stop = cuts[stopAt]!;

    const before = new Instance(config);
    for (let b = 0; b < stopAt; b++) before.batch(items, cuts[b]!, cuts[b + 1]!);
    const published = new Set(before.steps.flat().map(key));
    const point = before.sub.commitPoints()!.get(0)!;
    assert.ok(point.offset <= stop);

    // No restart.
    for (let b = stopAt; b < cuts.length - 1; b++) before.batch(items, cuts[b]!, cuts[b + 1]!);
    before.end();
    const going = before.after(stopAt, published);

    const successor = (lazy: boolean): string[][] => {
      const after = new Instance(config, published);
      const sub = after.sub;
      sub.watermarks.assign(0, 0, point.streamTime);
      if (point.order !== undefined) sub.order(0).restore(point.order);
      if (lazy) {
        sub.lazyUntil.set(0, stop); // everything before the stop was acknowledged
        sub.decodeEntry = (entry) => (items[entry.offset] as { record: ExchangeMailboxActivity }).record;
      }
      // The re-read up to the stop in one fetch, then the batches as they came live.
      after.batch(items, point.offset, stop);
      const waiting = sub.waiting.entries;
      if (lazy) waited += waiting;
      for (let b = stopAt; b < cuts.length - 1; b++) {
        const actors = sub.waiting.size;
        after.batch(items, cuts[b]!, cuts[b + 1]!);
        if (lazy && sub.waiting.size < actors) wokenByAccess++;
      }
      after.end();
      assert.equal(sub.waiting.size, 0, 'every actor replayed by the end');
      assert.deepEqual(after.after(0, published)[0], [], `round ${round}: the re-read publishes nothing new`);
      return after.after(1, published);
    };
    const eager = successor(false);
    const lazy = successor(true);
    assert.deepEqual(eager, going, `round ${round}: the eager re-read`);
    assert.deepEqual(lazy, going, `round ${round}: the lazy re-read`);
    compared += going.flat().length;
  }
  assert.ok(compared > 300, `revisions compared: ${compared}`);
  assert.ok(waited > 2_000, `accesses left waiting by the re-reads: ${waited}`);
  assert.ok(wokenByAccess > 50, `batches that woke a waiting actor: ${wokenByAccess}`);
});

test('an access released at or past lazyUntil goes to the sweep at once, after its actor’s waiting ones', () => {
  const sub = new SubTopology('actor', 'repartition', config, 30_000, hooks, 1, 0);
  sub.reset([0]);
  const t = Date.UTC(2026, 10, 2, 8);
  const reads = [0, 1, 2].map((m) => numberedRead(m, 0, 'reader0@contoso.com', t + m * 1_000));
  sub.decodeEntry = (entry) => reads[entry.offset];
  sub.lazyUntil.set(0, 2);
  const lazy = (n: number): OrderedAccess => ({
    lazy: true,
    creation_time: reads[n]!.creation_time,
    id: reads[n]!.id,
    actor: 'reader0@contoso.com',
    partition: 0,
    offset: n,
    value: null,
  });
  sub.released(0, lazy(0), 0);
  sub.released(0, lazy(1), 1);
  assert.equal(sub.waiting.entries, 2, 'released below lazyUntil: waiting');
  assert.equal(sub.takeAlerts().length, 0);
  sub.released(0, lazy(2), 2); // held across the stop, released only now: decoded and fed
  assert.equal(sub.waiting.entries, 0, 'its actor woken first');
  const alerts = sub.takeAlerts();
  assert.equal(alerts.length, 1, 'three mailboxes: the sweep');
  assert.deepEqual(
    [...alerts[0]!.sample_record_ids],
    reads.map((r) => r.id),
  );
});
