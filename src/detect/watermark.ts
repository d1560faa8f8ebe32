import { Observable, type OperatorFunction } from 'rxjs';
import {
  emptyStats,
  type CheckpointMark,
  type CoreInput,
  type TimedFlow,
  type WatermarkMark,
} from './types.js';

export type WatermarkMode = 'records' | 'external';

/** How far the watermark moves before the rules hear of it (always, too, just before a checkpoint). */
export const WATERMARK_STEP_MS = 1_000;

/**
 * Event-time progress. The watermark is the time below which no record is expected any more:
 * - `records` (replay): the largest event time seen minus `allowedLatenessMs`;
 * - `external` (Kafka): only `{kind: 'watermark'}` inputs move it; the source computes it per partition.
 * In both modes a watermark input moves it forward, and it never moves back. A record older than the
 * watermark is late: counted and dropped here. Downstream stages hear of the watermark through
 * WatermarkMarks, sent when it has moved by `stepMs` (they only free state with it, so a coarse step
 * costs a little memory, never a result) and always just before a checkpoint.
 *
 * @example
 * input$.pipe(watermark(2 * 3_600_000)) // records on time, WatermarkMarks, CheckpointMarks
 */
export function watermark(
  allowedLatenessMs: number,
  mode: WatermarkMode = 'records',
  stepMs = WATERMARK_STEP_MS,
): OperatorFunction<CoreInput, TimedFlow> {
  return (source) =>
    new Observable<TimedFlow>((subscriber) => {
      const clock = new WatermarkClock(allowedLatenessMs, mode, stepMs);
      const announce = (time: number): void => {
        if (!Number.isNaN(time)) subscriber.next({ kind: 'watermark', time } satisfies WatermarkMark);
      };
      return source.subscribe({
        next(input) {
          if (input.kind === 'record') {
            const time = input.record.creation_time;
            if (input.replayed === true)
              clock.admitted(); // admitted when first processed (detect.ts)
            else if (!clock.onTime(time)) return;
            subscriber.next(input);
            announce(clock.afterRecord(time));
          } else if (input.kind === 'classified') {
            if (!clock.onTime(input.time)) return;
            subscriber.next(input);
            announce(clock.afterRecord(input.time));
          } else if (input.kind === 'watermark') {
            announce(clock.advance(input.time, true));
          } else if (input.kind === 'restore') {
            subscriber.next(input);
          } else {
            announce(clock.advance(clock.current, true));
            subscriber.next(clock.checkpoint(input.id));
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

/**
 * The watermark stage's state, without the operator plumbing (the fused core in detect.ts drives it
 * directly). Methods that may move the watermark return the time to announce downstream, or NaN when
 * nothing is to be announced.
 */
export class WatermarkClock {
  /** The watermark: -Infinity until there is one. */
  current = -Infinity;
  /** Records seen, and of those the late ones. */
  records = 0;
  late = 0;
  private sent = -Infinity;
  private maxEventTime = -Infinity;

  constructor(
    private readonly allowedLatenessMs: number,
    private readonly mode: WatermarkMode,
    private readonly stepMs: number = WATERMARK_STEP_MS,
  ) {}

  /** Counts a record; false when it is late (older than the watermark), and counts that too. */
  onTime(time: number): boolean {
    this.records++;
    if (time < this.current) {
      this.late++;
      return false;
    }
    return true;
  }

  /** Counts a record whose lateness was judged before the core (`detect`'s `lateness: 'upstream'`). */
  admitted(): void {
    this.records++;
  }

  /** After an on-time record has gone downstream: in `records` mode, its event time moves the watermark. */
  afterRecord(time: number): number {
    if (this.mode !== 'records' || time <= this.maxEventTime) return NaN;
    this.maxEventTime = time;
    return this.advance(time - this.allowedLatenessMs, false);
  }

  /** Moves the watermark forward to `time` (never back); `force` announces any move, not just a step. */
  advance(time: number, force: boolean): number {
    if (time > this.current) this.current = time;
    if (this.current > this.sent && (force || this.current - this.sent >= this.stepMs)) {
      this.sent = this.current;
      return this.current;
    }
    return NaN;
  }

  /** A checkpoint marker with this stage's part filled in (call `advance(current, true)` first). */
  checkpoint(id: number): CheckpointMark {
    const stats = emptyStats();
    stats.records = this.records;
    stats.late = this.late;
    return { kind: 'checkpoint', id, watermark: this.current, neededFrom: Infinity, stats, branches: 0 };
  }
}
