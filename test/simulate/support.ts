/** Helpers for the tooling tests: run the CLI as a user would, run records through the detection core. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { from, lastValueFrom, toArray } from 'rxjs';
import { parseConfig } from '../../src/config/load.js';
import { detect } from '../../src/detect/detect.js';
import type { DetectionConfig } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** The default detection configuration with the simulated tenant's organization (contoso.com + contoso.co.uk). */
export function tenantDetection(): DetectionConfig {
  return parseConfig({ detection: { organizationDomains: [['contoso.com', 'contoso.co.uk']] } }).detection;
}

/** The alerts the pure core raises over these records, in order. */
export async function alertsOf(
  records: Iterable<ExchangeMailboxActivity>,
  config: DetectionConfig = tenantDetection(),
): Promise<MailboxAccessAlert[]> {
  const inputs = [...records].map((record) => ({ kind: 'record' as const, record }));
  const outputs = await lastValueFrom(from(inputs).pipe(detect(config), toArray()));
  return outputs.flatMap((o) => (o.kind === 'alert' ? [o.alert] : []));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when stderr has printed a line that includes `text`. */
  stderrIncludes(text: string, timeoutMs?: number): Promise<void>;
  result: Promise<CliResult>;
}

/** Starts `mailbox-radar <args>` through tsx with only PATH and `env` in its environment. */
export function startCli(
  args: string[],
  options: { env?: Record<string, string>; stdinFile?: string } = {},
): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const w of waiters.splice(0))
      if (stderr.includes(w.text)) w.resolve();
      else waiters.push(w);
  });
  if (options.stdinFile !== undefined) createReadStream(options.stdinFile).pipe(child.stdin);
  else child.stdin.end();
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    result,
    stderrIncludes: (text, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        if (stderr.includes(text)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`no "${text}" on stderr within ${timeoutMs}ms:\n${stderr}`)),
          timeoutMs,
        );
        waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
        void result.then(() => {
          clearTimeout(timer);
          if (stderr.includes(text)) resolve();
          else reject(new Error(`exited without "${text}" on stderr:\n${stderr}`));
        });
      }),
  };
}

/** Runs `mailbox-radar <args>` to the end. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; stdinFile?: string } = {},
): Promise<CliResult> {
  return startCli(args, options).result;
}
