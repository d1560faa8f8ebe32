import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Consumer } from 'kafkajs';
import { formatDuration } from '../config/duration.js';
import { alertToJson, type MailboxAccessAlert } from '../model/alert.js';
import { allDetected, compareWithManifest, formatComparison, type AlertKey } from '../simulate/compare.js';
import type { Manifest } from '../simulate/simulation.js';
import { alertBatches, describeAt, openAlertSource } from './alert-source.js';
import {
  configOption,
  connectKafka,
  loadToolConfig,
  onStopSignal,
  parseDurationOption,
  parsePositiveInt,
  reportFailure,
} from './tooling.js';

export interface TailOptions {
  config?: string | undefined;
  fromBeginning?: boolean | undefined;
  json?: boolean | undefined;
  max?: string | undefined;
  timeout?: string | undefined;
  group?: string | undefined;
  manifest?: string | undefined;
}

export interface TailIo {
  stdout: Writable;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** Adds `tail` to the program. */
export function registerTail(program: Command): void {
  configOption(
    program
      .command('tail')
      .description(
        'print the alerts published on the alert topics as they arrive (readable lines, or --json)',
      ),
  )
    .option('--from-beginning', 'read the alert topics from their first message (default: only new alerts)')
    .option('--json', 'one alert per line as JSON (the alert schema’s field names, times ISO-8601)')
    .option('--max <n>', 'stop after this many alerts')
    .option('--timeout <duration>', 'stop after this long, e.g. 30s, 5m; exit code 3 if no alert came')
    .option('-g, --group <id>', 'consumer group (default: a new one per run, so every run sees every alert)')
    .option(
      '--manifest <file>',
      'compare the alerts with a `simulate --manifest` file (waits for it to appear); stop once every injected ' +
        'attack was seen; print injected vs detected per rule on stderr; exit 1 if one was missed',
    )
    .action(async (options: TailOptions) => {
      process.exitCode = await tail(options, {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
      });
    });
}

/** `tail --timeout` ended without an alert: a script waiting for one can tell that from a clean stop. */
export const EXIT_NO_ALERT = 3;

/**
 * Runs until --max, --timeout, every manifest attack seen, or SIGINT/SIGTERM; resolves to the exit code:
 * 0, or EXIT_NO_ALERT when --timeout passed without one (with --manifest: 1 when an attack was missed).
 */
export async function tail(options: TailOptions, io: TailIo): Promise<number> {
  const config = loadToolConfig(options.config, io.env);
  const max = options.max === undefined ? Infinity : parsePositiveInt('--max', options.max);
  const timeoutMs =
    options.timeout === undefined ? undefined : parseDurationOption('--timeout', options.timeout);
  const groupId = options.group ?? `${config.kafka.groupId}-tail-${randomUUID().slice(0, 8)}`;
  let consumer: Consumer | undefined;
  const seen: AlertKey[] = [];
  /** The last message of each alert_id, to show how an update grew. */
  const latest = new Map<string, MailboxAccessAlert>();
  const manifest = options.manifest === undefined ? undefined : new ManifestWatch(options.manifest);

  let stopping = false;
  let failure: unknown;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const stop = (): void => {
    stopping = true;
    resolveDone();
  };
  const release = onStopSignal(stop);
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stop();
        }, timeoutMs);
  io.stdout.on('error', stop); // the reader went away (`| head`)

  let connected = false;
  try {
    const { kafka, topics, codec } = await openAlertSource(config, io.stderr, '-tail');
    consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    await connectKafka(consumer, config.kafka);
    connected = true;
    consumer.on(consumer.events.GROUP_JOIN, () =>
      io.stderr.write(
        `tail: listening on ${topics.join(', ')} (group ${groupId}, ${options.fromBeginning === true ? 'from the beginning' : 'new alerts only'})\n`,
      ),
    );
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) {
        failure = payload.error;
        stop();
      }
    });
    await consumer.subscribe({ topics, fromBeginning: options.fromBeginning === true });
    if (manifest !== undefined)
      manifest.poll(() => allDetected(compareWithManifest(manifest.value!, seen)) && stop());

    await consumer.run({
      eachBatch: alertBatches(codec, {
        alert: (alert) => {
          io.stdout.write(
            options.json === true
              ? `${JSON.stringify(alertToJson(alert))}\n`
              : `${formatAlert(alert, latest.get(alert.alert_id))}\n`,
          );
          latest.set(alert.alert_id, alert);
          seen.push(alert);
          if (seen.length >= max) stop();
          else if (manifest?.value !== undefined && allDetected(compareWithManifest(manifest.value, seen)))
            stop();
        },
        undecodable: (error, at) => io.stderr.write(`tail: ${describeAt(at)}: ${error.message}\n`),
        failed: (error) => {
          failure = error; // the registry does not answer
          stop();
        },
        stopped: () => stopping,
      }),
    });
    await done;
  } catch (error) {
    failure = error;
  } finally {
    release();
    clearTimeout(timer);
    manifest?.stop();
    if (connected && consumer !== undefined) await disconnect(consumer);
  }
  if (failure !== undefined) return reportFailure('tail', failure, io.stderr);
  io.stderr.write(`tail: ${seen.length} alert${seen.length === 1 ? '' : 's'}\n`);
  if (manifest !== undefined) return reportManifest(manifest, seen, io);
  if (timedOut && seen.length === 0) {
    io.stderr.write(`tail: no alert within --timeout ${options.timeout} (exit code ${EXIT_NO_ALERT})\n`);
    return EXIT_NO_ALERT;
  }
  return 0;
}

async function disconnect(consumer: Consumer): Promise<void> {
  await consumer.disconnect().catch(() => undefined);
}

async function reportManifest(manifest: ManifestWatch, seen: AlertKey[], io: TailIo): Promise<number> {
  await manifest.load();
  if (manifest.value === undefined) {
    io.stderr.write(
      `tail: no manifest to compare with (${manifest.file}: ${manifest.problem ?? 'not found'})\n`,
    );
    return 1;
  }
  const comparison = compareWithManifest(manifest.value, seen);
  io.stderr.write(`tail: injected vs detected (${manifest.file}):\n${formatComparison(comparison)}`);
  return allDetected(comparison) ? 0 : 1;
}

/** A manifest file that may not exist yet (simulate writes it when it ends): read once it appears. */
class ManifestWatch {
  value: Manifest | undefined;
  problem: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly file: string) {}

  poll(onLoad: () => void): void {
    const attempt = async (): Promise<void> => {
      await this.load();
      if (this.value !== undefined) onLoad();
      else this.timer = setTimeout(() => void attempt(), 1_000);
    };
    void attempt();
  }

  async load(): Promise<void> {
    if (this.value !== undefined) return;
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Manifest;
      if (typeof parsed !== 'object' || parsed === null || typeof parsed.attacks !== 'object')
        throw new Error('not a simulate manifest (no "attacks")');
      this.value = parsed;
    } catch (error) {
      // Not there yet, or half written: try again later.
      this.problem =
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message;
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/**
 * One alert message as a line for people, its place in the alert's life first (issue 13):
 * `2026-11-25T09:02:41Z  open      high      cross_domain_burst  adelev@contoso.com ← mallory@fabrikam.com  5/5 in 10m  09:00:01 → 09:02:41`
 * An update shows the growth since the previous message of the same alert (`was 5`), a close how long
 * the episode lasted. `previous`: the last message seen of this alert_id, if any.
 */
export function formatAlert(alert: MailboxAccessAlert, previous?: MailboxAccessAlert): string {
  const detected = isoSeconds(alert.detected_at);
  const day = detected.slice(0, 10);
  const sweep = alert.rule === 'mailbox_sweep';
  const mailbox = sweep
    ? `${alert.distinct_mailbox_count} mailboxes`
    : (alert.mailbox_owner_upn ?? alert.mailbox_guid ?? '?');
  const count = sweep
    ? `${alert.distinct_mailbox_count}/${alert.threshold} mailboxes (${alert.event_count} reads)`
    : `${alert.event_count}/${alert.threshold}`;
  const when = (ms: number): string =>
    isoSeconds(ms).startsWith(day) ? isoSeconds(ms).slice(11, 19) : isoSeconds(ms);
  const status = alert.status ?? 'open';
  const revision = alert.revision ?? 0;
  const stage = status === 'open' && revision === 0 ? 'open' : `${status} #${revision}`;
  const was = sweep ? previous?.distinct_mailbox_count : previous?.event_count;
  const growth =
    status === 'update' && was !== undefined ? ` (was ${was})` : status === 'closed' ? ' final' : '';
  const lasted =
    status === 'closed' ? `  lasted ${formatDuration(alert.last_seen - alert.first_seen) || '0s'}` : '';
  return [
    detected,
    stage.padEnd(10),
    alert.severity.padEnd(8),
    alert.rule.padEnd(18),
    `${mailbox} ← ${alert.actor_user_id}`,
    `${count}${growth} in ${formatDuration(alert.window_ms)}`,
    `${when(alert.first_seen)} → ${when(alert.last_seen)}${lasted}`,
    // The policy that decided the alert's key (detection.policies), when one did.
    ...(alert.policy === undefined || alert.policy === null ? [] : [`policy ${alert.policy}`]),
  ].join('  ');
}

function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
