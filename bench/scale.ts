/**
 * Scale-out (issue 9), every case beside the others in one run, on one pre-produced activity topic
 * (default 1,000,000 records from bench/generate.ts over 6 partitions), each case with its own consumer
 * group (and so its own repartition topic):
 *
 *   bare          a bare kafkajs consumer, and one that also decodes (bench/bare-consumer.ts)
 *   run 1×        `mailbox-radar run`, the sweep disabled (no repartition hop), then enabled
 *   run 2×        two instances of `run` in one group, spawned together, the sweep enabled, then disabled
 *   before        with --before: another checkout's `run` (e.g. before issue 9: one consumer, no hop)
 *
 * Every process serves the pipeline's metrics; the bench polls all of them every 50 ms, from the moment
 * they are spawned, as bench/kafka.ts times its broker cases:
 *   - records finished = Σ mailbox_radar_records_decoded_total + …_rejected_total over the instances;
 *     the activity side is drained when that reaches the input and every activity partition shows a fetch lag
 *     of 0 on some instance (after a rebalance an instance re-reads, so the sum alone can run ahead);
 *   - records/s = (input − finished at the first non-zero reading) ÷ the time from that reading to the
 *     drained one: input records, each counted once, re-reads and the group's rebalances included;
 *   - CPU: utime + stime of each process from /proc/<pid>/stat (every thread, kafkajs and tsx included)
 *     at both readings; busy cores = CPU seconds ÷ wall seconds; the broker's JVM the same way
 *     (.stack/pids/kafka.pid), and the whole machine from /proc/stat, to show what else was running;
 *   - with two instances, also the steady window: from the reading where both have had their last group
 *     join to the reading where the first of them has finished its partitions;
 *   - with the sweep, the sweep side is drained once every access is acknowledged and the instances have
 *     read the repartition topic to its end offsets (Σ consumed ≥ Σ end offsets, every partition lag 0).
 *     There the repartition topic's records (end offsets: accesses + progress markers) and bytes (its
 *     `.log` segment files in the broker's log dir, read before anything can be purged) are taken.
 *
 * The topics and groups it creates are deleted at the end. Needs the local stack (`make stack-up`); the
 * bytes need the broker's log dir (log.dirs of .stack/server.properties, or KAFKA_LOG_DIR). Writes
 * .bench/scale.json.
 *
 *   node --import tsx bench/scale.ts [--records 1000000] [--partitions 6] [--runs 1] [--timeline]
 *        [--before <dir>]
 *
 * --before: a checkout of another commit (with node_modules), whose `run` is timed as one more case,
 * `run-1-before`, on the same topic, e.g. the commit before issue 9:
 *   git archive ac31b9a | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/node_modules
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { createClassifier } from '../src/detect/classify.js';
import { defaultConfig } from '../src/config/load.js';
import { repartitionTopic } from '../src/kafka/repartition.js';
import type { ExchangeMailboxActivity } from '../src/model/activity.js';
import {
  ROOT,
  freePort,
  produce,
  spawnBare,
  spawnPipeline,
  stackEnv,
  sumOf,
  vmHwmMb,
  type Drainer,
  type Stack,
} from './broker.js';
import { generateActivity } from './generate.js';

const POLL_MS = 50;
const SWEEP_OFF = { MAILBOX_RADAR_DETECTION__RULES__MAILBOX_SWEEP__ENABLED: 'false' };

interface Reading {
  done: number;
  rebalances: number;
  produced: number;
  repartitionConsumed: number;
  /** Fetch lag per `topic/partition` (mailbox_radar_consumer_fetch_lag), as this instance last saw it. */
  lag: Map<string, number>;
  cpuTicks: number;
}

interface Sample {
  at: number;
  instances: Reading[];
  brokerTicks: number;
  machine: { busy: number; total: number };
}

/** utime + stime of a process, every thread, in clock ticks (USER_HZ, 100 a second on Linux). */
function cpuTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of proc(5)
  } catch {
    return 0;
  }
}

/** Busy and total clock ticks of the whole machine (/proc/stat, first line). */
function machineTicks(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return { busy, total: busy + idle! + iowait! };
}

const TICK_HZ = 100;

function brokerPid(): number | undefined {
  const file = `${ROOT}.stack/pids/kafka.pid`;
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

/** The broker's log dir, where each partition's segments are `<topic>-<partition>/*.log`. */
function logDir(): string | undefined {
  if (process.env.KAFKA_LOG_DIR) return process.env.KAFKA_LOG_DIR;
  const file = `${ROOT}.stack/server.properties`;
  if (!existsSync(file)) return undefined;
  return /^log\.dirs=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1]?.split(',')[0];
}

/**
 * Bytes of a topic's log segments on the broker's disk, everything written since offset 0; undefined when
 * the log dir is not here, or when a partition's first segment is gone already (deleted records, whose
 * whole segments the broker removes, or retention): then the bytes written can no longer be read there.
 */
function topicBytes(topic: string, partitions: number): number | undefined {
  const dir = logDir();
  if (dir === undefined || !existsSync(dir)) return undefined;
  let bytes = 0;
  for (let p = 0; p < partitions; p++) {
    const partitionDir = `${dir}/${topic}-${p}`;
    if (!existsSync(partitionDir)) return undefined;
    const segments = readdirSync(partitionDir).filter((file) => file.endsWith('.log'));
    if (!segments.includes(`${'0'.repeat(20)}.log`)) return undefined; // named by their base offset
    for (const file of segments) bytes += statSync(`${partitionDir}/${file}`).size;
  }
  return bytes;
}

function read(page: string, pid: number): Reading {
  const lag = new Map<string, number>();
  for (const match of page.matchAll(
    /^mailbox_radar_consumer_fetch_lag\{topic="([^"]+)",partition="(\d+)"\} (\S+)$/gm,
  ))
    lag.set(`${match[1]}/${match[2]}`, Number(match[3]));
  return {
    done:
      sumOf(page, 'mailbox_radar_records_decoded_total') +
      sumOf(page, 'mailbox_radar_records_rejected_total'),
    rebalances: sumOf(page, 'mailbox_radar_rebalances_total'),
    produced: sumOf(page, 'mailbox_radar_repartition_records_produced_total'),
    repartitionConsumed: sumOf(page, 'mailbox_radar_repartition_records_consumed_total'),
    lag,
    cpuTicks: cpuTicks(pid),
  };
}

const NOT_UP: Omit<Reading, 'cpuTicks'> = {
  done: 0,
  rebalances: 0,
  produced: 0,
  repartitionConsumed: 0,
  lag: new Map(),
};

/** Every partition of `topic` shows a lag of 0 on some instance (none at all for the bare consumers). */
function drainedOn(sample: Sample, topic: string, partitions: number): boolean {
  if (sample.instances.every((r) => r.lag.size === 0)) return true;
  for (let p = 0; p < partitions; p++)
    if (!sample.instances.some((r) => r.lag.get(`${topic}/${p}`) === 0)) return false;
  return true;
}

const sum = (readings: Reading[], key: 'done' | 'produced' | 'repartitionConsumed' | 'cpuTicks') =>
  readings.reduce((n, r) => n + r[key], 0);

interface CaseSetup {
  records: number;
  partitions: number;
  activity: string;
  admin: Admin;
  /** The repartition topic, when the sweep is enabled. */
  repartition?: string;
}

/**
 * Polls the processes of one case until the activity side (and, with the sweep, the repartition topic)
 * is drained, then stops them. See the header for what is read and how.
 */
async function measure(drainers: Drainer[], setup: CaseSetup) {
  const { records } = setup;
  const broker = brokerPid();
  const samples: Sample[] = [];
  let activityDone: Sample | undefined;
  let sweepDone: { sample: Sample; written: number; bytes: number | undefined } | undefined;
  const started = performance.now();
  while (sweepDone === undefined) {
    if (performance.now() - started > 600_000) throw new Error('not drained within 10 minutes');
    const instances = await Promise.all(
      drainers.map(async (d) => {
        try {
          return read(await d.scrape(), d.pid);
        } catch {
          return { ...NOT_UP, lag: new Map(), cpuTicks: cpuTicks(d.pid) }; // not listening yet
        }
      }),
    );
    const sample = {
      at: performance.now(),
      instances,
      brokerTicks: cpuTicks(broker),
      machine: machineTicks(),
    };
    samples.push(sample);
    if (
      activityDone === undefined &&
      sum(instances, 'done') >= records &&
      drainedOn(sample, setup.activity, setup.partitions)
    )
      activityDone = sample;
    if (activityDone !== undefined) {
      if (setup.repartition === undefined) sweepDone = { sample, written: 0, bytes: undefined };
      else {
        // Every access acknowledged (the count stood still over one poll), then read to the end offsets.
        const previous = samples[samples.length - 2]!;
        if (sample !== activityDone && sum(previous.instances, 'produced') === sum(instances, 'produced')) {
          const ends = await setup.admin.fetchTopicOffsets(setup.repartition);
          const written = ends.reduce((n, e) => n + Number(e.high), 0);
          if (
            sum(instances, 'repartitionConsumed') >= written &&
            drainedOn(sample, setup.repartition, ends.length)
          )
            sweepDone = { sample, written, bytes: topicBytes(setup.repartition, ends.length) };
        }
      }
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const peakRssMb = drainers.map((d) => vmHwmMb(d.pid));
  const alerts = (
    await Promise.all(drainers.map((d) => d.metric('mailbox_radar_alerts_total').catch(() => 0)))
  ).reduce((a, b) => a + b, 0);
  await Promise.all(drainers.map((d) => d.stop()));
  return summarize(samples, activityDone!, sweepDone, { records, peakRssMb, alerts });
}

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

function summarize(
  samples: Sample[],
  done: Sample,
  sweep: { sample: Sample; written: number; bytes: number | undefined },
  extra: { records: number; peakRssMb: number[]; alerts: number },
) {
  const first = samples.find((s) => sum(s.instances, 'done') > 0)!;
  const seconds = (done.at - first.at) / 1_000;
  const recordsPerSecond = (extra.records - sum(first.instances, 'done')) / seconds;
  const cpuSeconds = (sum(done.instances, 'cpuTicks') - sum(first.instances, 'cpuTicks')) / TICK_HZ;
  const brokerCpuSeconds = (done.brokerTicks - first.brokerTicks) / TICK_HZ;
  const machineBusy =
    (done.machine.busy - first.machine.busy) / Math.max(1, done.machine.total - first.machine.total);
  const busyCores = cpuSeconds / seconds;
  const brokerCores = brokerCpuSeconds / seconds;

  // Steady: all instances past their last join, until the first of them has finished its partitions.
  const end = samples.indexOf(done);
  const last = done.instances;
  const steadyFrom = samples.findIndex(
    (s, i) => i <= end && s.instances.every((r, k) => r.rebalances === last[k]!.rebalances && r.done > 0),
  );
  const steadyTo = Math.min(...last.map((r, k) => samples.findIndex((s) => s.instances[k]!.done >= r.done)));
  let steady: { seconds: number; recordsPerSecond: number; busyCores: number } | undefined;
  if (steadyFrom >= 0 && steadyTo > steadyFrom) {
    const a = samples[steadyFrom]!;
    const b = samples[steadyTo]!;
    const s = (b.at - a.at) / 1_000;
    steady = {
      seconds: round(s, 2),
      recordsPerSecond: round((sum(b.instances, 'done') - sum(a.instances, 'done')) / s),
      busyCores: round((sum(b.instances, 'cpuTicks') - sum(a.instances, 'cpuTicks')) / TICK_HZ / s, 2),
    };
  }
  const accesses = sum(sweep.sample.instances, 'produced');
  const perMillion = (x: number) => round((x * 1_000_000) / extra.records);
  return {
    seconds: round(seconds, 2),
    recordsPerSecond: round(recordsPerSecond),
    busyCores: round(busyCores, 2),
    brokerBusyCores: round(brokerCores, 2),
    machineBusyCores: round(machineBusy * availableParallelism(), 2),
    recordsPerCpuSecond: round(recordsPerSecond / busyCores),
    recordsPerCpuSecondWithBroker: round(recordsPerSecond / (busyCores + brokerCores)),
    steady,
    rebalances: last.reduce((n, r) => n + r.rebalances, 0),
    sweepTailSeconds: sweep.written > 0 ? round((sweep.sample.at - done.at) / 1_000, 2) : undefined,
    repartition:
      sweep.written > 0
        ? {
            accesses,
            markers: sweep.written - accesses,
            bytes: sweep.bytes,
            accessesPerMillion: perMillion(accesses),
            markersPerMillion: perMillion(sweep.written - accesses),
            bytesPerMillion: sweep.bytes === undefined ? undefined : perMillion(sweep.bytes),
          }
        : undefined,
    alerts: extra.alerts,
    peakRssMb: extra.peakRssMb,
    // --timeline: per reading, seconds since the first record and each instance's finished / joins.
    timeline: process.argv.includes('--timeline')
      ? samples.map((s) => [
          round((s.at - first.at) / 1_000, 2),
          ...s.instances.map((r) => `${r.done}/${r.rebalances}`),
        ])
      : undefined,
  };
}

type Result = Awaited<ReturnType<typeof measure>>;

async function runCase(
  stack: Stack,
  base: string,
  name: string,
  setup: Omit<CaseSetup, 'repartition'>,
  how: { bare: 'plain' | 'decode' } | { instances: number; sweep: boolean; cwd?: string },
): Promise<Result> {
  const groupId = `${base}.${name}`;
  if ('bare' in how)
    return measure(
      [spawnBare(stack, setup.activity, how.bare === 'decode', await freePort(), groupId)],
      setup,
    );
  const ports = await Promise.all(Array.from({ length: how.instances }, () => freePort()));
  const drainers = ports.map((port) =>
    spawnPipeline(stack, base, port, { groupId, env: how.sweep ? {} : SWEEP_OFF, cwd: how.cwd }),
  );
  // An older checkout (--before) has no repartition topic: only its activity side is timed.
  const repartition = how.sweep && how.cwd === undefined ? repartitionTopic(groupId) : undefined;
  return measure(drainers, { ...setup, repartition });
}

/** The cases of one run, in order; `before`: a checkout whose `run` is timed too (1 instance). */
function cases(before: string | undefined) {
  type How = { bare: 'plain' | 'decode' } | { instances: number; sweep: boolean; cwd?: string };
  return [
    { name: 'bare', how: { bare: 'plain' } },
    { name: 'bare-decode', how: { bare: 'decode' } },
    { name: 'run-1-nosweep', how: { instances: 1, sweep: false } },
    ...(before === undefined
      ? []
      : [{ name: 'run-1-before', how: { instances: 1, sweep: true, cwd: before } }]),
    { name: 'run-1', how: { instances: 1, sweep: true } },
    { name: 'run-2', how: { instances: 2, sweep: true } },
    { name: 'run-2-nosweep', how: { instances: 2, sweep: false } },
  ] as { name: string; how: How }[];
}

/**
 * Deletes consumer groups; a group whose member was stopped mid-join stays non-empty until its session
 * times out (30 s), so those are retried for up to a minute.
 */
async function deleteGroups(admin: Admin, groups: string[]): Promise<void> {
  let left = groups;
  for (let attempt = 0; left.length > 0; attempt++) {
    try {
      await admin.deleteGroups(left);
      return;
    } catch (error) {
      const failed = (error as { groups?: { groupId: string; errorCode: number }[] }).groups ?? [];
      left = failed.filter((g) => g.errorCode === 68).map((g) => g.groupId); // NON_EMPTY_GROUP
      if (attempt === 20 || left.length < failed.length) {
        console.error('deleting groups:', error);
        return;
      }
      await new Promise((r) => setTimeout(r, 3_000));
    }
  }
}

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

async function main() {
  const records = arg('records', 1_000_000);
  const partitions = arg('partitions', 6);
  const runs = arg('runs', 1);
  const beforeAt = process.argv.indexOf('--before');
  const before = beforeAt > 0 ? process.argv[beforeAt + 1] : undefined;
  const stack = stackEnv();
  const base = `bench-scale-${Date.now().toString(36)}`;
  const activity = `${base}.activity`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'bench-scale', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const results: Record<string, unknown> = {
    node: process.version,
    when: new Date().toISOString(),
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).stdout?.toString().trim(),
    records,
    partitions,
  };
  try {
    // What the mailbox side should write on: every non-owner access (late and future records aside).
    const classify = createClassifier(defaultConfig().detection);
    let nonOwner = 0;
    const counted = function* (): Generator<ExchangeMailboxActivity> {
      for (const record of generateActivity({ records })) {
        if (typeof classify(record) !== 'string') nonOwner++;
        yield record;
      }
    };
    const t0 = performance.now();
    await produce(stack, activity, counted(), partitions);
    const activityBytes = topicBytes(activity, partitions);
    results.produceSeconds = round((performance.now() - t0) / 1_000, 1);
    results.input = {
      nonOwnerAccesses: nonOwner,
      activityBytes,
      activityBytesPerRecord: activityBytes === undefined ? undefined : round(activityBytes / records, 1),
    };
    console.log(
      `produced ${records} records to ${activity} (${partitions} partitions) in ${String(results.produceSeconds)} s; ${nonOwner} non-owner accesses; ${activityBytes ?? '?'} bytes on disk`,
    );

    const table: Record<string, unknown>[] = [];
    const all: Record<string, Result>[] = [];
    for (let run = 1; run <= runs; run++) {
      const byCase: Record<string, Result> = {};
      for (const { name, how } of cases(before)) {
        const result = await runCase(
          stack,
          base,
          `${name}-r${run}`,
          { records, partitions, activity, admin },
          how,
        );
        byCase[name] = result;
        table.push({
          run,
          case: name,
          'records/s': result.recordsPerSecond,
          'busy cores': result.busyCores,
          'records/CPU-s': result.recordsPerCpuSecond,
          'broker cores': result.brokerBusyCores,
          'machine cores': result.machineBusyCores,
          'steady/s': result.steady?.recordsPerSecond,
          rebalances: result.rebalances,
          alerts: result.alerts,
        });
        console.log(`${name} (run ${run}): ${JSON.stringify(result)}`);
      }
      // Each ratio twice: records/s (wall clock), and records per CPU-second of the processes.
      const ratio = (a: string, b: string) => {
        const x = byCase[a];
        const y = byCase[b];
        if (x === undefined || y === undefined) return undefined;
        return {
          wall: round(x.recordsPerSecond / y.recordsPerSecond, 2),
          cpu: round(x.recordsPerCpuSecond / y.recordsPerCpuSecond, 2),
          steady: round((x.steady?.recordsPerSecond ?? NaN) / (y.steady?.recordsPerSecond ?? NaN), 2),
        };
      };
      const ratios = {
        twoInstancesOverOne: ratio('run-2', 'run-1'),
        twoInstancesOverOneNoSweep: ratio('run-2-nosweep', 'run-1-nosweep'),
        sweepOverNoSweep: ratio('run-1', 'run-1-nosweep'),
        runOverBare: ratio('run-1', 'bare'),
        runOverBareDecode: ratio('run-1', 'bare-decode'),
        runNoSweepOverBare: ratio('run-1-nosweep', 'bare'),
        runOverBefore: ratio('run-1', 'run-1-before'),
        beforeOverBare: ratio('run-1-before', 'bare'),
      };
      console.log(`ratios (run ${run}): ${JSON.stringify(ratios)}`);
      all.push({ ...byCase, ratios } as unknown as Record<string, Result>);
    }
    results.runs = all;
    results.before = before;
    console.table(table);
  } finally {
    // Everything this bench created: the topic, the run's dead-letter, alert and repartition topics, groups.
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(base));
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(base));
    await admin.deleteTopics({ topics }).catch((e: unknown) => console.error('deleting topics:', e));
    await deleteGroups(admin, groups);
    await admin.disconnect();
    console.log(`deleted ${topics.length} topics and ${groups.length} groups`);
  }
  mkdirSync(`${ROOT}.bench`, { recursive: true });
  const file = `${ROOT}.bench/scale.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

await main();
