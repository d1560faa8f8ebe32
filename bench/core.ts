/**
 * The detection core's cost, beside the cost of just reading the input.
 *
 *   baseline  readline + JSON.parse over the NDJSON file (what any replay must pay)
 *   replay    the replay command's path: readline → JSON.parse → parseRecord → core → alerts as JSON
 *   core      the core alone over records already parsed and in memory
 *
 * The records come from bench/generate.ts (≥ 1M, deterministic). Each case runs in its own child process
 * so its peak RSS is its own (process.resourceUsage().maxRSS). Prints a table and writes
 * .bench/core.json. Goal: replay keeps at least half of the baseline's records/s.
 *
 *   node --import tsx bench/core.ts [--records 1000000] [--seed 42] [--runs 2]
 */
import { spawn } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { from } from 'rxjs';
import { replay } from '../src/cli/replay.js';
import { defaultConfig } from '../src/config/load.js';
import { detect } from '../src/detect/detect.js';
import type { CoreInput } from '../src/detect/types.js';
import { BENCH_DEFAULTS, generateActivity } from './generate.js';

export type CaseName = 'baseline' | 'replay' | 'core';

export interface CaseResult {
  name: CaseName;
  records: number;
  ms: number;
  recordsPerSecond: number;
  /** Peak resident set size of the case's process. */
  peakRssMb: number;
  /** RSS once the input was ready, before timing (the core case holds every record in memory). */
  startRssMb: number;
  alerts: number | null;
}

export interface CoreBenchResult {
  records: number;
  seed: number;
  fileMb: number;
  node: string;
  cases: CaseResult[];
  /** replay records/s ÷ baseline records/s. */
  replayVsBaseline: number;
  goal: string;
  goalMet: boolean;
}

export interface CoreBenchOptions {
  records?: number;
  seed?: number;
  /** Runs per case; the fastest counts (default 2). */
  runs?: number;
  /** Where the JSON results go (default .bench/core.json); null: nowhere. */
  out?: string | null;
  log?: (line: string) => void;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CASES: readonly CaseName[] = ['baseline', 'replay', 'core'];

export async function benchCore(options: CoreBenchOptions = {}): Promise<CoreBenchResult> {
  const records = options.records ?? BENCH_DEFAULTS.records;
  const seed = options.seed ?? BENCH_DEFAULTS.seed;
  const runs = options.runs ?? 2;
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-bench-'));
  try {
    const file = join(dir, 'activity.ndjson');
    log(`generating ${records} records (seed ${seed}) …`);
    await writeNdjson(file, records, seed);
    const fileMb = statSync(file).size / 1_048_576;
    const cases: CaseResult[] = [];
    for (const name of CASES) {
      let best: CaseResult | undefined;
      for (let run = 0; run < runs; run++) {
        const result = await runChild(name, file, records, seed);
        if (best === undefined || result.ms < best.ms)
          best = { ...result, peakRssMb: Math.max(result.peakRssMb, best?.peakRssMb ?? 0) };
      }
      cases.push(best as CaseResult);
      log(`  ${name}: ${Math.round((best as CaseResult).recordsPerSecond).toLocaleString('en')} records/s`);
    }
    const rate = (name: CaseName) => (cases.find((c) => c.name === name) as CaseResult).recordsPerSecond;
    const ratio = rate('replay') / rate('baseline');
    const result: CoreBenchResult = {
      records,
      seed,
      fileMb: round(fileMb),
      node: process.version,
      cases,
      replayVsBaseline: round(ratio),
      goal: 'replay ≥ 50% of the baseline records/s',
      goalMet: ratio >= 0.5,
    };
    log(table(result));
    if (options.out !== null) {
      const out = options.out ?? join(ROOT, '.bench', 'core.json');
      mkdirSync(join(out, '..'), { recursive: true });
      writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
      log(`results: ${out}`);
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function writeNdjson(file: string, records: number, seed: number): Promise<void> {
  const out = createWriteStream(file);
  let batch: string[] = [];
  for (const record of generateActivity({ records, seed })) {
    batch.push(JSON.stringify(record));
    if (batch.length === 1_000) {
      if (!out.write(`${batch.join('\n')}\n`)) await once(out, 'drain');
      batch = [];
    }
  }
  if (batch.length > 0) out.write(`${batch.join('\n')}\n`);
  out.end();
  await once(out, 'finish');
}

function runChild(name: CaseName, file: string, records: number, seed: number): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const args = [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--case',
      name,
      '--file',
      file,
      '--records',
      String(records),
      '--seed',
      String(seed),
    ];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`bench case ${name} exited with ${code}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as CaseResult);
    });
  });
}

// ---- the cases, each in its own process -----------------------------------------------------------

async function runCase(name: CaseName, file: string, records: number, seed: number): Promise<CaseResult> {
  if (name === 'baseline') {
    const start = performance.now();
    let count = 0;
    const lines = createInterface({
      input: createReadStream(file, { highWaterMark: 256 * 1024 }),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      if (line.length === 0) continue;
      JSON.parse(line);
      count++;
    }
    return measured(name, count, performance.now() - start, 0, null);
  }
  if (name === 'replay') {
    let alerts = 0;
    let summary = '';
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const byte of chunk) if (byte === 10) alerts++;
        callback();
      },
    });
    const stderr = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        summary += chunk.toString();
        callback();
      },
    });
    const start = performance.now();
    await replay({ input: file }, { stdin: process.stdin, stdout, stderr, env: {} });
    const ms = performance.now() - start;
    const read = /(\d+) records read/.exec(summary);
    return measured(name, Number(read?.[1] ?? 0), ms, 0, alerts);
  }
  const inputs: CoreInput[] = [];
  for (const record of generateActivity({ records, seed })) inputs.push({ kind: 'record', record });
  inputs.push({ kind: 'checkpoint', id: 0 });
  const startRss = process.memoryUsage().rss;
  let alerts = 0;
  const start = performance.now();
  from(inputs)
    .pipe(detect(defaultConfig().detection))
    .subscribe((output) => {
      if (output.kind === 'alert') alerts++;
    });
  return measured(name, inputs.length - 1, performance.now() - start, startRss, alerts);
}

function measured(
  name: CaseName,
  records: number,
  ms: number,
  startRss: number,
  alerts: number | null,
): CaseResult {
  return {
    name,
    records,
    ms: Math.round(ms),
    recordsPerSecond: Math.round(records / (ms / 1000)),
    peakRssMb: round(process.resourceUsage().maxRSS / 1024),
    startRssMb: round(startRss / 1_048_576),
    alerts,
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function table(result: CoreBenchResult): string {
  const rows = result.cases.map((c) => [
    c.name,
    c.records.toLocaleString('en'),
    `${(c.ms / 1000).toFixed(2)} s`,
    Math.round(c.recordsPerSecond).toLocaleString('en'),
    `${c.peakRssMb} MB`,
    c.name === 'core' ? `${c.startRssMb} MB` : '',
    c.alerts === null ? '' : String(c.alerts),
  ]);
  const header = ['case', 'records', 'time', 'records/s', 'peak RSS', 'input RSS', 'alerts'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ');
  return [
    '',
    `core bench — ${result.records.toLocaleString('en')} records, ${result.fileMb} MB of NDJSON, node ${result.node}`,
    line(header),
    ...rows.map(line),
    `replay / baseline = ${result.replayVsBaseline} (${result.goal}: ${result.goalMet ? 'met' : 'NOT met'})`,
    '',
  ].join('\n');
}

// ---- command line ------------------------------------------------------------------------------------

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const records = Number(argument('records') ?? BENCH_DEFAULTS.records);
  const seed = Number(argument('seed') ?? BENCH_DEFAULTS.seed);
  const name = argument('case') as CaseName | undefined;
  if (name !== undefined) {
    const result = await runCase(name, argument('file') as string, records, seed);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const result = await benchCore({ records, seed, runs: Number(argument('runs') ?? 2) });
    if (!result.goalMet) process.exitCode = 1;
  }
}
