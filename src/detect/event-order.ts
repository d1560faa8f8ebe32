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
 * time. So idleness vouches for a record only once the record has waited `graceMs` here — the time a
 * resuming source has to report (Kafka Streams' `max.task.idle.ms`, which waits for an empty partition
 * before processing a task's others, is the same trade: latency while partitions are idle, for order).
 * While every source is active, nothing waits.
 *
 * The buffer holds no clock and no Kafka: the pipeline passes the time and reports progress from the
 * markers on the repartition topic.
 */
export class EventOrder {
  private buffer: Held[] = [];
  private readonly progress = new Map<number, number>();
  private released = Number.NEGATIVE_INFINITY;

  /**
   * @param sources how many sources feed this buffer (the mailbox partitions), numbered 0..n-1
   * @param graceMs how long a record waits for sources that are idle (the pipeline's partition idle time)
   */
  constructor(
    private readonly sources: number,
    private readonly graceMs = 0,
  ) {}

  /** A source has read everything up to `streamTime` (+Infinity: it is idle, nothing is pending). */
  progressOf(source: number, streamTime: number): void {
    this.progress.set(source, streamTime);
  }

  /**
   * The time up to which every source has passed, at wall-clock `now`; −Infinity until each has reported.
   * With a source idle, only up to the records that have waited the grace: just before the oldest one
   * still waiting, or to the newest one that has waited when that is later (they go out in order).
   */
  complete(now: number): number {
    if (this.progress.size < this.sources) return Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    let idle = false;
    for (const time of this.progress.values()) {
      if (time === Number.POSITIVE_INFINITY) idle = true;
      else if (time < min) min = time;
    }
    if (!idle) return min;
    let waited = Number.NEGATIVE_INFINITY;
    let waiting = Number.POSITIVE_INFINITY;
    const since = now - this.graceMs;
    for (const { record, arrived } of this.buffer) {
      const time = record.creation_time;
      if (arrived <= since) {
        if (time > waited) waited = time;
      } else if (time < waiting) waiting = time;
    }
    if (waiting === Number.POSITIVE_INFINITY) return min;
    return Math.min(min, Math.max(waited, waiting - 1));
  }

  /** Adds a record arrived at wall-clock `now`; true when it must go out at once (older than what was released). */
  add(record: ExchangeMailboxActivity, now: number): boolean {
    if (record.creation_time < this.released) return true;
    this.buffer.push({ record, arrived: now });
    return false;
  }

  /** The records now complete (or complete up to `upTo`, when given), in (event time, id) order. */
  release(now: number, upTo = this.complete(now)): ExchangeMailboxActivity[] {
    if (this.buffer.length === 0 || upTo === Number.NEGATIVE_INFINITY) return [];
    this.buffer.sort((a, b) => byTimeThenId(a.record, b.record));
    let n = 0;
    while (n < this.buffer.length && this.buffer[n]!.record.creation_time <= upTo) n++;
    if (n === 0) return [];
    const out = this.buffer.slice(0, n).map((held) => held.record);
    this.buffer = this.buffer.slice(n);
    this.released = out[out.length - 1]!.creation_time;
    return out;
  }

  /** The earliest event time held back (+Infinity when none): commits must not pass it. */
  heldFrom(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const { record } of this.buffer) if (record.creation_time < min) min = record.creation_time;
    return min;
  }

  get size(): number {
    return this.buffer.length;
  }
}

interface Held {
  record: ExchangeMailboxActivity;
  /** Wall-clock ms it reached the buffer. */
  arrived: number;
}

export function byTimeThenId(a: ExchangeMailboxActivity, b: ExchangeMailboxActivity): number {
  return a.creation_time - b.creation_time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
