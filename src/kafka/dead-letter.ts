import type { Message } from 'kafkajs';
import { ErrorCodes, RadarError } from '../errors.js';

/**
 * The codes a record is dead-lettered with (docs/errors.md, where "decode"): it cannot be decoded, is not a
 * valid record, or is dated in the future. Anything else that is thrown while decoding is 'UNEXPECTED'.
 */
export const DEAD_LETTER_CODES = [
  ErrorCodes.DECODE_EMPTY,
  ErrorCodes.DECODE_NO_MAGIC_BYTE,
  ErrorCodes.DECODE_UNKNOWN_SCHEMA,
  ErrorCodes.DECODE_INCOMPATIBLE_SCHEMA,
  ErrorCodes.DECODE_TRUNCATED,
  ErrorCodes.DECODE_CORRUPT,
  ErrorCodes.RECORD_INVALID,
  ErrorCodes.RECORD_FROM_FUTURE,
] as const;

/** Header names on dead-letter messages. */
export const DeadLetterHeaders = {
  code: 'mailbox-radar.error.code',
  reason: 'mailbox-radar.error.reason',
  topic: 'mailbox-radar.source.topic',
  partition: 'mailbox-radar.source.partition',
  offset: 'mailbox-radar.source.offset',
  timestamp: 'mailbox-radar.source.timestamp',
} as const;

export interface SourcePosition {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
}

/**
 * The dead-letter message for a record that could not be decoded or validated: its original key and
 * bytes, unchanged, and headers naming the error and where the record came from. The source's own
 * headers are kept too, so nothing about the record is lost.
 */
export function deadLetter(
  message: { key: Buffer | null; value: Buffer | null; headers?: Message['headers'] },
  source: SourcePosition,
  error: unknown,
): Message {
  const code = error instanceof RadarError ? error.code : 'UNEXPECTED';
  const reason = error instanceof Error ? error.message : String(error);
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...(message.headers ?? {}),
      [DeadLetterHeaders.code]: code,
      [DeadLetterHeaders.reason]: reason.slice(0, 1_000),
      [DeadLetterHeaders.topic]: source.topic,
      [DeadLetterHeaders.partition]: String(source.partition),
      [DeadLetterHeaders.offset]: source.offset,
      [DeadLetterHeaders.timestamp]: source.timestamp,
    },
  };
}
