/**
 * Which offset of a partition may be committed, given the oldest event time that the detection core
 * still needs (`neededFrom`).
 *
 * The committed offset must never pass a record that an open window still needs: after a crash the
 * consumer resumes there and rebuilds the state by re-reading. Records are tracked per batch as segments
 * of contiguous offsets with the largest event time among them, so memory grows with batches in the
 * lateness horizon, not with records. A segment whose records are all older than `neededFrom` holds
 * nothing any window needs; the first segment that may hold such a record stops the commit.
 */
import type { OrderState } from '../detect/event-order.js';

interface Segment {
  first: number;
  next: number;
  maxEventTime: number;
  minEventTime: number;
  /** The partition's stream time before this segment's first record (stored with a commit there). */
  streamTimeBefore: number;
  /** Wall-clock time the segment was processed: alerts its records caused were published after it. */
  processedAt: number;
  /** Actor side: the partition's event order before this segment's first record. */
  orderBefore?: OrderState;
}

/** Where a partition may be committed, and its stream time at that offset. */
export interface CommitPoint {
  offset: number;
  streamTime: number;
  /** The earliest event time among the records a restart from here re-reads first (+Infinity: none). */
  minEventTime: number;
  /** When the records from here on were first processed (+Infinity: none yet). */
  processedAt: number;
  /** Actor side: the partition's event order at this offset (when the tracker was told it). */
  order?: OrderState;
}

export class OffsetTracker {
  private readonly partitions = new Map<
    number,
    { segments: Segment[]; head: number; next: number; streamTime: number; order?: OrderState }
  >();

  /**
   * Records offsets [first, next) of a partition, whose latest event time is maxEventTime; the stream
   * times are the partition's before and after these records (default: unknown).
   */
  track(
    partition: number,
    first: number,
    next: number,
    maxEventTime: number,
    streamTimeBefore = Number.NEGATIVE_INFINITY,
    streamTimeAfter = Math.max(streamTimeBefore, maxEventTime),
    minEventTime = maxEventTime,
    processedAt = Number.POSITIVE_INFINITY,
    /** Actor side: the partition's event order before and after these records. */
    order?: { before: OrderState; after: OrderState },
  ): void {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = { segments: [], head: 0, next: first, streamTime: streamTimeBefore, order: order?.before };
      this.partitions.set(partition, state);
    }
    if (next <= first) return;
    state.segments.push({
      first,
      next,
      maxEventTime,
      minEventTime,
      streamTimeBefore,
      processedAt,
      orderBefore: order?.before,
    });
    state.next = Math.max(state.next, next);
    state.streamTime = Math.max(state.streamTime, streamTimeAfter);
    if (order !== undefined) state.order = order.after;
  }

  /**
   * The offset to commit per partition: the first offset that may still be needed, or the next offset to
   * read when nothing is. Drops the segments it passed. Event times are compared to `neededFrom`.
   */
  committable(neededFrom: number): Map<number, number> {
    return new Map([...this.commitPoints(neededFrom)].map(([p, point]) => [p, point.offset]));
  }

  /**
   * Like `committable`, with the stream time at each offset, and never past `holdFrom`'s offset of a
   * partition (the first record whose own output is not acknowledged yet).
   */
  commitPoints(
    neededFrom: number,
    holdFrom?: ReadonlyMap<number, number>,
    neededFromOf?: ReadonlyMap<number, number>,
  ): Map<number, CommitPoint> {
    const result = new Map<number, CommitPoint>();
    for (const [partition, state] of this.partitions) {
      const hold = holdFrom?.get(partition) ?? Number.POSITIVE_INFINITY;
      const needed = Math.min(neededFrom, neededFromOf?.get(partition) ?? Number.POSITIVE_INFINITY);
      while (state.head < state.segments.length) {
        const segment = state.segments[state.head]!;
        if (segment.maxEventTime >= needed || segment.next > hold) break;
        state.head++;
      }
      // Compact now and then so the array does not grow without bound.
      if (state.head > 1024 && state.head * 2 > state.segments.length) {
        state.segments.splice(0, state.head);
        state.head = 0;
      }
      const first = state.segments[state.head];
      result.set(
        partition,
        first === undefined
          ? {
              offset: state.next,
              streamTime: state.streamTime,
              minEventTime: Number.POSITIVE_INFINITY,
              processedAt: Number.POSITIVE_INFINITY,
              ...(state.order !== undefined ? { order: state.order } : {}),
            }
          : {
              offset: first.first,
              streamTime: first.streamTimeBefore,
              minEventTime: first.minEventTime,
              processedAt: first.processedAt,
              ...(first.orderBefore !== undefined ? { order: first.orderBefore } : {}),
            },
      );
    }
    return result;
  }

  /**
   * Where `commitPoints` would stop, per partition, without dropping anything: the earliest event time
   * among the records from there on in the first segment (+Infinity when nothing is left to re-read).
   */
  peek(
    neededFrom: number,
    holdFrom?: ReadonlyMap<number, number>,
    neededFromOf?: ReadonlyMap<number, number>,
  ): Map<number, number> {
    const result = new Map<number, number>();
    for (const [partition, state] of this.partitions) {
      const hold = holdFrom?.get(partition) ?? Number.POSITIVE_INFINITY;
      const needed = Math.min(neededFrom, neededFromOf?.get(partition) ?? Number.POSITIVE_INFINITY);
      let i = state.head;
      while (i < state.segments.length) {
        const segment = state.segments[i]!;
        if (segment.maxEventTime >= needed || segment.next > hold) break;
        i++;
      }
      result.set(partition, state.segments[i]?.minEventTime ?? Number.POSITIVE_INFINITY);
    }
    return result;
  }

  /** Per partition, the next offset to read and the stream time there: where processing stands. */
  positions(): Map<number, { offset: number; streamTime: number }> {
    return new Map(
      [...this.partitions].map(([p, state]) => [p, { offset: state.next, streamTime: state.streamTime }]),
    );
  }

  /** Segments held (for metrics). */
  size(): number {
    let n = 0;
    for (const state of this.partitions.values()) n += state.segments.length - state.head;
    return n;
  }

  forget(partition: number): void {
    this.partitions.delete(partition);
  }

  clear(): void {
    this.partitions.clear();
  }
}
