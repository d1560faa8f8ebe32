import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from '../config/types.js';

/**
 * Logs on stderr (stdout stays free for data), secrets redacted wherever they appear. JSON for machines;
 * readable lines for a person at a terminal (`log.format: auto`, the default, chooses by whether stderr
 * is a TTY).
 */
export function createLogger(
  level: string,
  format: LogFormat = 'json',
  stderrIsTty: boolean = process.stderr.isTTY === true,
): Logger {
  const options: LoggerOptions = {
    name: 'mailbox-radar',
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
  };
  return resolveLogFormat(format, stderrIsTty) === 'pretty'
    ? pino(options, prettyStream(2, stderrIsTty))
    : // Synchronous, as the pretty stream: entries reach stderr in the order they were made, and none is
      // lost when `run` calls process.exit (an asynchronous destination once wrote `stopping` after `stopped`).
      pino(options, pino.destination({ dest: 2, sync: true }));
}

/** What `auto` means here: pretty on a terminal, JSON for anything else. */
export function resolveLogFormat(format: LogFormat, stderrIsTty: boolean): 'json' | 'pretty' {
  if (format === 'auto') return stderrIsTty ? 'pretty' : 'json';
  return format;
}

interface LoggedError {
  message?: string;
  code?: string;
  stack?: string;
}

/**
 * One line per entry: time, level, message, then the other fields as compact JSON. An error is told in
 * the message (its text and code), not as a JSON object with a stack: the codes are documented in
 * docs/errors.md. Only an error without a code — a bug, not a failure the catalog names — keeps its stack.
 * Synchronous (on fd 2 for `run`), in this thread: pino's transport worker could lose the last lines
 * when `run` calls process.exit.
 */
export function prettyStream(
  destination: number | NodeJS.WritableStream,
  colorize: boolean,
): DestinationStream {
  return pretty({
    sync: true,
    destination,
    colorize,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name,err',
    messageFormat: (log, messageKey) => {
      let message = String(log[messageKey] ?? '');
      const err = log.err as LoggedError | undefined;
      if (err === undefined) return message;
      if (err.message !== undefined && !message.includes(err.message)) message += `: ${err.message}`;
      if (err.code !== undefined && err.code !== log.code) message += ` (${err.code})`;
      else if (err.code === undefined && err.stack !== undefined) message += `\n${err.stack}`;
      return message;
    },
  }) as DestinationStream;
}
