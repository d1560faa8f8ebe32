/**
 * The event-time watermark across partitions: each partition's largest event time seen, minus the
 * allowed lateness, and the minimum over partitions — so a partition that lags behind does not see its
 * records dropped as late. A partition that has sent nothing for `idleMs` (wall-clock, passed in by the
 * caller) stops holding the watermark back, so an idle partition never stalls the others.
 */
export class PartitionWatermarks {
  private readonly partitions = new Map<number, { maxEventTime: number; lastActive: number }>();
  private current = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly allowedLatenessMs: number,
    private readonly idleMs: number,
  ) {}

  /** A partition is assigned: it counts once it sends records or after idleMs of silence. */
  assign(partition: number, now: number): void {
    if (!this.partitions.has(partition))
      this.partitions.set(partition, { maxEventTime: Number.NEGATIVE_INFINITY, lastActive: now });
  }

  observe(partition: number, eventTime: number, now: number): void {
    const state = this.partitions.get(partition);
    if (state === undefined) {
      this.partitions.set(partition, { maxEventTime: eventTime, lastActive: now });
      return;
    }
    if (eventTime > state.maxEventTime) state.maxEventTime = eventTime;
    state.lastActive = now;
  }

  /** The watermark now; never moves back. */
  watermark(now: number): number {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const state of this.partitions.values()) {
      if (state.maxEventTime > max) max = state.maxEventTime;
      if (now - state.lastActive >= this.idleMs) continue;
      if (state.maxEventTime < min) min = state.maxEventTime;
    }
    // Every partition idle: the most advanced one leads.
    const candidate = (min === Number.POSITIVE_INFINITY ? max : min) - this.allowedLatenessMs;
    if (candidate > this.current) this.current = candidate;
    return this.current;
  }

  /** Per partition: largest event time seen and whether it is idle (for metrics). */
  snapshot(now: number): { partition: number; maxEventTime: number; idle: boolean }[] {
    return [...this.partitions].map(([partition, s]) => ({
      partition,
      maxEventTime: s.maxEventTime,
      idle: now - s.lastActive >= this.idleMs,
    }));
  }

  clear(): void {
    this.partitions.clear();
    this.current = Number.NEGATIVE_INFINITY;
  }
}
