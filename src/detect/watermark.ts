import { Observable, type OperatorFunction } from 'rxjs';
import {
  emptyStats,
  type CheckpointMark,
  type CoreInput,
  type TimedFlow,
  type WatermarkMark,
} from './types.js';

export type WatermarkMode = 'records' | 'external';

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
  stepMs = 1_000,
): OperatorFunction<CoreInput, TimedFlow> {
  return (source) =>
    new Observable<TimedFlow>((subscriber) => {
      let current = -Infinity;
      let sent = -Infinity;
      let maxEventTime = -Infinity;
      let records = 0;
      let late = 0;
      const advance = (time: number, force: boolean): void => {
        if (time > current) current = time;
        if (current > sent && (force || current - sent >= stepMs)) {
          sent = current;
          subscriber.next({ kind: 'watermark', time: current } satisfies WatermarkMark);
        }
      };
      return source.subscribe({
        next(input) {
          if (input.kind === 'record') {
            records++;
            const time = input.record.creation_time;
            if (time < current) {
              late++;
              return;
            }
            subscriber.next(input);
            if (mode === 'records' && time > maxEventTime) {
              maxEventTime = time;
              advance(time - allowedLatenessMs, false);
            }
          } else if (input.kind === 'watermark') {
            advance(input.time, true);
          } else {
            advance(current, true);
            const stats = emptyStats();
            stats.records = records;
            stats.late = late;
            const mark: CheckpointMark = {
              kind: 'checkpoint',
              id: input.id,
              watermark: current,
              neededFrom: Infinity,
              stats,
              branches: 0,
            };
            subscriber.next(mark);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}
