/**
 * One error catalog for the whole project. Every error carries a `code` from this closed list, a
 * `retriable` flag that retry logic reads (never the message), and an optional `cause`.
 * docs/errors.md lists every code; test/errors.test.ts checks the two agree.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  CONFIG_NOT_FOUND: 'CONFIG_NOT_FOUND',
  INPUT_NOT_FOUND: 'INPUT_NOT_FOUND',
  RECORD_INVALID: 'RECORD_INVALID',
  RECORD_NOT_JSON: 'RECORD_NOT_JSON',
  RECORD_FROM_FUTURE: 'RECORD_FROM_FUTURE',
  DECODE_NO_MAGIC_BYTE: 'DECODE_NO_MAGIC_BYTE',
  DECODE_UNKNOWN_SCHEMA: 'DECODE_UNKNOWN_SCHEMA',
  DECODE_INCOMPATIBLE_SCHEMA: 'DECODE_INCOMPATIBLE_SCHEMA',
  DECODE_TRUNCATED: 'DECODE_TRUNCATED',
  DECODE_EMPTY: 'DECODE_EMPTY',
  DECODE_CORRUPT: 'DECODE_CORRUPT',
  REGISTRY_UNAVAILABLE: 'REGISTRY_UNAVAILABLE',
  REGISTRY_UNAUTHORIZED: 'REGISTRY_UNAUTHORIZED',
  KAFKA_UNAVAILABLE: 'KAFKA_UNAVAILABLE',
  SHUTDOWN_TIMEOUT: 'SHUTDOWN_TIMEOUT',
  HTTP_LISTEN_FAILED: 'HTTP_LISTEN_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface RadarErrorOptions {
  cause?: unknown;
  retriable?: boolean;
}

export class RadarError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: RadarErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RadarError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration value was refused: names the key, the value and why. */
export class ConfigError extends RadarError {
  readonly key: string;
  readonly value: unknown;
  readonly reason: string;

  constructor(key: string, value: unknown, reason: string) {
    super(ErrorCodes.CONFIG_INVALID, `invalid config ${key}=${formatValue(value)}: ${reason}`);
    this.name = 'ConfigError';
    this.key = key;
    this.value = value;
    this.reason = reason;
  }
}

/** A record that is not a valid ExchangeMailboxActivity: names the field and why. */
export class RecordError extends RadarError {
  readonly field: string | null;

  constructor(field: string | null, reason: string, code: ErrorCode = ErrorCodes.RECORD_INVALID) {
    super(code, field === null ? reason : `${field}: ${reason}`);
    this.name = 'RecordError';
    this.field = field;
  }
}

/** A Kafka message value that cannot be decoded into an activity record. */
export class DecodeError extends RadarError {
  constructor(code: ErrorCode, message: string, options: RadarErrorOptions = {}) {
    super(code, message, options);
    this.name = 'DecodeError';
  }
}

function formatValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
