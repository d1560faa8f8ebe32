import type { ExchangeMailboxActivity } from '../model/activity.js';

/**
 * Puts records that reach one place from several sources back into event-time order: the actor-keyed
 * repartition topic receives one actor's accesses from every mailbox partition, interleaved as the
 * instances that read those partitions happened to write them. The sweep's result — which records were in
 * the window when the threshold was crossed, hence the alert id — must not depend on that interleaving.
 *
 * Each source reports how far it has got (its stream time, or +Infinity: it is idle, it has read everything
 * there is); the buffer releases records in (event time, id) order up to the least advanced source. A
 * record older than what was already released (its source is out of order within itself) is released at
 * once: it is late for the ordering, not lost.
 *
 * An idle source's +Infinity is stale the moment traffic resumes: the records of another source may reach
 * this buffer before the idle one has read (and reported) its own older records, written at the same
 * time. So idleness vouches for a record only once the idle source has reported idle `graceMarkers` times
 * since the record arrived: a source's instance writes a marker every timer turn, so that is about the
 * time a resuming source has to report (Kafka Streams' `max.task.idle.ms`, which waits for an empty
 * partition before processing a task's others, is the same trade: latency while partitions are idle, for
 * order). While every source is active, nothing waits.
 *
 * The buffer holds no clock and no Kafka: its only clock is the markers it is given, in the order they lie
 * among the records of the partition. So what it releases, and when, follows from the partition's content
 * alone, and a restart that reads the partition again decides as the live run did (see `orderBatch`).
 */
/** What the buffer orders by: an event time, and an id for ties. */
export interface Ordered {
  readonly creation_time: number;
  readonly id: string;
}

export class EventOrder<R extends Ordered = ExchangeMailboxActivity> {
  private buffer: Held<R>[] = [];
  private readonly progress = new Map<number, number>();
  /** Per idle source, the sequence numbers of its latest idle markers (at most `graceMarkers`). */
  private readonly idleMarks = new Map<number, number[]>();
  /** Markers seen so far: the buffer's clock. */
  private markers = 0;
  private released = Number.NEGATIVE_INFINITY;
  /** Whether `buffer` is in (event time, id) order; the earliest event time in it. */
  private sorted = true;
  private minHeld = Number.POSITIVE_INFINITY;
  /** The largest stream time any source has reported (not idle). */
  private lastActive = Number.NEGATIVE_INFINITY;

  /**
   * @param sources how many sources feed this buffer (the mailbox partitions), numbered 0..n-1
   * @param graceMarkers how many idle markers an idle source must have sent since a record arrived before
   *   its idleness vouches for the record
   */
  constructor(
    private readonly sources: number,
    private readonly graceMarkers = 0,
  ) {}

  /** A source has read everything up to `streamTime` (+Infinity: it is idle, nothing is pending). */
  progressOf(source: number, streamTime: number): void {
    this.markers++;
    this.progress.set(source, streamTime);
    if (streamTime !== Number.POSITIVE_INFINITY) {
      if (streamTime > this.lastActive) this.lastActive = streamTime;
      this.idleMarks.delete(source); // active: when it is idle again, its idleness counts anew
      return;
    }
    let marks = this.idleMarks.get(source);
    if (marks === undefined) this.idleMarks.set(source, (marks = []));
    marks.push(this.markers);
    if (marks.length > this.graceMarkers) marks.shift();
  }

  /**
   * The time up to which every source has passed; −Infinity until each has reported. With a source idle,
   * only up to the records its idleness vouches for: just before the oldest one still waiting, or to the
   * newest one vouched for when that is later (they go out in order).
   */
  complete(): number {
    if (this.progress.size < this.sources) return Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    // Records that arrived before marker number `vouched` have waited the grace of every idle source.
    let vouched = Number.POSITIVE_INFINITY;
    let idle = false;
    for (const [source, time] of this.progress) {
      if (time !== Number.POSITIVE_INFINITY) {
        if (time < min) min = time;
        continue;
      }
      idle = true;
      if (this.graceMarkers === 0) continue;
      const marks = this.idleMarks.get(source);
      const since = marks !== undefined && marks.length >= this.graceMarkers ? marks[0]! : 0;
      if (since < vouched) vouched = since;
    }
    if (!idle) return min;
    let waited = Number.NEGATIVE_INFINITY;
    let waiting = Number.POSITIVE_INFINITY;
    for (const { record, arrived } of this.buffer) {
      const time = record.creation_time;
      if (arrived < vouched) {
        if (time > waited) waited = time;
      } else if (time < waiting) waiting = time;
    }
    if (waiting === Number.POSITIVE_INFINITY) return min;
    return Math.min(min, Math.max(waited, waiting - 1));
  }

  /**
   * How far every source has got, for the watermark behind this buffer: the least advanced source that is
   * not idle; when every source is idle, the most advanced one's last stream time (as `PartitionWatermarks`
   * lets the most advanced partition lead); −Infinity until each source has reported. A record that reaches
   * this buffer later was on time against its mailbox partition's stream time, which no marker before it
   * exceeded, so it is never older than this floor minus the lateness.
   */
  floor(): number {
    if (this.progress.size < this.sources) return Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (const time of this.progress.values()) if (time < min) min = time;
    return min === Number.POSITIVE_INFINITY ? this.lastActive : min;
  }

  /** Adds a record; true when it must go out at once (older than what was released). */
  add(record: R): boolean {
    const time = record.creation_time;
    if (time < this.released) return true;
    const last = this.buffer[this.buffer.length - 1];
    if (last !== undefined && byTimeThenId(last.record, record) > 0) this.sorted = false;
    this.buffer.push({ record, arrived: this.markers });
    if (time < this.minHeld) this.minHeld = time;
    return false;
  }

  /** The records now complete (or complete up to `upTo`, when given), in (event time, id) order. */
  release(upTo = this.complete()): R[] {
    // Called at every marker: nothing to do unless the oldest held record is complete.
    if (this.buffer.length === 0 || upTo < this.minHeld) return [];
    if (!this.sorted) {
      this.buffer.sort((a, b) => byTimeThenId(a.record, b.record));
      this.sorted = true;
    }
    let n = 0;
    while (n < this.buffer.length && this.buffer[n]!.record.creation_time <= upTo) n++;
    const out = this.buffer.slice(0, n).map((held) => held.record);
    this.buffer = this.buffer.slice(n);
    this.minHeld = this.buffer[0]?.record.creation_time ?? Number.POSITIVE_INFINITY;
    this.released = out[out.length - 1]!.creation_time;
    return out;
  }

  /**
   * What the buffer knows beside the records it holds: each source's progress, and up to where it has
   * released. A commit stores it with the offset (see `OrderState`), so that a restart reading the
   * partition again from there decides as this buffer did.
   */
  state(): OrderState {
    return { progress: [...this.progress], released: this.released, lastActive: this.lastActive };
  }

  /** Takes back a state from `state()` (a restart, before any record of the partition is read again). */
  restore(state: OrderState): void {
    this.progress.clear();
    this.idleMarks.clear();
    for (const [source, time] of state.progress) this.progressOf(source, time);
    this.released = state.released;
    this.lastActive = Math.max(this.lastActive, state.lastActive ?? Number.NEGATIVE_INFINITY);
  }

  /** The earliest event time held back (+Infinity when none): commits must not pass it. */
  heldFrom(): number {
    return this.minHeld;
  }

  get size(): number {
    return this.buffer.length;
  }
}

/**
 * An `EventOrder`'s progress per source (+Infinity: idle), the event time up to which it has released
 * (−Infinity: nothing yet), and the largest stream time a source reported while active. The idle markers counted towards the grace are left out: they vouch only for
 * records held at the time, and a commit is never past a held record.
 */
export interface OrderState {
  progress: [source: number, time: number][];
  released: number;
  /** The largest stream time any source reported while active (−Infinity: none). */
  lastActive?: number;
}

/**
 * One item of a repartition partition, in offset order: an access, or a source's progress marker; `at`, its
 * offset, when the caller wants to know where each record was released (`orderBatchAt`).
 */
export type OrderItem<R extends Ordered = ExchangeMailboxActivity> = (
  { kind: 'record'; record: R } | { kind: 'progress'; source: number; time: number }
) & { at?: number };

/**
 * A fetched batch of one partition, in offset order, through its buffer: returns the records to process,
 * in the order to process them. What is complete goes out at each progress marker, where the marker lies
 * among the records, so what is released, and which records come too late for the ordering, follow from
 * the partition's content in offset order alone: not from how the fetches cut it into batches (a restart
 * re-reads in a few large fetches what came live in many small ones, and must decide as live did), and not
 * from the other partitions (each releases on its own markers).
 */
export function orderBatch<R extends Ordered>(order: EventOrder<R>, items: Iterable<OrderItem<R>>): R[] {
  const out: R[] = [];
  orderBatchAt(order, items, (record) => out.push(record));
  return out;
}

/**
 * `orderBatch`, telling each record released with the offset (`at`, −1 when not given) of the item that
 * released it: the marker that completed it, or the record itself when it went at once. The marker lies
 * where it lies whatever the fetches, so a restart re-reading the partition learns where each record was
 * released when it was first processed.
 */
export function orderBatchAt<R extends Ordered>(
  order: EventOrder<R>,
  items: Iterable<OrderItem<R>>,
  released: (record: R, at: number) => void,
): void {
  for (const item of items) {
    if (item.kind === 'progress') {
      order.progressOf(item.source, item.time);
      for (const record of order.release()) released(record, item.at ?? -1);
    } else if (order.add(item.record)) released(item.record, item.at ?? -1);
  }
}

interface Held<R> {
  record: R;
  /** How many markers the buffer had seen when it arrived. */
  arrived: number;
}

export function byTimeThenId(a: Ordered, b: Ordered): number {
  return a.creation_time - b.creation_time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
