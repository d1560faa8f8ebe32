import { open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { Backtest } from '../backtest/runner.js';
import { parseGrid } from '../backtest/grid.js';
import { renderReport } from '../backtest/report.js';
import { settingsJson, settingsTable } from '../backtest/summary.js';
import { loadConfigInput } from '../config/load.js';
import { ErrorCodes, RadarError, RecordError } from '../errors.js';
import { alertToJson } from '../model/alert.js';
import { readHistory, type HistoryItem } from './history-input.js';
import { Progress, formatCount, perSecond } from './progress.js';
import { configOption } from './tooling.js';
import { toRecord, where } from './input-record.js';

export interface BacktestOptions {
  input: string[];
  config?: string | undefined;
  grid?: string[] | undefined;
  report: string;
  json?: boolean | undefined;
  alerts?: string | undefined;
  progress?: boolean | undefined;
}

export interface BacktestIo {
  stdin: Readable;
  stdout: Writable;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export const DEFAULT_REPORT = 'backtest-report.html';

/** Rejected records reported one by one on stderr; past this many, only counted. */
const REJECTS_SHOWN = 20;

/** Adds `backtest --input FILE… [--grid KEY=V1,V2…]…` to the program. */
export function registerBacktest(program: Command): void {
  configOption(
    program
      .command('backtest')
      .description(
        'run the detection over history for every combination of --grid settings, in one pass: ' +
          'a table on stdout (or --json) and an HTML report',
      )
      .requiredOption(
        '-i, --input <files...>',
        "activity records: NDJSON (snake_case or Management API), content-blob JSON, .gz too; '-' for standard input",
      )
      .option(
        '-g, --grid <key=values>',
        'a detection setting and the values to try, e.g. nonOwnerBurst.threshold=10,20,40 (repeatable)',
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      )
      .option('-r, --report <file>', 'the HTML report to write', DEFAULT_REPORT)
      .option('--json', 'the numbers as one JSON document on stdout instead of a table')
      .option(
        '--alerts <file>',
        "the configured settings' alerts, each in its final state, as NDJSON (what replay --final writes)",
      )
      .option('--no-progress', 'no progress lines on stderr'),
  ).action(async (options: BacktestOptions) => {
    process.exitCode = await backtest(options, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
    });
  });
}

/**
 * The backtest: validate the grid against the configuration schema (exit 2 on a bad option), read every
 * input once, record by record, feeding each parsed record to one detection core per setting, then write
 * the table (or JSON) on stdout and the HTML report. Rejected records are reported on stderr as `replay`
 * does (the first few one by one) and skipped.
 */
export async function backtest(options: BacktestOptions, io: BacktestIo): Promise<number> {
  const { input, sources } = loadConfigInput({
    file: options.config ?? io.env.MAILBOX_RADAR_CONFIG,
    env: io.env,
  });
  const grid = parseGrid(options.grid ?? [], input, sources);
  const base = grid.settings.find((s) => s.isDefault) as (typeof grid.settings)[number];
  if (options.input.filter((path) => path === '-').length > 1)
    throw new RadarError(ErrorCodes.CONFIG_INVALID, "--input: '-' (standard input) can be read only once");
  // The report's file is opened first: a path that cannot be written fails now, not after the pass.
  let report: FileHandle;
  try {
    report = await open(options.report, 'w');
  } catch (error) {
    throw new RadarError(
      ErrorCodes.CONFIG_INVALID,
      `--report ${options.report}: ${(error as Error).message}`,
      { cause: error },
    );
  }

  let written = false;
  try {
    const started = Date.now();
    const run = new Backtest(grid.settings, (s) => s.isDefault && options.alerts !== undefined);
    const counts = { read: 0, rejected: 0 };
    const progress = new Progress(
      io.stderr,
      options.progress !== false,
      (elapsed) =>
        `backtest: ${formatCount(counts.read)} read (${perSecond(counts.read, elapsed)}), ` +
        `${formatCount(counts.rejected)} rejected; alerts per setting ${run.alertsSoFar().join(' ')}`,
    );
    for (const path of options.input) {
      const batches = readHistory(path, io.stdin);
      for (;;) {
        let step: IteratorResult<HistoryItem[]>;
        try {
          step = await batches.next();
        } catch (error) {
          if (error instanceof RadarError) throw error;
          const reason = (error as Error).message;
          throw new RadarError(ErrorCodes.INPUT_NOT_FOUND, `cannot read ${path}: ${reason}`, {
            cause: error,
          });
        }
        if (step.done === true) break;
        // The wall clock, read here at the edge, once per batch (as replay does).
        const nowMs = Date.now();
        for (const item of step.value) {
          counts.read++;
          const record = toRecord(item, nowMs, base.detection.maxClockSkewMs);
          if (record instanceof RecordError) {
            counts.rejected++;
            if (counts.rejected <= REJECTS_SHOWN)
              io.stderr.write(`backtest: ${path} ${where(item)}: ${record.message} (${record.code})\n`);
          } else {
            run.record(record);
          }
        }
        progress.tick();
      }
    }
    const result = run.finish();
    progress.done();
    const elapsed = Date.now() - started;

    await report.writeFile(
      renderReport(result, { inputs: options.input, generatedAt: new Date(), keys: grid.keys }),
    );
    written = true;
    if (options.alerts !== undefined) {
      const finals = result.settings.find((s) => s.setting.isDefault)?.finals ?? [];
      await writeFile(options.alerts, finals.map((a) => `${JSON.stringify(alertToJson(a))}\n`).join(''));
    }
    const text =
      options.json === true
        ? `${JSON.stringify(settingsJson(grid.keys, result), null, 2)}\n`
        : settingsTable(grid.keys, result);
    io.stdout.write(text);
    const rss = Math.round(process.resourceUsage().maxRSS / 1024);
    io.stderr.write(
      `backtest: ${formatCount(result.records)} records (${formatCount(counts.rejected)} rejected${
        counts.rejected > REJECTS_SHOWN ? `, the first ${REJECTS_SHOWN} shown` : ''
      }) × ${grid.settings.length} setting${grid.settings.length === 1 ? '' : 's'} in ${(elapsed / 1000).toFixed(1)} s ` +
        `(${perSecond(counts.read, elapsed)}), peak RSS ${rss} MB; report: ${options.report}\n`,
    );
    return 0;
  } finally {
    await report.close();
    // No empty report left behind by a run that failed.
    if (!written) await rm(options.report, { force: true });
  }
}
