import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Config } from '../config/types.js';
import { ErrorCodes, RadarError } from '../errors.js';
import { createKafka } from '../kafka/client.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import { RULES } from '../model/alert.js';
import { toManagementApi } from '../simulate/management-api.js';
import { pace } from '../simulate/pacer.js';
import { Simulation, Tally, buildManifest } from '../simulate/simulation.js';
import { PatternSet } from '../config/glob.js';
import {
  BACKUP_APP_ID,
  HELPDESK_ACTORS,
  ORGANIZATION_DOMAINS,
  tenantDetectionSettings,
} from '../simulate/tenant.js';
import { Progress, formatCount, perSecond } from './progress.js';
import {
  configOption,
  loadToolConfig,
  onStopSignal,
  parseDurationOption,
  parsePositiveInt,
  parsePositiveNumber,
  reportFailure,
  openActivityWriter,
  usageError,
} from './tooling.js';

export interface SimulateOptions {
  config?: string | undefined;
  rate: string;
  duration?: string | undefined;
  count?: string | undefined;
  attacks: string;
  seed?: string | undefined;
  start?: string | undefined;
  speed?: string | undefined;
  users: string;
  duplicates: string;
  output?: string | undefined;
  format: string;
  manifest?: string | undefined;
  batchSize: string;
  progress?: boolean | undefined;
}

export interface SimulateIo {
  stdout: Writable;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** Adds `simulate` to the program. */
export function registerSimulate(program: Command): void {
  configOption(
    program
      .command('simulate')
      .description(
        'a synthetic tenant (contoso.com + contoso.co.uk, fabrikam.com partners) with injected attacks, ' +
          'as Avro onto the activity topic (or NDJSON with --output)',
      ),
  )
    .option('-r, --rate <records/s>', 'records per second of simulated time', '200')
    .option('-d, --duration <duration>', 'simulated time to cover, e.g. 90s, 2m, 1h (default 1m)')
    .option(
      '-n, --count <records>',
      'distinct records to write instead of --duration (duplicates come on top)',
    )
    .option('-a, --attacks <n>', 'attacks injected per rule', '1')
    .option('-s, --seed <seed>', 'seed: the same seed (and --start) gives the same records, ids and manifest')
    .option('--start <iso>', 'simulation clock start (default: now, so event time is live)')
    .option('--speed <x|max>', 'simulated seconds per wall-clock second (default 1; "max" = no pacing)')
    .option('--users <n>', 'people in the tenant', '300')
    .option(
      '--duplicates <share>',
      'share of records delivered twice (same id), as the audit API does',
      '0.005',
    )
    .option(
      '-o, --output <file>',
      "write NDJSON to a file ('-' for stdout) instead of Kafka, without pacing; beside a file, " +
        '<file>.config.yaml: the detection settings the tenant needs (for replay --config)',
    )
    .option(
      '--format <shape>',
      'with --output: snake (as the Avro schema) or management-api (PascalCase)',
      'snake',
    )
    .option('-m, --manifest <file>', 'write what was injected (JSON) to this file')
    .option('--batch-size <n>', 'records per produce request at most', '500')
    .option('--progress', 'progress lines on stderr even when it is not a terminal')
    .action(async (options: SimulateOptions) => {
      process.exitCode = await simulate(options, {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
      });
    });
}

/** The run; resolves to the exit code (0 done, 1 Kafka/registry failure, 130 interrupted). */
export async function simulate(options: SimulateOptions, io: SimulateIo): Promise<number> {
  const config = loadToolConfig(options.config, io.env);
  const plan = readOptions(options);
  // Into a file, the settings the tenant needs are written beside it (writeTenantConfig) instead.
  if (options.output === undefined || options.output === '-') {
    warnAboutDomains(config, io.stderr);
    warnAboutBackupApp(config, io.stderr);
    warnAboutHelpdesk(config, io.stderr);
  }
  return options.output !== undefined
    ? toNdjson(plan, options.output, options, io)
    : toKafka(config, plan, options, io);
}

interface Plan {
  seed: string;
  start: number | undefined;
  speed: number | undefined;
  batchSize: number;
  build: (start: number) => Simulation;
}

function readOptions(options: SimulateOptions): Plan {
  const rate = parsePositiveNumber('--rate', options.rate);
  if (options.count !== undefined && options.duration !== undefined)
    throw usageError('--count', options.count, 'give --count or --duration, not both');
  const count = options.count === undefined ? undefined : parsePositiveInt('--count', options.count);
  const durationMs =
    count !== undefined ? undefined : parseDurationOption('--duration', options.duration ?? '1m');
  const attacks = parsePositiveInt('--attacks', options.attacks, 0);
  const users = parsePositiveInt('--users', options.users);
  const duplicates = Number(options.duplicates);
  if (!(duplicates >= 0 && duplicates <= 0.5))
    throw usageError('--duplicates', options.duplicates, 'must be a share between 0 and 0.5');
  let start: number | undefined;
  if (options.start !== undefined) {
    start = Date.parse(options.start);
    if (Number.isNaN(start))
      throw usageError('--start', options.start, 'must be an ISO-8601 time, e.g. 2026-11-25T09:00:00Z');
  }
  let speed: number | undefined;
  if (options.speed !== undefined)
    speed = options.speed === 'max' ? Infinity : parsePositiveNumber('--speed', options.speed);
  const batchSize = parsePositiveInt('--batch-size', options.batchSize);
  const seed = options.seed ?? randomBytes(6).toString('hex');
  const build = (at: number): Simulation => {
    try {
      return new Simulation({ seed, start: at, rate, count, durationMs, attacks, users, duplicates });
    } catch (error) {
      if (error instanceof RangeError)
        throw new RadarError(ErrorCodes.CONFIG_INVALID, `simulate: ${error.message}`);
      throw error;
    }
  };
  // Check the options now (a probe at any start), before connecting to anything.
  build(start ?? 0);
  return { seed, start, speed, batchSize, build };
}

/** The simulated tenant counts contoso.com and contoso.co.uk as one organization; say so if the config does not. */
function warnAboutDomains(config: Config, stderr: NodeJS.WritableStream): void {
  const grouped = config.detection.organizationDomains.some((group) =>
    ORGANIZATION_DOMAINS.every((d) => group.some((g) => g.toLowerCase() === d)),
  );
  if (!grouped)
    stderr.write(
      `simulate: note: detection.organizationDomains does not group ${ORGANIZATION_DOMAINS.join(' and ')}; a pipeline ` +
        `with this configuration counts the simulated tenant's access between them as cross-domain. Set ` +
        `MAILBOX_RADAR_DETECTION__ORGANIZATION_DOMAINS='[[${ORGANIZATION_DOMAINS.join(', ')}]]' (or the config file) for the pipeline.\n`,
    );
}

/** The simulated backup app reads every mailbox: a pipeline that does not allow-list it alerts on it. */
function warnAboutBackupApp(config: Config, stderr: NodeJS.WritableStream): void {
  if (config.detection.allowlist.apps.some((app) => app.trim().toLowerCase() === BACKUP_APP_ID)) return;
  stderr.write(
    `simulate: note: detection.allowlist.apps does not hold the simulated backup app ${BACKUP_APP_ID}, which ` +
      `synchronises every mailbox; a pipeline with this configuration alerts on it (app_mailbox_sweep, ` +
      `bulk_mail_access, first_app_access). Set MAILBOX_RADAR_DETECTION__ALLOWLIST__APPS='[${BACKUP_APP_ID}]' ` +
      `(or the config file) for the pipeline.\n`,
  );
}

/**
 * The simulated helpdesk opens mailboxes it never opened (`adm-…` accounts): a pipeline whose policies do not
 * turn first_access off for them alerts on every ticket.
 */
function warnAboutHelpdesk(config: Config, stderr: NodeJS.WritableStream): void {
  if (!config.detection.rules.firstAccess.enabled) return;
  const probe = `adm-helpdesk@${ORGANIZATION_DOMAINS[0]}`;
  // The first policy that can decide the helpdesk's pairs on any mailbox.
  const policy = config.detection.policies.find(
    (p) =>
      (p.match.mailboxes.length === 0 || p.match.mailboxes.includes('*')) &&
      new PatternSet(p.match.actors).matches(probe),
  );
  if (policy?.rules.firstAccess?.enabled === false) return;
  const settings = JSON.stringify(tenantDetectionSettings().policies); // JSON is YAML
  stderr.write(
    `simulate: note: no detection.policies entry turns first_access off for the simulated helpdesk ` +
      `(${HELPDESK_ACTORS.join(', ')}), which opens mailboxes it never opened; a pipeline with this ` +
      `configuration alerts on each. Set MAILBOX_RADAR_DETECTION__POLICIES='${settings}' ` +
      `(or the config file) for the pipeline.\n`,
  );
}

async function toKafka(
  config: Config,
  plan: Plan,
  options: SimulateOptions,
  io: SimulateIo,
): Promise<number> {
  const topic = config.topics.activity;
  const kafka = createKafka(config.kafka, undefined, '-simulate');
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const controller = new AbortController();
  const release = onStopSignal(() => controller.abort());
  let connected = false;
  try {
    const writer = await openActivityWriter(config, kafka, producer, topic);
    connected = true;

    // Live event time unless --start: the simulation clock starts now.
    const simulation = plan.build(plan.start ?? Date.now());
    const speed = plan.speed ?? 1;
    io.stderr.write(
      `simulate: seed ${plan.seed}, ${formatCount(simulation.count)} records at ${simulation.rate}/s from ` +
        `${new Date(simulation.start).toISOString()} (speed ${speed === Infinity ? 'max' : speed}) onto ${topic}\n`,
    );
    const tally = new Tally();
    const started = Date.now();
    const progress = progressFor(io, options, simulation, tally);
    const result = await pace(
      simulation,
      async (batch) => {
        await writer.send(batch.map((item) => ({ key: item.record.mailbox_guid, value: item.record })));
        for (const item of batch) tally.add(item);
      },
      {
        start: simulation.start,
        speed,
        batchSize: plan.batchSize,
        signal: controller.signal,
        onBatch: () => progress.tick(),
      },
    );
    progress.done();
    return await finish(
      simulation,
      tally,
      { complete: result.complete, started, where: `to ${topic}` },
      options,
      io,
    );
  } catch (error) {
    return reportFailure('simulate', error, io.stderr);
  } finally {
    release();
    if (connected) await producer.disconnect().catch(() => undefined);
  }
}

async function toNdjson(
  plan: Plan,
  output: string,
  options: SimulateOptions,
  io: SimulateIo,
): Promise<number> {
  if (options.format !== 'snake' && options.format !== 'management-api')
    throw usageError('--format', options.format, 'must be snake or management-api');
  const toJson = options.format === 'snake' ? recordToJson : toManagementApi;
  const simulation = plan.build(plan.start ?? Date.now());
  const config = output === '-' ? undefined : await writeTenantConfig(output, simulation.seed);
  const out: Writable = output === '-' ? io.stdout : createWriteStream(output);
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  const controller = new AbortController();
  const release = onStopSignal(() => controller.abort());
  const tally = new Tally();
  const started = Date.now();
  const progress = progressFor(io, options, simulation, tally);
  let complete = true;
  try {
    for (const item of simulation) {
      if (controller.signal.aborted) {
        complete = false;
        break;
      }
      if (!out.write(`${JSON.stringify(toJson(item.record))}\n`))
        await Promise.race([once(out, 'drain'), failed]);
      tally.add(item);
      if ((tally.records & 0x3ff) === 0) progress.tick();
    }
    if (out !== io.stdout) {
      out.end();
      await Promise.race([once(out, 'finish'), failed]);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') complete = false;
    else
      throw new RadarError(
        ErrorCodes.INPUT_NOT_FOUND,
        `cannot write ${output}: ${(error as Error).message}`,
        { cause: error },
      );
  } finally {
    release();
    progress.done();
  }
  const code = await finish(
    simulation,
    tally,
    { complete, started, where: output === '-' ? 'to stdout' : `to ${output}` },
    options,
    io,
  );
  if (config !== undefined)
    io.stderr.write(
      `simulate: the tenant's detection settings (one organization over ${ORGANIZATION_DOMAINS.join(' and ')}, its ` +
        `backup app allow-listed, first_access off for its helpdesk) are in ${config}; replay with them: ` +
        `mailbox-radar replay --input ${output} --config ${config}\n`,
    );
  return code;
}

/** `traffic.ndjson` → `traffic.config.yaml`: beside the records, what a configuration needs to read them. */
export function tenantConfigFile(output: string): string {
  return `${output.replace(/\.(ndjson|jsonl|json)$/i, '')}.config.yaml`;
}

/** Writes the tenant's detection settings beside the output (replay --config reads it as it is). */
async function writeTenantConfig(output: string, seed: string): Promise<string> {
  const file = tenantConfigFile(output);
  const settings = tenantDetectionSettings();
  const text =
    `# The detection settings of the tenant simulated in ${output} (mailbox-radar simulate, seed ${seed}):\n` +
    `# its two domains are one organization, its backup app synchronises every mailbox, and its helpdesk opens\n` +
    `# mailboxes it never opened. Without them the traffic raises cross-domain, app and first-access alerts\n` +
    `# of its own, beside the injected attacks.\n` +
    `#   mailbox-radar replay --input ${output} --config ${file}\n` +
    // Values as JSON, which is YAML too.
    `detection:\n` +
    `  organizationDomains: ${JSON.stringify(settings.organizationDomains)}\n` +
    `  allowlist:\n` +
    `    apps: ${JSON.stringify(settings.allowlist.apps)}\n` +
    `  policies: ${JSON.stringify(settings.policies)}\n`;
  try {
    await writeFile(file, text);
  } catch (error) {
    throw new RadarError(ErrorCodes.INPUT_NOT_FOUND, `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return file;
}

async function finish(
  simulation: Simulation,
  tally: Tally,
  run: { complete: boolean; started: number; where: string },
  options: SimulateOptions,
  io: SimulateIo,
): Promise<number> {
  const { complete, where } = run;
  const elapsed = Date.now() - run.started;
  const manifest = buildManifest(simulation, tally, complete);
  if (options.manifest !== undefined) {
    try {
      await writeFile(options.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    } catch (error) {
      throw new RadarError(
        ErrorCodes.INPUT_NOT_FOUND,
        `cannot write manifest ${options.manifest}: ${(error as Error).message}`,
      );
    }
  }
  const attacks = RULES.map((rule) => `${rule} ${manifest.totals.attacks[rule]}`).join(', ');
  io.stderr.write(
    `simulate: ${complete ? 'done' : 'interrupted'}: ${formatCount(tally.records)} records + ${formatCount(tally.duplicates)} ` +
      `duplicates ${where} in ${(elapsed / 1000).toFixed(1)}s ` +
      `(${perSecond(tally.records + tally.duplicates, elapsed)}); ` +
      `attacks: ${attacks} (${formatCount(tally.byKind.attack)} records); seed ${simulation.seed}` +
      `${options.manifest === undefined ? '' : `; manifest ${options.manifest}`}\n`,
  );
  return complete ? 0 : 130;
}

function progressFor(
  io: SimulateIo,
  options: SimulateOptions,
  simulation: Simulation,
  tally: Tally,
): Progress {
  const enabled = options.progress === true || (io.stderr as NodeJS.WriteStream).isTTY === true;
  return new Progress(io.stderr, enabled, (elapsed) => {
    const sent = tally.records + tally.duplicates;
    return `simulate: ${formatCount(sent)} sent (${perSecond(sent, elapsed)}), ${formatCount(tally.byKind.attack)} attack records, ${Math.round((100 * tally.records) / simulation.count)}%`;
  });
}

/** NDJSON for replay and people: snake_case as the Avro schema, creation_time as ISO-8601 UTC. */
export function recordToJson(record: ExchangeMailboxActivity): Record<string, unknown> {
  return { ...record, creation_time: new Date(record.creation_time).toISOString() };
}
