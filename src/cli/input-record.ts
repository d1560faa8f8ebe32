import { futureError } from '../detect/clock-skew.js';
import { parseRecord } from '../detect/parse-record.js';
import { RecordError } from '../errors.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import type { NdjsonItem } from './ndjson.js';

/** The record of an input item, or why it is rejected: not JSON, invalid, or dated too far ahead of the clock. */
export function toRecord(
  item: NdjsonItem,
  nowMs: number,
  maxClockSkewMs: number,
): ExchangeMailboxActivity | RecordError {
  if ('error' in item) return item.error;
  try {
    const record = parseRecord(item.value);
    return futureError(record, nowMs, maxClockSkewMs) ?? record;
  } catch (error) {
    if (error instanceof RecordError) return error;
    throw error;
  }
}

/** Where an input item stands, for a message: its line, and its index in a line's array. */
export function where(item: NdjsonItem): string {
  return item.index === null ? `line ${item.lineNumber}` : `line ${item.lineNumber} [${item.index}]`;
}
