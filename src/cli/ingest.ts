import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { parseRecord } from '../detect/parse-record.js';
import { ErrorCodes, RadarError, RecordError } from '../errors.js';
import { createKafka } from '../kafka/client.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import { readJsonInput, type JsonInputItem } from './json-input.js';
import { Progress, formatCount, perSecond } from './progress.js';
import {
  configOption,
  loadToolConfig,
  onStopSignal,
  parsePositiveInt,
  reportFailure,
  openActivityWriter,
} from './tooling.js';
import { openInput } from './open-input.js';

export interface IngestOptions {
  input: string;
  config?: string | undefined;
  rejects?: string | undefined;
  batchSize: string;
  progress?: boolean | undefined;
}

export interface IngestIo {
  stdin: Readable;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** Adds `ingest` to the program. */
export function registerIngest(program: Command): void {
  configOption(
    program
      .command('ingest')
      .description(
        'Office 365 Management Activity API JSON (NDJSON, or content-blob files holding a JSON array) → ' +
          'Avro records on the activity topic, keyed by mailbox_guid',
      ),
  )
    .requiredOption('-i, --input <file>', "JSON or NDJSON file, '-' for standard input")
    .option('--rejects <file>', 'also write rejected records there as NDJSON (position, reason, original)')
    .option('--batch-size <n>', 'records per produce request', '500')
    .option('--progress', 'progress lines on stderr even when it is not a terminal')
    .action(async (options: IngestOptions) => {
      process.exitCode = await ingest(options, {
        stdin: process.stdin,
        stderr: process.stderr,
        env: process.env,
      });
    });
}

interface Counts {
  read: number;
  sent: number;
  rejected: number;
}

/**
 * Reads, validates (parseRecord: PascalCase, snake_case or Sentinel), sends in batches and waits for
 * the acknowledgements. Resolves to the exit code: 0 once the input was read (rejects or not), 1 when
 * Kafka or the registry fails, 130 when interrupted; a missing input or bad config throws (exit 2).
 */
export async function ingest(options: IngestOptions, io: IngestIo): Promise<number> {
  const config = loadToolConfig(options.config, io.env);
  const batchSize = parsePositiveInt('--batch-size', options.batchSize);
  const input = await openInput(options.input, io.stdin);
  const topic = config.topics.activity;
  const kafka = createKafka(config.kafka, undefined, '-ingest');
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const counts: Counts = { read: 0, sent: 0, rejected: 0 };
  const started = Date.now();
  const progress = new Progress(
    io.stderr,
    options.progress === true || (io.stderr as NodeJS.WriteStream).isTTY === true,
    (elapsed) =>
      `ingest: ${formatCount(counts.read)} read, ${formatCount(counts.sent)} sent, ${formatCount(counts.rejected)} rejected (${perSecond(counts.read, elapsed)})`,
  );
  const controller = new AbortController();
  const release = onStopSignal(() => controller.abort());
  let rejects: Rejects | undefined;
  let connected = false;
  try {
    rejects = options.rejects === undefined ? undefined : await Rejects.open(options.rejects);
    const writer = await openActivityWriter(config, kafka, producer, topic);
    connected = true;

    // One batch in flight while the next is read and parsed.
    let inFlight: Promise<void> = Promise.resolve();
    let batch: ExchangeMailboxActivity[] = [];
    const flush = async (): Promise<void> => {
      await inFlight;
      if (batch.length === 0) return;
      const sending = batch;
      batch = [];
      inFlight = writer
        .send(sending.map((record) => ({ key: record.mailbox_guid, value: record })))
        .then(() => {
          counts.sent += sending.length;
        });
    };
    try {
      for await (const item of readJsonInput(input)) {
        if (controller.signal.aborted) break;
        counts.read++;
        const record = toRecord(item);
        if (record instanceof RecordError) {
          counts.rejected++;
          io.stderr.write(`ingest: ${where(item)}: ${record.message}\n`);
          await rejects?.write(item, record.message);
        } else {
          batch.push(record);
          if (batch.length >= batchSize) await flush();
        }
        progress.tick();
      }
    } catch (error) {
      if (error instanceof RadarError || (error as Error).name.startsWith('KafkaJS')) throw error;
      throw new RadarError(
        ErrorCodes.INPUT_NOT_FOUND,
        `cannot read ${options.input}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    await flush();
    await inFlight;
    progress.done();
    const elapsed = Date.now() - started;
    io.stderr.write(
      `ingest: ${controller.signal.aborted ? 'interrupted' : 'done'}: ${formatCount(counts.read)} read, ${formatCount(counts.sent)} sent to ${topic}, ` +
        `${formatCount(counts.rejected)} rejected${rejects === undefined ? '' : ` (written to ${options.rejects})`} in ` +
        `${(elapsed / 1000).toFixed(1)}s (${perSecond(counts.read, elapsed)})\n`,
    );
    return controller.signal.aborted ? 130 : 0;
  } catch (error) {
    progress.done();
    return reportFailure('ingest', error, io.stderr);
  } finally {
    release();
    input.destroy();
    await rejects?.close();
    if (connected) await producer.disconnect().catch(() => undefined);
  }
}

function toRecord(item: JsonInputItem): ExchangeMailboxActivity | RecordError {
  if ('error' in item) return new RecordError(null, item.error, ErrorCodes.RECORD_NOT_JSON);
  try {
    return parseRecord(item.value);
  } catch (error) {
    if (error instanceof RecordError) return error;
    throw error;
  }
}

/** `line 12`, or `line 3 [41]` for the 42nd element of an array that starts on line 3. */
function where(item: JsonInputItem): string {
  return item.index === null ? `line ${item.line}` : `line ${item.line} [${item.index}]`;
}

/** The --rejects file: one JSON line per rejected record. */
class Rejects {
  private constructor(private readonly stream: WriteStream) {}

  static async open(path: string): Promise<Rejects> {
    const stream = createWriteStream(path);
    try {
      await once(stream, 'open');
    } catch (error) {
      throw new RadarError(ErrorCodes.INPUT_NOT_FOUND, `rejects file ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return new Rejects(stream);
  }

  async write(item: JsonInputItem, reason: string): Promise<void> {
    const original = 'error' in item ? item.raw : item.value;
    const line = JSON.stringify({ position: { line: item.line, index: item.index }, reason, original });
    if (!this.stream.write(`${line}\n`)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream as Writable, 'finish').catch(() => undefined);
  }
}
