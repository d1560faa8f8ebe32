/**
 * Records `run` drops as late, told to the operator: the metric alone is easy to miss, and a day of
 * back-filled records vanishing without a word looks like a broken pipeline. Per partition at most one
 * warning every `intervalMs` (10 s), saying how many records were dropped since the previous line, their
 * event times, and how far they were behind the partition's bound (its stream time − allowedLateness).
 *
 * The first drop on a partition is told at the end of the current turn (a timer of 0 ms), so a batch of
 * late records makes one line; later drops are gathered until the interval since the last line has passed.
 * Timers are unref'd; close() tells what is still pending.
 */
export const LATE_LOG_INTERVAL_MS = 10_000; // ten seconds

export interface LateLogger {
  warn(fields: object, message: string): void;
}

/** What was dropped on one partition (or, for the core's drops, one topic) since its last line. */
interface Pending {
  topic: string;
  partition: number | undefined;
  count: number;
  /** The bound the records were older than, at the latest drop. */
  bound: number;
  oldest: number;
  newest: number;
  leastBehind: number;
  mostBehind: number;
}

export class LateLog {
  private readonly pending = new Map<string, Pending>();
  private readonly lastLine = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly logger: LateLogger,
    private readonly allowedLatenessMs: number,
    private readonly intervalMs = LATE_LOG_INTERVAL_MS,
  ) {}

  /** A record of `topic`/`partition` dated `eventTime`, dropped because the partition's stream time is `streamTime`. */
  dropped(topic: string, partition: number, eventTime: number, streamTime: number): void {
    const bound = streamTime - this.allowedLatenessMs;
    const entry = this.entry(`${topic}\u0000${partition}`, topic, partition);
    entry.count++;
    entry.bound = bound;
    entry.oldest = Math.min(entry.oldest, eventTime);
    entry.newest = Math.max(entry.newest, eventTime);
    entry.leastBehind = Math.min(entry.leastBehind, bound - eventTime);
    entry.mostBehind = Math.max(entry.mostBehind, bound - eventTime);
  }

  /**
   * `count` records of `topic` that the detection core dropped as older than its watermark (the minimum
   * over the partitions that are not idle): a record admitted by its own partition can still be behind it.
   */
  droppedBehindWatermark(topic: string, count: number, watermark: number): void {
    if (count <= 0) return;
    const entry = this.entry(topic, topic, undefined);
    entry.count += count;
    entry.bound = watermark;
  }

  /** Tells what is pending now; later drops are not told (the pipeline is stopping). */
  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const key of [...this.pending.keys()]) this.tell(key);
    this.closed = true;
  }

  private entry(key: string, topic: string, partition: number | undefined): Pending {
    let entry = this.pending.get(key);
    if (entry === undefined) {
      entry = {
        topic,
        partition,
        count: 0,
        bound: Number.NaN,
        oldest: Number.POSITIVE_INFINITY,
        newest: Number.NEGATIVE_INFINITY,
        leastBehind: Number.POSITIVE_INFINITY,
        mostBehind: Number.NEGATIVE_INFINITY,
      };
      if (!this.closed) this.pending.set(key, entry);
      this.schedule(key);
    }
    return entry;
  }

  private schedule(key: string): void {
    if (this.closed || this.timers.has(key)) return;
    const last = this.lastLine.get(key);
    const wait = last === undefined ? 0 : Math.max(0, last + this.intervalMs - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.tell(key);
    }, wait);
    timer.unref();
    this.timers.set(key, timer);
  }

  private tell(key: string): void {
    const entry = this.pending.get(key);
    if (entry === undefined) return;
    this.pending.delete(key);
    this.lastLine.set(key, Date.now());
    const { topic, partition, count } = entry;
    const records = `${count} record${count === 1 ? '' : 's'} dropped as late`;
    const common = {
      topic,
      partition,
      dropped: count,
      bound: iso(entry.bound),
      allowedLatenessMs: this.allowedLatenessMs,
    };
    if (partition === undefined) {
      this.logger.warn(
        common,
        `${records} on ${topic}: older than the watermark of its partitions (${iso(entry.bound)}); ` +
          'see "Late records and history" in the README',
      );
      return;
    }
    this.logger.warn(
      {
        ...common,
        behindMs: { min: entry.leastBehind, max: entry.mostBehind },
        eventTimes: { oldest: iso(entry.oldest), newest: iso(entry.newest) },
      },
      `${records} on ${topic}[${partition}]: ${roughDuration(entry.leastBehind)} to ` +
        `${roughDuration(entry.mostBehind)} older than the partition's stream time − detection.allowedLateness ` +
        `(${iso(entry.bound)}); see "Late records and history" in the README`,
    );
  }
}

function iso(time: number): string | null {
  return Number.isFinite(time) ? new Date(time).toISOString() : null;
}

/** At most the two largest units, for people: 1h, 58m25s, 2d3h, 800ms. */
function roughDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
  }
  const shown = parts.slice(0, 2).filter((part) => !part.startsWith('0'));
  return shown.join('') || '0s';
}
