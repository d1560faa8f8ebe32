/**
 * What the broker benches share (bench/kafka.ts, bench/scale.ts): the local stack's addresses, consumer
 * processes under measurement — `mailbox-radar run`, or a bare kafkajs consumer (bench/bare-consumer.ts) —
 * each serving the pipeline's metrics on /metrics, the timing every broker case uses, and a pre-produced
 * activity topic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { defaultConfig } from '../src/config/load.js';
import { AvroTopicWriter } from '../src/kafka/avro-producer.js';
import { RegistryClient } from '../src/kafka/registry.js';
import type { ExchangeMailboxActivity } from '../src/model/activity.js';
import { activitySchema, activityType } from '../src/model/schemas.js';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface Stack {
  brokers: string[];
  registryUrl: string;
}

/** The broker and registry: the environment, else the local stack's .stack/env, else the defaults. */
export function stackEnv(): Stack {
  const env: Record<string, string> = {};
  const file = `${ROOT}.stack/env`;
  if (existsSync(file))
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const at = line.indexOf('=');
      if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
    }
  return {
    brokers: (process.env.KAFKA_BROKERS ?? env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    registryUrl:
      process.env.SCHEMA_REGISTRY_URL ?? env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  };
}

/** A consumer process under measurement: `run`, or a bare consumer child, each serving /metrics. */
export interface Drainer {
  pid: number;
  /** The /metrics page as it is now. */
  scrape: () => Promise<string>;
  /** One metric from /metrics, summed over its labels. */
  metric: (name: string) => Promise<number>;
  /**
   * These metrics summed, from one request for them alone (`/metrics?name[]=…`; a checkout from before the
   * filter serves its whole page, which gives the same sums).
   */
  total: (names: readonly string[]) => Promise<number>;
  /** SIGTERM, then wait for the exit. */
  stop: () => Promise<void>;
}

/** The sum of one metric's samples (every label set) on a /metrics page. */
export function sumOf(page: string, name: string): number {
  let sum = 0;
  for (const line of page.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

export function watch(p: ChildProcess, port: number): Drainer {
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const exited = new Promise((r) => p.once('exit', r));
  return {
    pid: p.pid!,
    scrape,
    metric: async (name) => sumOf(await scrape(), name),
    total: async (names) => {
      const query = names.map((name) => `name[]=${encodeURIComponent(name)}`).join('&');
      const page = await (await fetch(`http://127.0.0.1:${port}/metrics?${query}`)).text();
      return names.reduce((sum, name) => sum + sumOf(page, name), 0);
    },
    stop: async () => {
      if (p.exitCode === null) p.kill('SIGTERM');
      await exited;
    },
  };
}

/** A free loopback port, for a child's /metrics. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** The rules' alert topics before any was added (an older checkout may know only these). */
const FIRST_RULES = ['nonOwnerBurst', 'crossDomainBurst', 'mailboxSweep'];

/** Every rule's alerts to `<base>.alerts`, so that no run writes to the default topics of the shared broker. */
function alertTopics(rules: string[], base: string): Record<string, string> {
  return Object.fromEntries(
    rules.map((rule) => [
      `MAILBOX_RADAR_TOPICS__ALERTS__${rule.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
      `${base}.alerts`,
    ]),
  );
}

/**
 * `mailbox-radar run` on the bench's topics (`<base>.activity`, `.dlq`, `.alerts` for every rule), group
 * `<base>.group` unless given; `env` adds configuration (e.g. the sweep disabled); `cwd`, another checkout
 * (e.g. an older commit's, to time it beside this one; its alerts are set for the first three rules only);
 * `nodeArgs`, options for node itself (e.g. `--cpu-prof`).
 * Returned as soon as it is spawned.
 */
export function spawnPipeline(
  stack: Stack,
  base: string,
  port: number,
  options: {
    groupId?: string;
    env?: Record<string, string>;
    cwd?: string;
    nodeArgs?: string[];
    /** A file descriptor for the process's log (stderr, where it logs); by default the bench's stderr. */
    logFd?: number;
    /** The compiled CLI (`dist/`, as `npm run build` and the image make it) instead of the sources via tsx. */
    built?: boolean;
  } = {},
): Drainer {
  const main = options.built === true ? ['dist/src/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
  const args = [...(options.nodeArgs ?? []), ...main, 'run'];
  const p = spawn(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    stdio: ['ignore', 'ignore', options.logFd ?? 'inherit'],
    env: {
      ...process.env,
      KAFKA_BROKERS: stack.brokers.join(','),
      SCHEMA_REGISTRY_URL: stack.registryUrl,
      MAILBOX_RADAR_TOPICS__ACTIVITY: `${base}.activity`,
      MAILBOX_RADAR_TOPICS__DEAD_LETTER: `${base}.dlq`,
      ...alertTopics(
        options.cwd === undefined ? Object.keys(defaultConfig().topics.alerts) : FIRST_RULES,
        base,
      ),
      MAILBOX_RADAR_KAFKA__GROUP_ID: options.groupId ?? `${base}.group`,
      MAILBOX_RADAR_HTTP__HOST: '127.0.0.1',
      MAILBOX_RADAR_HTTP__PORT: String(port),
      MAILBOX_RADAR_LOG__LEVEL: 'warn',
      ...options.env,
    },
  });
  return watch(p, port);
}

/** `spawnPipeline`, returned once /readyz answers. */
export async function startPipeline(stack: Stack, base: string, port: number): Promise<Drainer> {
  const pipeline = spawnPipeline(stack, base, port);
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
    } catch {
      // not up yet
    }
    if (i > 300) throw new Error('pipeline did not become ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  return pipeline;
}

/** A bare kafkajs consumer child (bench/bare-consumer.ts) on the topic, returned as soon as it is spawned. */
export function spawnBare(
  stack: { brokers: string[] },
  topic: string,
  decode: boolean,
  port: number,
  groupId?: string,
): Drainer {
  const p = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./bare-consumer.ts', import.meta.url)),
      stack.brokers.join(','),
      topic,
      decode ? 'decode' : 'plain',
      String(port),
      ...(groupId === undefined ? [] : [groupId]),
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return watch(p, port);
}

/** What a consumer has finished with: `run` and the bare consumers count the same two counters. */
export const DONE_METRICS = ['mailbox_radar_records_decoded_total', 'mailbox_radar_records_rejected_total'];

/**
 * Times a consumer draining `records` records, the same way for `run` and the bare consumers: every
 * 50 ms from the moment it is spawned, read how many records it has finished with (the batch went
 * through all its per-record work: decoded and through the core for `run`, the loop for the bare ones).
 * Throughput is taken between the first reading above zero and the reading that reaches `records`, over
 * the records finished in between, so start-up (connect, group join) counts for none of them.
 */
export async function timeDrain(drainer: Drainer, records: number) {
  let first: { at: number; done: number; cpu: CpuReading } | undefined;
  for (let polls = 0; ; polls++) {
    let done = 0;
    try {
      // Only the two counters, in one request: rendering the whole page 20 times a second cost `run` 5–7% of
      // its CPU in the profiles (BENCHMARKS.md §9), a load no scraper puts on it.
      done = await drainer.total(DONE_METRICS);
    } catch {
      // not listening yet
    }
    const at = performance.now();
    if (done > 0 && first === undefined) first = { at, done, cpu: cpuReading(drainer.pid) };
    if (first !== undefined && done >= records) {
      const seconds = (at - first.at) / 1_000;
      const counted = done - first.done;
      const cpu = cpuReading(drainer.pid);
      // CPU time per record over the same span: the consumer process (every thread), the broker's JVM, and
      // the machine's cores as a whole (busy = not idle), so a ratio can be read against what the cores had.
      const perRecord = (a: number, b: number) => Math.round(((b - a) / counted) * 1e6 * 100) / 100;
      return {
        seconds,
        recordsPerSecond: Math.round(counted / seconds),
        peakRssMb: vmHwmMb(drainer.pid),
        cpuUsPerRecord: {
          consumer: perRecord(first.cpu.process, cpu.process),
          broker: perRecord(first.cpu.broker, cpu.broker),
          machineBusy: perRecord(first.cpu.machineBusy, cpu.machineBusy),
        },
        machineBusyCores: Math.round(((cpu.machineBusy - first.cpu.machineBusy) / seconds) * 100) / 100,
      };
    }
    if (polls > 20 * 600) throw new Error(`${records} records not drained within 10 minutes`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface CpuReading {
  /** CPU seconds of the process, all its threads (user + system). */
  process: number;
  /** CPU seconds of the local broker (the stack's pid file), 0 when there is none. */
  broker: number;
  /** CPU seconds the machine's cores were not idle, all processes. */
  machineBusy: number;
}

const TICK = 100; // USER_HZ: /proc counts CPU time in hundredths of a second on Linux

function processCpu(pid: number): number {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th of them.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return 0;
  }
}

function brokerPid(): number | undefined {
  const file = `${ROOT}.stack/pids/kafka.pid`;
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

function cpuReading(pid: number): CpuReading {
  // cpu  user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
  const all = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = all.slice(0, 8).reduce((a, b) => a + b, 0);
  const broker = brokerPid();
  return {
    process: processCpu(pid),
    broker: broker === undefined ? 0 : processCpu(broker),
    machineBusy: (total - (all[3] ?? 0) - (all[4] ?? 0)) / TICK,
  };
}

export function vmHwmMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1_024) * 10) / 10;
}

/** Deletes the topics and consumer groups whose names start with `prefix` (a bench run's own). */
export async function deleteBenchTopics(stack: Stack, prefix: string): Promise<void> {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'bench-cleanup', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
  } finally {
    await admin.disconnect();
  }
}

/** Creates `topic` and fills it with `records`, keyed by mailbox, as Confluent-framed Avro. */
export async function produce(
  stack: Stack,
  topic: string,
  records: Iterable<ExchangeMailboxActivity>,
  partitions = 3,
) {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'bench-producer', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const writer = new AvroTopicWriter(
    producer,
    new RegistryClient({ url: stack.registryUrl }),
    topic,
    activityType,
    activitySchema,
  );
  let batch: { key: string | null; value: ExchangeMailboxActivity }[] = [];
  let n = 0;
  const pending: Promise<void>[] = [];
  for (const record of records) {
    batch.push({ key: record.mailbox_guid, value: record });
    if (batch.length === 5_000) {
      pending.push(writer.send(batch));
      batch = [];
      if (pending.length >= 4) await Promise.all(pending.splice(0));
    }
    n++;
  }
  pending.push(writer.send(batch));
  await Promise.all(pending);
  await producer.disconnect();
  return n;
}

/**
 * Every message of a topic as `key value headers` (hex), sorted: two runs wrote the same messages, byte
 * for byte, when these lists are equal.
 */
export async function messagesOf(stack: Stack, topic: string): Promise<string[]> {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'bench-reader', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).catch(() => []);
  await admin.disconnect();
  const remaining = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  for (const [partition, high] of remaining) if (high === 0) remaining.delete(partition);
  const out: string[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `${topic}.reader-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers = Object.entries(message.headers ?? {})
          .map(([k, v]) => `${k}=${String(v)}`)
          .sort()
          .join(',');
        out.push(`${message.key?.toString('hex')} ${message.value?.toString('hex')} ${headers}`);
        if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) remaining.delete(partition);
        if (remaining.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out.sort();
}

/**
 * Waits until `run` has nothing left to do: no fetch lag on any topic (the sweep's side included) and no new
 * alert message for two seconds. So two runs over the same input stop at the same point of their work.
 */
export async function settled(drainer: Drainer, timeoutMs = 30_000): Promise<void> {
  const started = performance.now();
  let last = -1;
  let quiet = 0;
  while (performance.now() - started < timeoutMs) {
    const page = await drainer.scrape();
    const lag = sumOf(page, 'mailbox_radar_consumer_fetch_lag');
    const messages = sumOf(page, 'mailbox_radar_alert_messages_total');
    quiet = lag === 0 && messages === last ? quiet + 1 : 0;
    last = messages;
    if (quiet >= 4) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}
