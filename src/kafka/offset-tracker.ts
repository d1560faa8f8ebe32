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
interface Segment {
  first: number;
  next: number;
  maxEventTime: number;
}

export class OffsetTracker {
  private readonly partitions = new Map<number, { segments: Segment[]; head: number; next: number }>();

  /** Records offsets [first, next) of a partition, whose latest event time is maxEventTime. */
  track(partition: number, first: number, next: number, maxEventTime: number): void {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = { segments: [], head: 0, next: first };
      this.partitions.set(partition, state);
    }
    if (next <= first) return;
    state.segments.push({ first, next, maxEventTime });
    state.next = Math.max(state.next, next);
  }

  /**
   * The offset to commit per partition: the first offset that may still be needed, or the next offset to
   * read when nothing is. Drops the segments it passed. Event times are compared to `neededFrom`.
   */
  committable(neededFrom: number): Map<number, number> {
    const result = new Map<number, number>();
    for (const [partition, state] of this.partitions) {
      while (state.head < state.segments.length && state.segments[state.head]!.maxEventTime < neededFrom)
        state.head++;
      // Compact now and then so the array does not grow without bound.
      if (state.head > 1024 && state.head * 2 > state.segments.length) {
        state.segments.splice(0, state.head);
        state.head = 0;
      }
      const first = state.segments[state.head];
      result.set(partition, first === undefined ? state.next : first.first);
    }
    return result;
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
