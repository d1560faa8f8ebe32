import type { OrderState } from '../detect/event-order.js';

/**
 * Event time per partition, as Kafka Streams keeps it: each partition's *stream time* is the largest
 * event time among the records read from it so far.
 *
 * - Lateness is decided per record against its own partition's stream time (a record older than the
 *   stream time minus the allowed lateness is late). That depends only on the partition's records in
 *   offset order, so the decision is the same whatever the restarts, the rebalances and the interleaving of
 *   partitions — provided that after a restart the stream time is restored as it was at the committed
 *   offset (the pipeline stores it in the offset commit's metadata; see `encodeStreamTime`).
 * - The watermark the detection core sees is the minimum over partitions of stream time minus lateness,
 *   leaving out idle partitions. A partition is idle only when its last fetch reached the end of the log,
 *   the consumer is not paused, and nothing came for `idleMs` of wall-clock time. A partition that is
 *   behind (catching up a backlog) or paused (backpressure) always holds the watermark back, so its records
 *   are never made late by faster partitions. When every partition is idle, the most advanced one leads.
 */
interface PartitionTime {
  streamTime: number;
  lastActive: number;
  caughtUp: boolean;
}

export class PartitionWatermarks {
  private readonly partitions = new Map<number, PartitionTime>();
  private current = Number.NEGATIVE_INFINITY;
  private paused = false;

  constructor(
    private readonly allowedLatenessMs: number,
    private readonly idleMs: number,
  ) {}

  /** A partition is assigned, with the stream time restored from its committed offset (or −∞). */
  assign(partition: number, now: number, streamTime = Number.NEGATIVE_INFINITY): void {
    this.partitions.set(partition, { streamTime, lastActive: now, caughtUp: false });
  }

  /**
   * One record of a partition: false when it is late (older than the partition's stream time minus the
   * allowed lateness); otherwise its event time moves the stream time.
   */
  admit(partition: number, eventTime: number): boolean {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = { streamTime: Number.NEGATIVE_INFINITY, lastActive: 0, caughtUp: false };
      this.partitions.set(partition, state);
    }
    if (eventTime < state.streamTime - this.allowedLatenessMs) return false;
    if (eventTime > state.streamTime) state.streamTime = eventTime;
    return true;
  }

  /**
   * A batch of the partition was processed; `caughtUp` when it reached the partition's high watermark.
   * `records` false: the batch held no records (only progress markers), which is silence, not activity.
   */
  fetched(partition: number, caughtUp: boolean, now: number, records = true): void {
    const state = this.partitions.get(partition);
    if (state === undefined) return;
    state.caughtUp = caughtUp;
    if (records) state.lastActive = now;
  }

  /** The partition has nothing more to read (found at assignment). */
  caughtUp(partition: number): void {
    const state = this.partitions.get(partition);
    if (state !== undefined) state.caughtUp = true;
  }

  /** Backpressure: while paused no partition becomes idle; on resume their silence counts from now. */
  pause(): void {
    this.paused = true;
  }

  resume(now: number): void {
    this.paused = false;
    for (const state of this.partitions.values()) state.lastActive = now;
  }

  /** Raises a partition's stream time without a lateness verdict (records judged upstream already). */
  observe(partition: number, eventTime: number): void {
    const state = this.partitions.get(partition);
    if (state === undefined) this.admit(partition, eventTime);
    else if (eventTime > state.streamTime) state.streamTime = eventTime;
  }

  /**
   * How far a partition has got, for those downstream that wait for every partition: its stream time, or
   * +Infinity once it is idle (caught up, not paused, silent for idleMs) — nothing older is pending there.
   */
  progress(partition: number, now: number): number {
    const state = this.partitions.get(partition);
    if (state === undefined) return Number.NEGATIVE_INFINITY;
    return this.idle(state, now) ? Number.POSITIVE_INFINITY : state.streamTime;
  }

  streamTime(partition: number): number {
    return this.partitions.get(partition)?.streamTime ?? Number.NEGATIVE_INFINITY;
  }

  private idle(state: PartitionTime, now: number): boolean {
    return !this.paused && state.caughtUp && now - state.lastActive >= this.idleMs;
  }

  /** The watermark now; never moves back. */
  watermark(now: number): number {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const state of this.partitions.values()) {
      if (state.streamTime > max) max = state.streamTime;
      if (this.idle(state, now)) continue;
      if (state.streamTime < min) min = state.streamTime;
    }
    if (min === Number.POSITIVE_INFINITY && max === Number.NEGATIVE_INFINITY) return this.current;
    // Every partition idle: the most advanced one leads.
    const candidate = (min === Number.POSITIVE_INFINITY ? max : min) - this.allowedLatenessMs;
    if (candidate > this.current) this.current = candidate;
    return this.current;
  }

  /** Per partition: stream time and whether it is idle (for metrics). */
  snapshot(now: number): { partition: number; streamTime: number; idle: boolean }[] {
    return [...this.partitions].map(([partition, s]) => ({
      partition,
      streamTime: s.streamTime,
      idle: this.idle(s, now),
    }));
  }

  clear(): void {
    this.partitions.clear();
    this.current = Number.NEGATIVE_INFINITY;
    this.paused = false;
  }
}

/**
 * What an offset commit carries in its metadata (Kafka Streams stores its stream time alike): the
 * partition's stream time at the committed offset; on the mailbox side, where its windows' state begins
 * (`restoreFrom`, a source offset, and `logOffset` in the windows' changelog; see record-log.ts); and
 * `since`, when the records a restart reprocesses were first processed (the alert topics are read back
 * from there, so nothing published then is published again).
 */
export interface CommitMetadata {
  streamTime: number;
  restoreFrom?: number;
  logOffset?: number;
  since?: number;
  /** Actor side: the partition's event order at the committed offset (event-order.ts). */
  order?: OrderState;
  /**
   * Actor side: every access the event order released at an offset below this one was processed, and what
   * it caused acknowledged, before the commit: a restart lets those wait for their actor (lazy restore).
   */
  lazyUntil?: number;
}

/** Kafka's default `offset.metadata.max.bytes` is 4,096: an event order that would not fit is left out. */
const MAX_ORDER_CHARS = 2_048;

function encodeOrder(order: OrderState | undefined): { order?: unknown } {
  if (order === undefined) return {};
  const encoded = {
    p: order.progress.map(([source, time]) => [source, Number.isFinite(time) ? time : null]),
    ...(Number.isFinite(order.released) ? { r: order.released } : {}),
    ...(order.lastActive !== undefined && Number.isFinite(order.lastActive) ? { a: order.lastActive } : {}),
  };
  return JSON.stringify(encoded).length <= MAX_ORDER_CHARS ? { order: encoded } : {};
}

/** An event order from commit metadata (null progress: idle); undefined when absent or malformed. */
function decodeOrder(value: unknown): OrderState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { p, r, a } = value as { p?: unknown; r?: unknown; a?: unknown };
  if (!Array.isArray(p)) return undefined;
  const progress: [number, number][] = [];
  for (const entry of p) {
    if (!Array.isArray(entry) || !Number.isInteger(entry[0])) return undefined;
    if (entry[1] !== null && !finite(entry[1])) return undefined;
    progress.push([entry[0] as number, entry[1] === null ? Number.POSITIVE_INFINITY : entry[1]]);
  }
  return {
    progress,
    released: finite(r) ? r : Number.NEGATIVE_INFINITY,
    ...(finite(a) ? { lastActive: a } : {}),
  };
}

const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);

export function encodeCommitMetadata(meta: CommitMetadata): string {
  return JSON.stringify({
    v: 1,
    streamTime: finite(meta.streamTime) ? meta.streamTime : null,
    ...(finite(meta.restoreFrom) ? { restoreFrom: meta.restoreFrom } : {}),
    ...(finite(meta.logOffset) ? { logOffset: meta.logOffset } : {}),
    ...(finite(meta.since) ? { since: meta.since } : {}),
    ...encodeOrder(meta.order),
    ...(finite(meta.lazyUntil) ? { lazyUntil: meta.lazyUntil } : {}),
  });
}

/** A commit's metadata; stream time −∞ (and nothing else) when there is none or it is not ours. */
export function decodeCommitMetadata(metadata: string | null | undefined): CommitMetadata {
  const none = { streamTime: Number.NEGATIVE_INFINITY };
  if (!metadata) return none;
  try {
    const parsed = JSON.parse(metadata) as Record<string, unknown>;
    if (parsed.v !== 1) return none;
    const order = decodeOrder(parsed.order);
    return {
      streamTime: finite(parsed.streamTime) ? parsed.streamTime : Number.NEGATIVE_INFINITY,
      ...(finite(parsed.restoreFrom) ? { restoreFrom: parsed.restoreFrom } : {}),
      ...(finite(parsed.logOffset) ? { logOffset: parsed.logOffset } : {}),
      ...(finite(parsed.since) ? { since: parsed.since } : {}),
      ...(order !== undefined ? { order } : {}),
      ...(finite(parsed.lazyUntil) ? { lazyUntil: parsed.lazyUntil } : {}),
    };
  } catch {
    return none;
  }
}

/** Offset commit metadata holding only the stream time. */
export function encodeStreamTime(streamTime: number): string {
  return encodeCommitMetadata({ streamTime });
}

/** The stream time in a commit's metadata; −∞ when there is none or it is not ours. */
export function decodeStreamTime(metadata: string | null | undefined): number {
  return decodeCommitMetadata(metadata).streamTime;
}
