/**
 * One sub-topology of `run`, as Kafka Streams splits an application: a source topic, the detection core
 * that its records feed, and the bookkeeping that decides what may be committed.
 *
 *   mailbox   activity topic (keyed by mailbox) → decode, classify, the per-mailbox rules; every non-owner
 *             access is also written to the repartition topic, keyed by actor
 *   actor     repartition topic (keyed by actor) → back into event-time order (EventOrder) → mailbox_sweep
 *
 * Each partition of a source topic is a task: its own stream time (restored from the commit metadata), its
 * own offsets. Every instance runs both sub-topologies; the consumer group spreads the partitions of both
 * topics over the instances.
 */
import { Subject, type Subscription } from 'rxjs';
import type { DetectionConfig } from '../config/types.js';
import { actorKey, mailboxKey } from '../detect/classify.js';
import { detect } from '../detect/detect.js';
import { EventOrder, type Ordered } from '../detect/event-order.js';
import { BLIND_STORE } from '../detect/bulk-mail-access.js';
import * as firstAccess from '../detect/first-access.js';
import { LEARNING_STORE, SEEN_STORE } from '../detect/first-app-access.js';
import type { Access, CoreInput, CoreOutput, CoreStats } from '../detect/types.js';
import { OffsetTracker, type CommitPoint } from '../kafka/offset-tracker.js';
import { LogPositions } from '../kafka/record-log.js';
import { PartitionWatermarks } from '../kafka/watermarks.js';
import { WaitingMailboxes, type WaitingEntry } from './lazy-restore.js';
import { StatePartitions } from './state-partitions.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import type { MailboxAccessAlert } from '../model/alert.js';

export type Role = 'mailbox' | 'actor';

/** Where each rule runs: keyed by mailbox, or by actor behind the repartition topic. */
export const RULE_ROLE: Record<keyof DetectionConfig['rules'], Role> = {
  nonOwnerBurst: 'mailbox',
  crossDomainBurst: 'mailbox',
  bulkMailAccess: 'mailbox',
  firstAccess: 'mailbox',
  mailboxSweep: 'actor',
  appMailboxSweep: 'actor',
  firstAppAccess: 'actor',
};

/**
 * The state stores behind each rule (changelog topics `<groupId>-<store>-changelog`). A `global` store is
 * tenant-wide (the start of first_app_access's learning): every instance restores all its partitions.
 */
export const RULE_STORES: Partial<
  Record<keyof DetectionConfig['rules'], { name: string; global: boolean }[]>
> = {
  firstAppAccess: [
    { name: SEEN_STORE, global: false },
    { name: LEARNING_STORE, global: true },
  ],
  bulkMailAccess: [{ name: BLIND_STORE, global: false }],
  // Partitioned like the activity topic (a mailbox's pairs go where its records come from); learning
  // starts once for the tenant.
  firstAccess: [
    { name: firstAccess.SEEN_STORE, global: false },
    { name: firstAccess.LEARNING_STORE, global: true },
  ],
};

/** A state change of the core, with the source partition of the record that caused it (if any). */
export interface Change {
  store: string;
  key: string;
  value: number | null;
  partition: number | undefined;
}

/** Whether any enabled rule needs the actor side (and so the repartition topic). */
export function needsActorSide(detection: DetectionConfig): boolean {
  return Object.entries(detection.rules).some(
    ([name, rule]) => rule.enabled && RULE_ROLE[name as keyof DetectionConfig['rules']] === 'actor',
  );
}

interface Core {
  input: Subject<CoreInput>;
  subscription: Subscription;
  alerts: MailboxAccessAlert[];
  changes: Change[];
  checkpoint: { watermark: number; neededFrom: number; stats: CoreStats } | undefined;
  reported: CoreStats | undefined;
}

/**
 * Actor side, on a restart's re-read: an access of a keyed pack not decoded (its time, id and actor come
 * with it, repartition.ts), as the event order holds it until it is released.
 */
export interface LazyAccess extends Ordered {
  readonly lazy: true;
  readonly actor: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: Buffer | null;
}

/** What the actor side's event order holds: a decoded access, or one left for later. */
export type OrderedAccess = ExchangeMailboxActivity | LazyAccess;

const isLazy = (access: OrderedAccess): access is LazyAccess => (access as LazyAccess).lazy === true;

/** Where processing of a partition stands: the next offset, and the stream time there. */
export interface Position {
  offset: number;
  streamTime: number;
}

/** Output held until the broker acknowledges it. */
interface Held {
  done: boolean;
}

export class SubTopology {
  readonly tracker = new OffsetTracker();
  readonly watermarks: PartitionWatermarks;
  core: Core;
  /** Offsets committed per partition since the last join. */
  committed = new Map<number, number>();
  /** The metadata of each partition's last commit (a commit goes out when only the metadata moved). */
  committedMeta = new Map<number, string>();
  /** Mailbox side: where the acknowledged entries of the windows' changelog went (record-log.ts). */
  readonly logPositions = new LogPositions();
  /** Mailbox side: the changelog offset each partition's last commit said its state begins at. */
  committedLog = new Map<number, number>();
  /**
   * Per partition, from the last restore: the records below `until` (the end offset then) may have been
   * processed before it, at `since` at the earliest; a commit short of `until` keeps that `since`, so the
   * next restore reads the alert topics back far enough.
   */
  sinceFloor = new Map<number, { until: number; since: number }>();
  /** Per partition, batches whose own output (dead letters, repartition records) is unacknowledged. */
  unacked = new Map<number, (Held & { first: number })[]>();
  /**
   * Alerts sent, by the earliest event time of the records they were built from (`from`). Until the broker
   * acknowledges one, no commit passes `from`. Afterwards its episode may still be open (the core holds
   * its start), and once it has closed a commit must not land *inside* it either: a restart would re-read
   * only its tail, which could make a burst of its own and a second alert under another id. So an
   * acknowledged alert whose episode closed keeps holding a partition at `from` until that partition's
   * commit point starts past the episode's end (`endBound`: the episode ended before watermark − T).
   */
  alertSpans: (Held & { from: number; endBound: number | undefined })[] = [];
  /**
   * Mailbox side: per unacknowledged publish, where processing stood before the records behind it. The
   * commit (where processing stands) never passes one: a restart replays the records before the commit
   * with their output dropped, so the records whose output may be lost are read again instead.
   */
  positionHolds: (Held & { positions: Map<number, Position> })[] = [];
  partitions: number[] = [];
  /** The partitions assigned, as a set (kept at each join). */
  reads: ReadonlySet<number> = new Set();
  awaitingFirstFetch = new Set<number>();
  /** Actor role: per repartition partition, records waiting for every mailbox partition to pass them. */
  readonly orders = new Map<number, EventOrder<OrderedAccess>>();
  /**
   * Actor side, after a restore: per repartition partition, the offset below which every access the event
   * order released was processed, and its output acknowledged, before the last commit (commit metadata
   * `lazyUntil`). The re-read lets those wait for their actor (`waiting`) instead of decoding them.
   */
  readonly lazyUntil = new Map<number, number>();
  private readonly detection: DetectionConfig;
  /** The stores of this side's enabled rules. */
  readonly stores: { name: string; global: boolean }[];
  /**
   * Mailbox side: the accesses the core admitted to its rules for the record being fed (taken by the
   * pipeline: the non-owner and app ones go on to the repartition topic, and the record to the windows'
   * changelog).
   */
  readonly forwarded: Access[] = [];
  /** The source partition of the record being fed, so its state changes go to that changelog partition. */
  feeding: number | undefined;
  /**
   * After a lazy restore: the entries not replayed yet, by key (lazy-restore.ts) — on the mailbox side the
   * windows' changelog entries by mailbox, on the actor side the re-read's accesses by actor — and how to
   * decode one (undefined: it no longer decodes, and is left out).
   */
  readonly waiting = new WaitingMailboxes();
  decodeEntry: (entry: WaitingEntry) => ExchangeMailboxActivity | undefined = () => undefined;

  /** Mailbox side: where the changes made without a record (expiries) go (state-partitions.ts). */
  private readonly statePartitions = new StatePartitions();
  /** Actor side: the core's watermark so far (see `watermark`). */
  private actorWatermark = Number.NEGATIVE_INFINITY;
  private readonly allowedLatenessMs: number;
  /** The shortest window of any rule: an episode that closed ended before watermark − its rule's T. */
  private readonly shortestWindowMs: number;

  constructor(
    readonly role: Role,
    readonly topic: string,
    detection: DetectionConfig,
    idleMs: number,
    private readonly hooks: {
      onError: (error: unknown) => void;
      onStats: (sub: SubTopology, stats: CoreStats, watermark: number) => void;
    },
    /** Actor role: how many mailbox partitions feed each repartition partition. */
    readonly sources = 0,
    /** Actor role: idle markers an idle mailbox partition sends before it vouches for a record. */
    private readonly graceMarkers = 0,
  ) {
    // Each rule runs where its key's records are: per mailbox on the activity side, per actor (user or
    // app) behind the repartition.
    const rules = Object.fromEntries(
      Object.entries(detection.rules).map(([name, rule]) => [
        name,
        RULE_ROLE[name as keyof DetectionConfig['rules']] === role ? rule : { ...rule, enabled: false },
      ]),
    ) as unknown as DetectionConfig['rules'];
    this.detection = { ...detection, rules };
    this.stores = Object.entries(rules).flatMap(([name, rule]) =>
      rule.enabled ? (RULE_STORES[name as keyof DetectionConfig['rules']] ?? []) : [],
    );
    this.watermarks = new PartitionWatermarks(detection.allowedLatenessMs, idleMs);
    this.allowedLatenessMs = detection.allowedLatenessMs;
    this.shortestWindowMs = Math.min(
      ...Object.values(detection.rules).map((rule) =>
        'windowMs' in rule ? (rule.windowMs as number) : Number.POSITIVE_INFINITY,
      ),
    );
    this.core = this.newCore();
  }

  /** After a join: everything starts over for the partitions now assigned. */
  reset(partitions: number[]): void {
    this.core.subscription.unsubscribe();
    this.core = this.newCore();
    this.forwarded.length = 0;
    this.tracker.clear();
    this.watermarks.clear();
    this.committed = new Map();
    this.positionHolds = [];
    this.committedMeta = new Map();
    this.committedLog = new Map();
    this.sinceFloor = new Map();
    this.logPositions.clear();
    this.unacked = new Map();
    this.alertSpans = [];
    this.orders.clear();
    this.lazyUntil.clear();
    this.actorWatermark = Number.NEGATIVE_INFINITY;
    this.statePartitions.clear();
    this.waiting.clear();
    this.partitions = partitions;
    this.reads = new Set(partitions);
    this.awaitingFirstFetch = new Set(partitions);
  }

  order(partition: number): EventOrder<OrderedAccess> {
    let order = this.orders.get(partition);
    if (order === undefined) {
      order = new EventOrder<OrderedAccess>(this.sources, this.graceMarkers);
      this.orders.set(partition, order);
    }
    return order;
  }

  /**
   * Records processed before the last commit, back from the windows' changelog, each with the watermark it
   * met then: through the core again to rebuild its state. What the core outputs was published before that
   * commit, and is dropped.
   */
  replay(
    items: readonly { partition: number; watermark: number; record: ExchangeMailboxActivity }[],
    now: number,
  ): void {
    const input = this.core.input;
    // The watermark each entry met, but no further than the partitions now assigned allow (their restored
    // stream times): an entry written while the instance before held fewer partitions met a watermark that
    // left the others out, and the core's watermark never moves back — a partition taken over behind the
    // others would have its records dropped as behind it, though within its own partition's lateness.
    const cap = this.watermarks.watermark(now);
    for (const item of items) {
      const watermark = Math.min(item.watermark, cap);
      if (Number.isFinite(watermark)) this.feedWatermark(watermark);
      this.feeding = item.partition;
      input.next({ kind: 'record', record: item.record, replayed: true });
      this.feeding = undefined;
      this.forwarded.length = 0;
    }
    // Published before the restore, so dropped; but each still holds the commit off its episode's records
    // once the episode has closed, as the alert did when it was published (`commitPoints`).
    this.holdPublished(this.core.alerts.splice(0));
    this.core.changes.length = 0;
  }

  /** Feed the watermark and a checkpoint marker; the core answers synchronously. */
  checkpoint(now: number, id: number): void {
    this.feedWatermark(this.watermark(now));
    this.core.input.next({ kind: 'checkpoint', id });
  }

  /**
   * Feeds the core a watermark; first the waiting mailboxes (lazy restore) whose state it would change: those
   * with an entry before it.
   */
  feedWatermark(time: number): void {
    if (this.waiting.size > 0)
      for (const entries of this.waiting.takeBefore(time)) this.replayMailbox(entries);
    this.core.input.next({ kind: 'watermark', time });
  }

  /**
   * Before a live record goes to the core: its mailbox's waiting entries (lazy restore) first. What of them
   * the watermark has passed is freed, and the episodes it ended close, at the next watermark: the record
   * (on time) reaches none of it, and a close says the same whenever it is built.
   */
  wake(record: ExchangeMailboxActivity): void {
    if (this.waiting.size === 0) return;
    const key = this.role === 'mailbox' ? mailboxKey(record) : actorKey(record);
    const entries = key === null ? undefined : this.waiting.take(key);
    if (entries !== undefined) this.replayMailbox(entries);
  }

  /**
   * Actor side: an access the event order released at offset `at` of `partition` (the marker that completed
   * it, or its own offset when it went at once). Released below `lazyUntil`, it was released there before
   * the restart too, and everything it caused is acknowledged: it waits for its actor, undecoded, as the
   * mailbox side's restored entries wait for their mailbox. Otherwise it goes to the sweep, after its
   * actor's waiting accesses.
   */
  released(partition: number, access: OrderedAccess, at: number): void {
    this.watermarks.observe(partition, access.creation_time);
    let record: ExchangeMailboxActivity | undefined;
    if (isLazy(access)) {
      const entry = { partition, offset: access.offset, time: access.creation_time, value: access.value };
      if (at < (this.lazyUntil.get(partition) ?? Number.NEGATIVE_INFINITY)) {
        this.waiting.add(access.actor, entry);
        return;
      }
      record = this.decodeEntry(entry);
      if (record === undefined) return;
    } else record = access;
    this.wake(record);
    this.feeding = partition;
    this.core.input.next({ kind: 'record', record });
    this.feeding = undefined;
  }

  /**
   * One mailbox's entries through the core, all at once and never late (they were admitted the first time).
   * What that outputs was published before the restore, as an eager replay's was: dropped, the alerts
   * holding the commit (`holdPublished`); what the core had gathered before stays for the caller.
   */
  replayMailbox(entries: readonly WaitingEntry[]): void {
    if (this.role === 'actor') return this.replayActor(entries);
    const core = this.core;
    const alerts = core.alerts.length;
    const changes = core.changes.length;
    const forwarded = this.forwarded.length;
    const feeding = this.feeding;
    for (const entry of entries) {
      const record = this.decodeEntry(entry);
      if (record === undefined) continue;
      this.feeding = entry.partition;
      core.input.next({ kind: 'record', record, replayed: true });
    }
    this.feeding = feeding;
    this.forwarded.length = forwarded;
    this.holdPublished(core.alerts.splice(alerts));
    core.changes.length = changes;
  }

  /**
   * Actor side: one actor's waiting accesses through the sweep, in the order the event order released them,
   * as the re-read would have fed them (a core fed one actor's accesses alone gives that actor's alerts,
   * test/detect/per-key.test.ts). Their alerts and state changes go out as the re-read's would have: an
   * alert published before is dropped by the alert topics' read-back (`Pipeline.unpublished`), holding the
   * commit as a published one.
   */
  private replayActor(entries: readonly WaitingEntry[]): void {
    const feeding = this.feeding;
    for (const entry of entries) {
      const record = this.decodeEntry(entry);
      if (record === undefined) continue;
      this.feeding = entry.partition;
      this.core.input.next({ kind: 'record', record });
    }
    this.feeding = feeding;
  }

  /**
   * The core's watermark. Mailbox side: the partitions' stream times (`PartitionWatermarks`). Actor side:
   * the least floor of the repartition partitions' event orders (the mailbox partitions' progress as their
   * markers on each tell it), minus the lateness, and no later than a record they still hold back; never
   * back. Each partition's records go to the core on that partition's markers, not in one order across
   * partitions, so a watermark led by the records of one partition would run ahead of those another has yet
   * to release; the markers' floor never does.
   */
  watermark(now: number): number {
    if (this.role !== 'actor') return this.watermarks.watermark(now);
    let floor = Number.POSITIVE_INFINITY;
    let held = Number.POSITIVE_INFINITY;
    for (const partition of this.partitions) {
      const order = this.order(partition);
      floor = Math.min(floor, order.floor());
      held = Math.min(held, order.heldFrom());
    }
    // Nor past a record a partition still holds back: its window reaches back T from it.
    const candidate = Math.min(floor - this.allowedLatenessMs, held);
    if (floor !== Number.POSITIVE_INFINITY && candidate > this.actorWatermark)
      this.actorWatermark = candidate;
    return this.actorWatermark;
  }

  /** Alerts gathered since the last call. */
  takeAlerts(): MailboxAccessAlert[] {
    return this.core.alerts.splice(0);
  }

  /** State changes gathered since the last call. */
  takeChanges(): Change[] {
    return this.core.changes.splice(0);
  }

  /** Holds every partition's commit at the earliest record these alerts were built from, until `done`. */
  holdAlerts(alerts: readonly MailboxAccessAlert[]): Held | undefined {
    if (alerts.length === 0) return undefined;
    let from = Number.POSITIVE_INFINITY;
    for (const alert of alerts) if (alert.first_seen < from) from = alert.first_seen;
    const held = { from, done: false, endBound: undefined };
    this.alertSpans.push(held);
    return held;
  }

  /**
   * Alerts raised again but published before (a restore's replay, a re-read after the last commit): not
   * sent, yet each holds the commit like a published one (`holdAlerts`, already acknowledged). Without it a
   * commit could land inside a closed episode's records, and the restart after that would rebuild a burst
   * from the episode's tail: an alert under a new id. One hold per alert, from its episode's first record.
   */
  holdPublished(alerts: readonly MailboxAccessAlert[]): void {
    const from = new Map<string, number>();
    for (const alert of alerts)
      from.set(alert.alert_id, Math.min(from.get(alert.alert_id) ?? Infinity, alert.first_seen));
    for (const first of from.values()) this.alertSpans.push({ from: first, done: true, endBound: undefined });
  }

  /** Holds the commit at these positions until `done` (mailbox side). */
  holdPositions(positions: Map<number, Position>): Held {
    const held = { positions, done: false };
    this.positionHolds.push(held);
    return held;
  }

  /**
   * Mailbox side: where each partition's commit may go: where processing stands, but not past where it
   * stood before a publish that is not acknowledged yet.
   */
  commitPositions(): Map<number, Position> {
    this.positionHolds = this.positionHolds.filter((hold) => !hold.done);
    const result = this.tracker.positions();
    for (const hold of this.positionHolds)
      for (const [partition, position] of hold.positions) {
        const current = result.get(partition);
        if (current !== undefined && position.offset < current.offset) result.set(partition, position);
      }
    return result;
  }

  /** Holds a partition's commit at a batch's first offset until `done`. */
  holdBatch(partition: number, first: number): Held {
    const entry = { first, done: false };
    const queue = this.unacked.get(partition) ?? [];
    queue.push(entry);
    this.unacked.set(partition, queue);
    return entry;
  }

  /**
   * Per partition, where a commit may go: not past a record an open window needs, an unacknowledged
   * alert was built from, or the event order still holds back; not past unacknowledged batch output.
   */
  commitPoints(): Map<number, CommitPoint> | undefined {
    const checkpoint = this.core.checkpoint;
    if (checkpoint === undefined) return undefined;
    // The waiting mailboxes' entries too: a restart must find them in the changelog again.
    let neededFrom = Math.min(checkpoint.neededFrom, this.waiting.earliest());
    for (const order of this.orders.values()) neededFrom = Math.min(neededFrom, order.heldFrom());
    type Closed = Held & { from: number; endBound: number };
    const closed: Closed[] = [];
    for (const span of this.alertSpans) {
      // The core no longer holds the episode's start: it has closed, so it ended before watermark − T.
      if (span.endBound === undefined && span.done && checkpoint.neededFrom > span.from)
        span.endBound = checkpoint.watermark - this.shortestWindowMs;
      if (span.endBound === undefined) neededFrom = Math.min(neededFrom, span.from);
      else closed.push(span as Closed);
    }
    const holds = new Map<number, number>();
    for (const [partition, queue] of this.unacked) {
      while (queue.length > 0 && queue[0]!.done) queue.shift();
      if (queue[0] !== undefined) holds.set(partition, queue[0].first);
    }
    // Per partition, hold at a closed episode's start while the commit point would land inside it.
    const neededOf = new Map<number, number>();
    const blocking = new Set<Closed>();
    for (let round = 0; round <= closed.length; round++) {
      let moved = false;
      for (const [partition, minEventTime] of this.tracker.peek(neededFrom, holds, neededOf)) {
        for (const span of closed) {
          if (minEventTime > span.endBound) continue;
          blocking.add(span);
          if (span.from < (neededOf.get(partition) ?? Number.POSITIVE_INFINITY)) {
            neededOf.set(partition, span.from);
            moved = true;
          }
        }
      }
      if (!moved) break;
    }
    this.alertSpans = this.alertSpans.filter(
      (span) => span.endBound === undefined || blocking.has(span as Closed),
    );
    return this.tracker.commitPoints(neededFrom, holds, neededOf);
  }

  dispose(): void {
    this.core.subscription.unsubscribe();
  }

  /** A state store entry read back on a restore, from `partition` of its changelog. */
  restoredEntry(key: Buffer | null, partition: number): void {
    if (this.role === 'mailbox' && key !== null) this.statePartitions.learn(key.toString('utf8'), partition);
  }

  /** A change's changelog partition: the fed record's; on the mailbox side without one, its mailbox's. */
  private changePartition(key: string): number | undefined {
    if (this.role !== 'mailbox') return this.feeding;
    if (this.feeding === undefined) return this.statePartitions.of(key);
    this.statePartitions.learn(key, this.feeding);
    return this.feeding;
  }

  private newCore(): Core {
    const core: Core = {
      input: new Subject<CoreInput>(),
      subscription: undefined as unknown as Subscription,
      alerts: [],
      changes: [],
      checkpoint: undefined,
      reported: undefined,
    };
    core.subscription = core.input
      .pipe(
        detect(this.detection, {
          watermarks: 'external',
          lateness: this.role === 'actor' ? 'upstream' : 'core',
          onAccess: this.role === 'mailbox' ? (access) => this.forwarded.push(access) : undefined,
        }),
      )
      .subscribe({
        next: (output: CoreOutput) => {
          if (output.kind === 'alert') core.alerts.push(output.alert);
          else if (output.kind === 'state')
            core.changes.push({
              store: output.store,
              key: output.key,
              value: output.value,
              partition: this.changePartition(output.key),
            });
          else if (output.kind === 'checkpoint') {
            core.checkpoint = {
              watermark: output.watermark,
              neededFrom: output.neededFrom,
              stats: output.stats,
            };
            this.hooks.onStats(this, output.stats, output.watermark);
          }
        },
        error: (error: unknown) => this.hooks.onError(error),
      });
    return core;
  }
}
