import { formatDuration } from '../config/duration.js';
import { ErrorCodes, RecordError } from '../errors.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';

/**
 * A record dated further ahead of the wall clock than `maxSkewMs` (detection.maxClockSkew): the
 * RECORD_FROM_FUTURE error that rejects it, or undefined when its time is plausible. Such a record must
 * never reach the core: its event time would drive the watermark ahead and make every real record late.
 * The core reads no clock; the edge (replay's read loop, run's batch) passes `nowMs` in.
 *
 * @example
 * futureError({ creation_time: Date.UTC(2099, 0, 1) }, Date.now(), 15 * 60_000);
 * // → RecordError RECORD_FROM_FUTURE 'creation_time: 2099-01-01T00:00:00.000Z is more than 15m ahead of …'
 */
export function futureError(
  record: Pick<ExchangeMailboxActivity, 'creation_time'>,
  nowMs: number,
  maxSkewMs: number,
): RecordError | undefined {
  const bound = nowMs + maxSkewMs;
  if (record.creation_time <= bound) return undefined;
  return new RecordError(
    'creation_time',
    `${iso(record.creation_time)} is more than ${formatDuration(maxSkewMs)} ahead of the clock ` +
      `(detection.maxClockSkew; latest accepted ${iso(bound)})`,
    ErrorCodes.RECORD_FROM_FUTURE,
  );
}

/** ISO-8601, or the number itself beyond what Date can show (year 275760 and later). */
function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
