/**
 * Restarts (issue 15): how long `run` takes from start to caught up after a clean stop (SIGTERM) and after
 * kill -9, what it re-reads and what it publishes again, with a full lateness horizon behind its offsets.
 *
 * Per case (a rate of simulated traffic × the event time it spans, produced at full speed from
 * bench/generate.ts onto a fresh 3-partition topic):
 *   1. `run` drains the topic (its own group), then waits two commit intervals;
 *   2. SIGTERM, start again: time to caught up, records re-read, records replayed from the windows'
 *      changelog, alerts published again;
 *   3. SIGKILL, start again: the same.
 * With --before <dir> (another checkout, e.g. the commit before issue 15, with node_modules linked), its
 * `run` goes through the same steps on the same topic in its own group, as the baseline.
 *
 * Caught up = /readyz answers 200, and the process has read the activity topic and the repartition topic
 * from the offsets its group had committed when it started up to their end offsets then (Σ consumed ≥ Σ
 * (end − committed)): whatever a restart must re-read, it has. The clock starts at spawn, so process start,
 * group join and restore all count.
 *
 *   node --import tsx bench/restart.ts [--rates 300,5000] [--hours 2] [--before <dir>] [--profile <dir>]
 *                                      [--env KEY=VALUE]…   (to every `run`, e.g. a shorter session timeout)
 *                                      [--drain-minutes 60]  (how long the first drain may take)
 *                                      [--adopt <base>,<pid>,<port>]
 *                                      [--built]   (the compiled CLI, dist/, as the image runs it: no tsx
 *                                                   compiling the sources at each start, about 1.5 s)
 *                                      [--instances N]   (N `run`s in the group, started and stopped together;
 *                                                   their metrics summed: each restores its partitions)
 *
 * `--adopt` takes over the first `run` of an earlier invocation that gave up waiting for its drain (that
 * process goes on draining; `<base>` is its topics' prefix, `bench-restart-<rate>-<ms>`, and `<port>` its
 * MAILBOX_RADAR_HTTP__PORT): it waits for that drain, then restarts as usual. One rate, no `--before`.
 *
 * Writes .bench/restart.json. Needs the local stack.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { readRanges } from '../src/kafka/partition-reader.js';
import { repartitionTopic } from '../src/kafka/repartition.js';
import {
  ROOT,
  deleteBenchTopics,
  freePort,
  produce,
  spawnPipeline,
  stackEnv,
  type Drainer,
  type Stack,
} from './broker.js';
import { generateActivity } from './generate.js';

const HOUR = 3_600_000;
const ALERT_RULES = [
  'NON_OWNER_BURST',
  'CROSS_DOMAIN_BURST',
  'MAILBOX_SWEEP',
  'APP_MAILBOX_SWEEP',
  'BULK_MAIL_ACCESS',
  'FIRST_APP_ACCESS',
  'FIRST_ACCESS',
];

/** --instances N: every step runs N instances of `run` in its group (one by default). */
const instances = Number(arg('--instances') ?? '1');

/** Instances of `run` in one group seen as one: their pages together (so sums add up), stopped together. */
function together(drainers: Drainer[]): Drainer & { pids: number[] } {
  const each = async <T>(f: (d: Drainer) => Promise<T>) => Promise.all(drainers.map(f));
  return {
    pid: drainers[0]!.pid,
    pids: drainers.map((d) => d.pid),
    scrape: async () => (await each((d) => d.scrape())).join('\n'),
    metric: async (name) => (await each((d) => d.metric(name))).reduce((a, b) => a + b, 0),
    total: async (names) => (await each((d) => d.total(names))).reduce((a, b) => a + b, 0),
    stop: async () => {
      await each((d) => d.stop());
    },
  };
}

/** `instances` spawns of `run` (each on a free port of its own), as one. */
async function spawnTogether(
  spawnOne: (port: number) => Drainer,
): Promise<{ drainer: ReturnType<typeof together>; ports: number[] }> {
  const ports: number[] = [];
  for (let i = 0; i < instances; i++) ports.push(await freePort());
  return { drainer: together(ports.map(spawnOne)), ports };
}

/** --built: every `run` is the compiled CLI (dist/, built here first for each checkout), as the image runs it. */
const built = process.argv.includes('--built');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Σ (end − committed) over a topic's partitions for a group: what a restart must read. */
async function backlog(admin: Admin, groupId: string, topic: string): Promise<number> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) return 0;
  const [ends, [committed]] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  let sum = 0;
  for (const end of ends) {
    const c = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
    sum += Number(end.high) - (c < 0 ? Number(end.low) : c);
  }
  return sum;
}

/** Every alert message on the topic as `alert_id#revision` (revision header; none before issue 13: 0). */
async function alertMessages(kafka: Kafka, admin: Admin, topic: string): Promise<string[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const got: string[] = [];
  await readRanges(
    kafka,
    admin,
    ends.map((e) => ({ topic, partition: e.partition, from: 'earliest' as const })),
    (_t, _p, message) => {
      const header = message.headers?.['radar.revision'];
      const revision = (Array.isArray(header) ? header[0] : header)?.toString() ?? '0';
      got.push(`${message.key?.toString() ?? ''}#${revision}`);
    },
    { groupPrefix: 'bench-restart' },
  );
  return got;
}

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  } catch {
    return false;
  }
}

interface Step {
  seconds: number;
  activityReRead: number;
  repartitionReRead: number;
  restoredFromChangelog: number;
  /** The restore alone (its metric): commit metadata, changelog read and replay, alert read-back. */
  restoreSeconds: number;
  /** Group joins of the restarted process until caught up (1 unless the group rebalanced meanwhile). */
  joins: number;
  /** Messages whose (alert_id, revision) was on the topic before the restart: published twice. */
  alertsPublishedAgain: number;
  /** Messages new after the restart (e.g. closes of episodes the watermark ended meanwhile). */
  alertMessagesNew: number;
  /** Once caught up: the process's resident set and V8 heap in use, MB, and the records its windows hold. */
  rssMB: number;
  heapUsedMB: number;
  retainedRecords: number;
}

/** Starts `run`, times it to caught up (see the header), and counts what it re-read and re-published. */
async function restartOnce(
  stack: Stack,
  kafka: Kafka,
  admin: Admin,
  base: string,
  groupId: string,
  cwd: string | undefined,
): Promise<{ drainer: ReturnType<typeof together>; step: Step }> {
  const activity = `${base}.activity`;
  const alerts = `${base}.alerts`;
  const mustRead = await backlog(admin, groupId, activity);
  const mustReadRepartition = await backlog(admin, groupId, repartitionTopic(groupId));
  const alertsBefore = await alertMessages(kafka, admin, alerts);
  const started = performance.now();
  // --profile DIR: the restarted processes write a CPU profile there when they stop (not when killed).
  const profile = arg('--profile');
  // … and their log, at info (the restore's phases are in its 'state restored' line).
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  if (profile) mkdirSync(profile, { recursive: true });
  const logFd = profile ? openSync(`${profile}/restart-${Date.now()}.log`, 'w') : undefined;
  const env = { ...runEnv(base), ...(profile ? { MAILBOX_RADAR_LOG__LEVEL: 'info' } : {}) };
  const { drainer, ports } = await spawnTogether((port) =>
    spawnPipeline(stack, base, port, { groupId, cwd, env, nodeArgs, logFd, built }),
  );
  for (;;) {
    await sleep(50);
    if (!(await Promise.all(ports.map(ready))).every(Boolean)) continue;
    // The two counters alone (a checkout without /metrics?name[]= serves its whole page: the same sums).
    const read = await drainer.total(['mailbox_radar_records_consumed_total']);
    const readRepartition = await drainer.total(['mailbox_radar_repartition_records_consumed_total']);
    if (read >= mustRead && readRepartition >= mustReadRepartition) break;
    if (performance.now() - started > 30 * 60_000) throw new Error('not caught up within 30 minutes');
  }
  const seconds = (performance.now() - started) / 1_000;
  await sleep(3_000); // the alerts a restart publishes again go out right after what caused them
  const page = await drainer.scrape();
  // What the restart added, message by message: a (alert_id, revision) seen before is a re-publication.
  const counts = new Map<string, number>();
  for (const m of alertsBefore) counts.set(m, (counts.get(m) ?? 0) + 1);
  const added: { message: string; again: boolean }[] = [];
  for (const m of await alertMessages(kafka, admin, alerts)) {
    const left = counts.get(m);
    if (left !== undefined && left > 0) counts.set(m, left - 1);
    else added.push({ message: m, again: alertsBefore.includes(m) });
  }
  return {
    drainer,
    step: {
      seconds: Math.round(seconds * 100) / 100,
      activityReRead: sum(page, 'mailbox_radar_records_consumed_total'),
      repartitionReRead: sum(page, 'mailbox_radar_repartition_records_consumed_total'),
      restoredFromChangelog: sum(page, 'mailbox_radar_restored_records_total'),
      restoreSeconds: sum(page, 'mailbox_radar_restore_seconds'),
      // More than 1: the group rebalanced during the restart (e.g. a restore that held up heartbeats).
      joins: sum(page, 'mailbox_radar_rebalances_total'),
      alertsPublishedAgain: added.filter((a) => a.again).length,
      alertMessagesNew: added.filter((a) => !a.again).length,
      ...memory(page),
    },
  };
}

/** The process's memory as its /metrics page tells it (prom-client's default metrics), MB. */
function memory(page: string): { rssMB: number; heapUsedMB: number; retainedRecords: number } {
  return {
    rssMB: Math.round(sum(page, 'process_resident_memory_bytes') / 1e6),
    heapUsedMB: Math.round(sum(page, 'nodejs_heap_size_used_bytes') / 1e6),
    retainedRecords: sum(page, 'mailbox_radar_retained_records'),
  };
}

function sum(page: string, name: string): number {
  let n = 0;
  for (const line of page.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

/** The alert topics, and every `--env KEY=VALUE` of the command line (e.g. a shorter session timeout). */
function runEnv(base: string): Record<string, string> {
  const extra: [string, string][] = [];
  process.argv.forEach((value, i) => {
    const next = process.argv[i + 1];
    if (value === '--env' && next !== undefined && next.includes('='))
      extra.push([next.slice(0, next.indexOf('=')), next.slice(next.indexOf('=') + 1)]);
  });
  return {
    ...Object.fromEntries(
      ALERT_RULES.map((rule) => [`MAILBOX_RADAR_TOPICS__ALERTS__${rule}`, `${base}.alerts`]),
    ),
    ...Object.fromEntries(extra),
  };
}

/** Σ end offsets of a topic (0 if it does not exist yet). */
async function endSum(admin: Admin, topic: string): Promise<number> {
  if (!(await admin.listTopics()).includes(topic)) return 0;
  let n = 0;
  for (const end of await admin.fetchTopicOffsets(topic)) n += Number(end.high);
  return n;
}

/**
 * The activity topic read to its end, then the repartition topic read to its end (the actor side behind it
 * caught up: a stop before that leaves accesses the restart processes for the first time, and their alerts
 * are new, not published again), then ten seconds. Gives the largest resident set and heap seen on the way
 * (sampled every half second), the memory at the end, and how long the actor side took after the activity
 * topic was read.
 */
async function drained(drainer: Drainer, admin: Admin, groupId: string, records: number, minutes: number) {
  const started = performance.now();
  let peakRssMB = 0;
  let peakHeapUsedMB = 0;
  let activityReadAt: number | undefined;
  let lastEnd = -1;
  for (;;) {
    await sleep(500);
    const page = await drainer.scrape().catch(() => '');
    const now = memory(page);
    peakRssMB = Math.max(peakRssMB, now.rssMB);
    peakHeapUsedMB = Math.max(peakHeapUsedMB, now.heapUsedMB);
    if (activityReadAt === undefined && sum(page, 'mailbox_radar_records_consumed_total') >= records)
      activityReadAt = performance.now();
    if (activityReadAt !== undefined) {
      // Every repartition message written so far consumed, and none written for a poll.
      const end = await endSum(admin, repartitionTopic(groupId));
      if (end === lastEnd && sum(page, 'mailbox_radar_repartition_records_consumed_total') >= end) break;
      lastEnd = end;
    }
    if (performance.now() - started > minutes * 60_000)
      throw new Error(
        `not drained within ${minutes} minutes (pid ${drainer.pid} goes on draining: --adopt takes it over)`,
      );
  }
  const actorSideSeconds = Math.round((performance.now() - (activityReadAt ?? started)) / 100) / 10;
  await sleep(10_000);
  return { peakRssMB, peakHeapUsedMB, actorSideSeconds, ...memory(await drainer.scrape()) };
}

async function runCase(
  stack: Stack,
  kafka: Kafka,
  admin: Admin,
  rate: number,
  hours: number,
  before: string | undefined,
  adopt: { base: string; drainer: Drainer } | undefined,
) {
  const base = adopt?.base ?? `bench-restart-${rate}-${Date.now()}`;
  const records = Math.round(rate * hours * 3_600);
  const producedAt = performance.now();
  if (adopt === undefined) {
    await produce(stack, `${base}.activity`, generateActivity({ records, durationMs: hours * HOUR }), 3);
    console.error(
      `${records} records (${rate}/s over ${hours} h) produced in ${Math.round((performance.now() - producedAt) / 1_000)} s`,
    );
  }
  const result: Record<string, unknown> = { rate, hours, records, instances };
  for (const [name, cwd] of [['run', undefined], ...(before ? [['before', before]] : [])] as [
    string,
    string | undefined,
  ][]) {
    const groupId = `${base}.${name}.group`;
    const first =
      adopt?.drainer ??
      (
        await spawnTogether((port) =>
          spawnPipeline(stack, base, port, { groupId, cwd, env: runEnv(base), built }),
        )
      ).drainer;
    const drainStart = performance.now();
    const memoryAfterDrain = await drained(
      first,
      admin,
      groupId,
      records,
      Number(arg('--drain-minutes') ?? '60'),
    );
    const alerts = await first.metric('mailbox_radar_alerts_total');
    const drainSeconds = (performance.now() - drainStart) / 1_000;
    await first.stop();
    const clean = await restartOnce(stack, kafka, admin, base, groupId, cwd);
    await sleep(2_000);
    for (const pid of clean.drainer.pids) process.kill(pid, 'SIGKILL');
    await clean.drainer.stop();
    const killed = await restartOnce(stack, kafka, admin, base, groupId, cwd);
    await killed.drainer.stop();
    result[name] = {
      drainSeconds: Math.round(drainSeconds),
      alerts,
      memoryAfterDrain,
      cleanRestart: clean.step,
      afterKill9: killed.step,
    };
    console.error(name, JSON.stringify(result[name]));
  }
  await deleteBenchTopics(stack, base);
  return result;
}

/** `--adopt <base>,<pid>,<port>`: an earlier invocation's first `run`, still draining. */
function adopted(): { base: string; drainer: Drainer } | undefined {
  const value = arg('--adopt');
  if (value === undefined) return undefined;
  const [base, pid, port] = value.split(',');
  if (base === undefined || pid === undefined || port === undefined)
    throw new Error('--adopt wants <base>,<pid>,<port>');
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const alive = () => {
    try {
      process.kill(Number(pid), 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    base,
    drainer: {
      pid: Number(pid),
      scrape,
      metric: async (name) => sum(await scrape(), name),
      total: async (names) => {
        const page = await scrape();
        return names.reduce((n, name) => n + sum(page, name), 0);
      },
      stop: async () => {
        if (alive()) process.kill(Number(pid), 'SIGTERM');
        while (alive()) await sleep(200);
      },
    },
  };
}

async function main() {
  const stack = stackEnv();
  const rates = (arg('--rates') ?? '300,5000').split(',').map(Number);
  const hours = Number(arg('--hours') ?? '2');
  const before = arg('--before');
  if (built)
    for (const cwd of [ROOT, ...(before ? [before] : [])])
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd, stdio: 'inherit' });
  const results = [];
  for (const rate of rates) {
    // A client per case: one that knew the previous case's topics, deleted at its end, died of an
    // UNKNOWN_TOPIC_OR_PARTITION thrown from a background metadata refresh at the next case's start.
    const kafka = new Kafka({
      brokers: stack.brokers,
      clientId: 'bench-restart',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      results.push(await runCase(stack, kafka, admin, rate, hours, before, adopted()));
    } finally {
      await admin.disconnect();
    }
  }
  mkdirSync(`${ROOT}.bench`, { recursive: true });
  writeFileSync(
    `${ROOT}.bench/restart.json`,
    JSON.stringify({ at: new Date().toISOString(), results }, null, 2),
  );
  console.log(JSON.stringify(results, null, 2));
}

await main();
