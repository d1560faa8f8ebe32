import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/**
 * The windows' state lives on the V8 heap: every non-owner access of the last `allowedLateness` + the
 * longest window, on both sub-topologies (about 1.3 KB each, BENCHMARKS.md §6). At a high non-owner
 * rate that outgrows Node's default heap limit (about 4 GB on 64-bit), and a process out of heap dies
 * without a word about why. This watch reads the heap right after each full (mark-compact) collection,
 * when what is used is what is live, and:
 * - sets `mailbox_radar_heap_live_ratio` (live ÷ limit) for alerting;
 * - past `HEAP_WARN_RATIO` (0.8) of the limit, warns at most once a `warnEveryMs` (5 min), with the
 *   records the windows hold, the heap per held record and what to change (README "Memory").
 */
export const HEAP_WARN_RATIO = 0.8;
export const HEAP_WARN_EVERY_MS = 300_000; // five minutes

export interface HeapReading {
  /** Bytes in use right after a full collection: live objects. */
  used: number;
  /** The heap's limit (`--max-old-space-size` and V8's defaults). */
  limit: number;
}

export interface HeapWatchLogger {
  warn(fields: object, message: string): void;
}

export class HeapWatch {
  /** Records the windows hold (both sub-topologies), as last reported. */
  retainedRecords = 0;
  /** Live ÷ limit at the last full collection; NaN before the first. */
  liveRatio = Number.NaN;
  private lastWarn = Number.NEGATIVE_INFINITY;
  private observer: PerformanceObserver | undefined;

  constructor(
    private readonly logger: HeapWatchLogger,
    private readonly allowedLatenessMs: number,
    private readonly onRatio: (ratio: number) => void = () => {},
    private readonly now: () => number = Date.now,
    private readonly warnEveryMs = HEAP_WARN_EVERY_MS,
  ) {}

  /** Watches the process's full collections (until `stop`). */
  start(): void {
    if (this.observer !== undefined) return;
    this.observer = new PerformanceObserver((list) => {
      const major = list.getEntries().some((entry) => {
        const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
        return detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
      });
      if (!major) return;
      const stats = getHeapStatistics();
      this.afterFullCollection({ used: stats.used_heap_size, limit: stats.heap_size_limit });
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = undefined;
  }

  /** A reading taken right after a full collection; true when it was warned of. */
  afterFullCollection(reading: HeapReading): boolean {
    this.liveRatio = reading.used / reading.limit;
    this.onRatio(this.liveRatio);
    if (this.liveRatio < HEAP_WARN_RATIO) return false;
    const now = this.now();
    if (now - this.lastWarn < this.warnEveryMs) return false;
    this.lastWarn = now;
    const mb = (bytes: number) => Math.round(bytes / 1e6);
    this.logger.warn(
      {
        heapLiveMB: mb(reading.used),
        heapLimitMB: mb(reading.limit),
        retainedRecords: this.retainedRecords,
        bytesPerRetainedRecord:
          this.retainedRecords > 0 ? Math.round(reading.used / this.retainedRecords) : null,
        allowedLatenessMs: this.allowedLatenessMs,
      },
      `the heap is ${Math.round(this.liveRatio * 100)}% full after a full collection, mostly the windows' ` +
        `state (the non-owner accesses of detection.allowedLateness + the longest window): give the ` +
        `process a larger heap (NODE_OPTIONS=--max-old-space-size=<MB>) or lower detection.allowedLateness ` +
        `(README "Memory")`,
    );
    return true;
  }
}
