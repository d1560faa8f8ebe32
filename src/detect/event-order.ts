import type { ExchangeMailboxActivity } from '../model/activity.js';

/**
 * Puts records that reach one place from several sources back into event-time order: the actor-keyed
 * repartition topic receives one actor's accesses from every mailbox partition, interleaved as the
 * instances that read those partitions happened to write them. The sweep's result — which records were in
 * the window when the threshold was crossed, hence the alert id — must not depend on that interleaving.
 *
 * Each source reports how far it has got (its stream time, or that it has read everything there is); the
 * buffer releases records in (event time, id) order up to the least advanced source. A record older than
 * what was already released (its source is out of order within itself) is released at once: it is late
 * for the ordering, not lost. The buffer holds no clock and no Kafka: the pipeline reports progress from
 * the markers on the repartition topic.
 */
export class EventOrder {
  private buffer: ExchangeMailboxActivity[] = [];
  private readonly progress = new Map<number, number>();
  private released = Number.NEGATIVE_INFINITY;

  /** @param sources how many sources feed this buffer (the mailbox partitions), numbered 0..n-1 */
  constructor(private readonly sources: number) {}

  /** A source has read everything up to `streamTime` (+Infinity: it is caught up, nothing is pending). */
  progressOf(source: number, streamTime: number): void {
    this.progress.set(source, streamTime);
  }

  /** The time up to which every source has reported; −Infinity until each has. */
  complete(): number {
    if (this.progress.size < this.sources) return Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (const time of this.progress.values()) if (time < min) min = time;
    return min;
  }

  /** Adds a record; returns true when it must go out at once (older than what was released). */
  add(record: ExchangeMailboxActivity): boolean {
    if (record.creation_time < this.released) return true;
    this.buffer.push(record);
    return false;
  }

  /** The records now complete (or complete up to `upTo`, when given), in (event time, id) order. */
  release(upTo = this.complete()): ExchangeMailboxActivity[] {
    if (this.buffer.length === 0 || upTo === Number.NEGATIVE_INFINITY) return [];
    this.buffer.sort(byTimeThenId);
    let n = 0;
    while (n < this.buffer.length && this.buffer[n]!.creation_time <= upTo) n++;
    if (n === 0) return [];
    const out = this.buffer.slice(0, n);
    this.buffer = this.buffer.slice(n);
    this.released = out[out.length - 1]!.creation_time;
    return out;
  }

  /** The earliest event time held back (+Infinity when none): commits must not pass it. */
  heldFrom(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const record of this.buffer) if (record.creation_time < min) min = record.creation_time;
    return min;
  }

  get size(): number {
    return this.buffer.length;
  }
}

export function byTimeThenId(a: ExchangeMailboxActivity, b: ExchangeMailboxActivity): number {
  return a.creation_time - b.creation_time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
