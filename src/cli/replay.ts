import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { Subject } from 'rxjs';
import { loadConfig } from '../config/load.js';
import { detect } from '../detect/detect.js';
import type { CoreInput, CoreStats } from '../detect/types.js';
import { ErrorCodes, RadarError, RecordError } from '../errors.js';
import { alertToJson, RULES, type MailboxAccessAlert } from '../model/alert.js';
import { readNdjsonBatches, type NdjsonItem } from './ndjson.js';
import { openInput } from './open-input.js';
import { toRecord, where } from './input-record.js';

export interface ReplayOptions {
  /** NDJSON file, or `-` for standard input. */
  input: string;
  config?: string | undefined;
  /** Only each alert's final state (its last revision), once the input is read. */
  final?: boolean | undefined;
}

export interface ReplayIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** Adds `replay --input FILE|- [--config FILE]` to the program. */
export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      'run the detection over NDJSON activity records: alerts as NDJSON on stdout, diagnostics on stderr',
    )
    .requiredOption('-i, --input <file>', "NDJSON file of activity records, '-' for standard input")
    .option('-c, --config <file>', 'configuration file, YAML or JSON (default: $MAILBOX_RADAR_CONFIG)')
    .option('--final', "only each alert's final state (its last revision) instead of every revision")
    .action(async (options: ReplayOptions) => {
      process.exitCode = await replay(options, {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
      });
    });
}

interface Counts {
  lines: number;
  rejected: number;
  /** Of the rejected, those dated beyond detection.maxClockSkew (RECORD_FROM_FUTURE). */
  fromFuture: number;
}

/**
 * The replay: read NDJSON (snake_case, Management Activity API or Sentinel records; arrays of them too),
 * run the detection core with the watermark taken from the records, write each alert message as one JSON
 * line: every revision (open, updates, closed; the end of the input closes every episode still open), or
 * with `final` only each alert's last one. Rejected lines and a summary go to stderr. Resolves to the exit code (0 once the input was read, even
 * with rejected lines); a missing input or a bad configuration throws a RadarError (exit 2 in main).
 */
export async function replay(options: ReplayOptions, io: ReplayIo): Promise<number> {
  const config = loadConfig({ file: options.config ?? io.env.MAILBOX_RADAR_CONFIG, env: io.env });
  const input = await openInput(options.input, io.stdin);

  const out = new Output(io.stdout);
  const err = new Output(io.stderr);
  let stats: CoreStats | undefined;
  let coreFailure: unknown;
  const inputs = new Subject<CoreInput>();
  // --final: the latest revision of each alert, in the order the alerts opened.
  const finals = new Map<string, MailboxAccessAlert>();
  const subscription = inputs.pipe(detect(config.detection)).subscribe({
    next(output) {
      if (output.kind === 'alert') {
        if (options.final === true) finals.set(output.alert.alert_id, output.alert);
        else out.write(`${JSON.stringify(alertToJson(output.alert))}\n`);
      } else if (output.kind === 'checkpoint') stats = output.stats;
      // State changes (first_app_access's last-seen apps) matter to `run`'s changelog, not to a replay.
    },
    error(error: unknown) {
      coreFailure = error;
    },
  });

  const counts: Counts = { lines: 0, rejected: 0, fromFuture: 0 };
  const batches = readNdjsonBatches(input);
  try {
    for (;;) {
      let step: IteratorResult<NdjsonItem[]>;
      try {
        step = await batches.next();
      } catch (error) {
        const reason = (error as Error).message;
        throw new RadarError(ErrorCodes.INPUT_NOT_FOUND, `cannot read ${options.input}: ${reason}`, {
          cause: error,
        });
      }
      if (step.done === true) break;
      const batch = step.value;
      // The wall clock, read here at the edge, once per batch: a file is read in moments, and input piped
      // in for hours (`-`) still has its bound move with the clock.
      const nowMs = Date.now();
      for (const item of batch) {
        const record = toRecord(item, nowMs, config.detection.maxClockSkewMs);
        if (record instanceof RecordError) {
          counts.rejected++;
          if (record.code === ErrorCodes.RECORD_FROM_FUTURE) counts.fromFuture++;
          err.write(`${where(item)}: ${record.message} (${record.code})\n`);
        } else {
          inputs.next({ kind: 'record', record });
        }
      }
      counts.lines = (batch[batch.length - 1] as NdjsonItem).lineNumber;
      if (coreFailure !== undefined) throw coreFailure;
      if (out.blocked || err.blocked) await Promise.all([out.drained(), err.drained()]);
      if (out.failure !== undefined) throw out.failure;
      if (out.closed) break; // the reader went away (e.g. `| head`): stop quietly
    }
  } finally {
    await batches.return(undefined);
    input.destroy();
  }
  // The history has ended: every episode is over, and its alert closes with the final totals.
  if (!out.closed) inputs.next({ kind: 'watermark', time: Number.POSITIVE_INFINITY });
  inputs.next({ kind: 'checkpoint', id: 0 });
  inputs.complete();
  for (const alert of finals.values()) out.write(`${JSON.stringify(alertToJson(alert))}\n`);
  subscription.unsubscribe();
  if (coreFailure !== undefined) throw coreFailure;
  if (stats !== undefined) err.write(summary(stats, counts));
  await Promise.all([out.drained(), err.drained()]);
  return 0;
}

function summary(stats: CoreStats, counts: Counts): string {
  const alerts = RULES.map((rule) => `${rule} ${stats.alerts[rule]}`).join(', ');
  const total = RULES.reduce((sum, rule) => sum + stats.alerts[rule], 0);
  return [
    `replay: ${stats.records} records read from ${counts.lines} lines, ${counts.rejected} rejected${
      counts.fromFuture > 0 ? ` (${counts.fromFuture} from the future)` : ''
    }`,
    `  duplicates ${stats.duplicates}, late ${stats.late}`,
    `  owner ${stats.owner}, system ${stats.system}, non-owner ${stats.nonOwner} (cross-domain ${stats.crossDomain}), app ${stats.app}, allow-listed ${stats.allowListed}, unattributable ${stats.unattributable}`,
    `  alerts ${total}: ${alerts}`,
    '',
  ].join('\n');
}

/** A writable with its backpressure made visible: `blocked` after a full write, `drained()` to wait. */
class Output {
  blocked = false;
  closed = false;

  constructor(private readonly stream: Writable) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      this.closed = true;
      this.blocked = false;
      if (error.code !== 'EPIPE') this.failure = error;
    });
  }

  /** A write error other than the reader going away; replay fails with it. */
  failure: Error | undefined;

  /** Never throws (it runs inside the core's subscriber); the read loop checks `failure`. */
  write(text: string): void {
    if (this.closed) return;
    if (!this.stream.write(text)) this.blocked = true;
  }

  async drained(): Promise<void> {
    if (!this.blocked || this.closed) return;
    try {
      await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]);
    } catch {
      // An 'error' while waiting: the listener above has recorded it.
    }
    this.blocked = false;
  }
}
