import pino, { type Logger } from 'pino';

/** Structured JSON logs on stderr (stdout stays free for data). Secrets are redacted wherever they appear. */
export function createLogger(level: string, name = 'mailbox-radar'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: [
          'password',
          '*.password',
          '*.*.password',
          'sasl',
          '*.sasl',
          'authorization',
          '*.authorization',
          'config.registry.password',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination(2),
  );
}
