/**
 * The Kafka mode, measured three ways, each beside its baseline in the same run:
 *
 *   hot path   Confluent-framed Avro buffers → AvroCodec.decode → parseRecord → core → alerts,
 *              beside a bare avsc decode loop over the same buffers (no network; records from
 *              bench/generate.ts, encoded in chunks outside the timed part). A long run (10M records by
 *              default) samples RSS every million records: memory must follow open keys, not records.
 *   broker     `mailbox-radar run` draining a pre-produced topic, beside a bare kafkajs consumer reading
 *              the same topic (eachBatch, nothing done per message) and one that also decodes. Ratio of
 *              records/s; goal ≥ 0.8. All three are timed alike (timeDrain): each is a child process
 *              serving the same metrics, polled every 50 ms for the records it has finished with.
 *   latency    activity produced at a fixed rate (default 5 000/s) with a burst completing every 200 ms;
 *              latency = alert received − creation_time of the record that completed the burst (the
 *              producer stamps creation_time when it sends). p50/p99; goal p99 ≤ 250 ms.
 *
 * Every case runs in its own child process so its peak RSS is its own. Needs the local stack
 * (`make stack-up`); the topics and groups it creates are deleted at the end. Writes .bench/kafka.json.
 * Several instances of `run` and the repartition hop: bench/scale.ts.
 *
 *   node --import tsx bench/kafka.ts [--hot-records 1000000] [--long-records 10000000]
 *        [--broker-records 500000] [--rate 5000] [--latency-seconds 30] [--only hot|classify|long|broker|latency]
 *        [--runs 3] [--before <checkout>] [--profile <dir>] [--env NAME=value …] [--rule-sets all,nonOwnerBurst,none]
 *
 * broker: `run` twice, all rules and non_owner_burst alone (`--rule-sets` chooses: `none` times `run` with every
 * rule off, the floor of decode, classification and commits). Every drain reports the CPU time per record of the
 * consumer process, of the local broker's JVM and of the whole machine, and the cores the machine kept busy.
 * With `--before <dir>` (a checkout of another commit, node_modules linked in) that checkout's `run` too,
 * alternating with this one's, each case with its own group and alert topic: the alerts of before and after are compared message by message (key, value,
 * headers). `--profile <dir>` writes a CPU profile of every `run` there (bench/profile.ts summarises them);
 * `--env` adds configuration to this checkout's `run` only.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { Kafka, logLevel } from 'kafkajs';
import { Subject } from 'rxjs';
import { defaultConfig } from '../src/config/load.js';
import { detect } from '../src/detect/detect.js';
import { createClassifier } from '../src/detect/classify.js';
import { parseRecord } from '../src/detect/parse-record.js';
import type { CoreInput } from '../src/detect/types.js';
import { AvroCodec, frame } from '../src/kafka/avro-codec.js';
import { AvroTopicWriter } from '../src/kafka/avro-producer.js';
import { FALLBACK, RawClassifier } from '../src/kafka/raw-classify.js';
import { RegistryClient } from '../src/kafka/registry.js';
import type { ExchangeMailboxActivity } from '../src/model/activity.js';
import type { MailboxAccessAlert } from '../src/model/alert.js';
import { activityDetectionType, activitySchema, activityType, alertType } from '../src/model/schemas.js';
import {
  ROOT,
  deleteBenchTopics,
  freePort,
  messagesOf,
  produce,
  settled,
  spawnBare,
  spawnPipeline,
  stackEnv,
  startPipeline,
  sumOf,
  timeDrain,
  vmHwmMb,
  type Drainer,
  type Stack,
} from './broker.js';
import { generateActivity } from './generate.js';
import { OFFLINE_SCHEMA_ID, offlineCodec } from './offline-codec.js';

const CHUNK = 20_000;
const SCHEMA_ID = OFFLINE_SCHEMA_ID;

// ───────────────────────────── child cases ─────────────────────────────

/** Encoded chunks of the generated stream; encoding is not timed. */
function* chunks(records: number): Generator<Buffer[]> {
  let chunk: Buffer[] = [];
  for (const record of generateActivity({ records })) {
    chunk.push(frame(SCHEMA_ID, activityType.toBuffer(record)));
    if (chunk.length === CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

function mb(bytes: number): number {
  return Math.round((bytes / 1_048_576) * 10) / 10;
}

function peakRssMb(): number {
  return Math.round((process.resourceUsage().maxRSS / 1_024) * 10) / 10; // maxRSS is in KiB
}

/** Bare avsc: read the header, decode with the resolver. The floor any Kafka-mode consumer pays. */
function hotDecode(records: number, readerName: string) {
  // `full`: the project's reader schema (every field); `detection`: the reader the pipeline uses.
  const reader = readerName === 'detection' ? activityDetectionType : activityType;
  const resolver = reader.createResolver(avro.Type.forSchema(activitySchema as avro.Schema));
  let ns = 0n;
  let n = 0;
  let sink = 0;
  for (const chunk of chunks(records)) {
    const t0 = process.hrtime.bigint();
    for (const buffer of chunk) {
      const { value } = reader.decode(buffer, 5, resolver) as { value: ExchangeMailboxActivity };
      sink += value.creation_time & 1;
    }
    ns += process.hrtime.bigint() - t0;
    n += chunk.length;
  }
  return { records: n, seconds: Number(ns) / 1e9, sink };
}

/** The pipeline's codec (detection reader) with the bench's writer schema known: no registry needed. */
/**
 * The pipeline's per-record work, as src/app/pipeline.ts does it: codec with the detection reader
 * (framing checks, resolver) → parseRecord → the core with external watermarks; per chunk (a batch) a
 * watermark and a checkpoint.
 */
function hotPipeline(records: number, sampleEvery: number) {
  const codec = offlineCodec();
  const config = defaultConfig().detection;
  const input = new Subject<CoreInput>();
  let alerts = 0;
  let openKeys = 0;
  input.pipe(detect(config, { watermarks: 'external' })).subscribe((out) => {
    if (out.kind === 'alert') alerts++;
    else if (out.kind === 'checkpoint') openKeys = out.stats.openKeys;
  });
  const samples: { records: number; rssMb: number; heapMb: number; openKeys: number }[] = [];
  let ns = 0n;
  let n = 0;
  let nextSample = sampleEvery;
  let checkpoint = 0;
  let maxEventTime = Number.NEGATIVE_INFINITY;
  for (const chunk of chunks(records)) {
    const t0 = process.hrtime.bigint();
    for (const buffer of chunk) {
      const record = parseRecord(codec.decode(buffer));
      if (record.creation_time > maxEventTime) maxEventTime = record.creation_time;
      input.next({ kind: 'record', record });
    }
    input.next({ kind: 'watermark', time: maxEventTime - config.allowedLatenessMs });
    input.next({ kind: 'checkpoint', id: ++checkpoint });
    ns += process.hrtime.bigint() - t0;
    n += chunk.length;
    if (n >= nextSample) {
      const memory = process.memoryUsage();
      samples.push({ records: n, rssMb: mb(memory.rss), heapMb: mb(memory.heapUsed), openKeys });
      nextSample += sampleEvery;
    }
  }
  input.complete();
  return { records: n, seconds: Number(ns) / 1e9, alerts, samples };
}

/**
 * Classification alone, no network: the pipeline's full path (codec decode with the detection reader →
 * parseRecord → classify) against the byte path (raw-classify, the full path only for what it leaves).
 */
function hotClassify(records: number, bytes: boolean) {
  const codec = offlineCodec();
  const config = defaultConfig().detection;
  const classifier = createClassifier(config);
  const raw = new RawClassifier(config, (id) => codec.writerType(id));
  let ns = 0n;
  let n = 0;
  let onBytes = 0;
  let sink = 0;
  for (const chunk of chunks(records)) {
    const t0 = process.hrtime.bigint();
    for (const buffer of chunk) {
      if (bytes && raw.classify(buffer) !== FALLBACK) {
        onBytes++;
        continue;
      }
      const verdict = classifier(parseRecord(codec.decode(buffer, bytes && raw.walkedWhole === buffer)));
      if (typeof verdict === 'object') sink++;
    }
    ns += process.hrtime.bigint() - t0;
    n += chunk.length;
  }
  return { records: n, seconds: Number(ns) / 1e9, onBytes, sink };
}

async function runChild(kind: string, args: string[]): Promise<void> {
  let result: unknown;
  if (kind === 'hot-decode') result = hotDecode(Number(args[0]), args[1] ?? 'full');
  else if (kind === 'hot-pipeline') result = hotPipeline(Number(args[0]), Number(args[1]));
  else if (kind === 'hot-classify') result = hotClassify(Number(args[0]), args[1] === 'bytes');
  else throw new Error(`unknown case ${kind}`);
  process.stdout.write(`${JSON.stringify({ ...(result as object), peakRssMb: peakRssMb() })}\n`);
  process.exit(0);
}

// ───────────────────────────── parent ─────────────────────────────

function child<T>(kind: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', kind, ...args],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()!) as T)
        : reject(new Error(`${kind} exited ${code}`)),
    );
  });
}

/** `run`'s configuration for each case: all rules (the default), or non_owner_burst alone. */
const RULE_KEYS = Object.keys(defaultConfig().detection.rules);
const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
/** The rules a broker case runs: all of them, non_owner_burst alone, or none (the floor: decode, classify, commit). */
type RuleSet = 'all' | 'nonOwnerBurst' | 'none';
const RULE_SETS: readonly RuleSet[] = ['all', 'nonOwnerBurst', 'none'];

function rulesEnv(rules: RuleSet): Record<string, string> {
  if (rules === 'all') return {};
  return Object.fromEntries(
    RULE_KEYS.filter((rule) => rule !== rules).map((rule) => [
      `MAILBOX_RADAR_DETECTION__RULES__${snake(rule)}__ENABLED`,
      'false',
    ]),
  );
}
/** Every rule's alerts to one topic of the case's own. */
function alertEnv(topic: string): Record<string, string> {
  return Object.fromEntries(
    Object.keys(defaultConfig().topics.alerts).map((rule) => [
      `MAILBOX_RADAR_TOPICS__ALERTS__${snake(rule)}`,
      topic,
    ]),
  );
}

interface BrokerOptions {
  records: number;
  /** The rule sets timed, in this order (default all, then non_owner_burst alone). */
  ruleSets: readonly RuleSet[];
  /** A checkout of another commit (e.g. main), whose `run` is timed beside this one's, case for case. */
  before: string | undefined;
  /** Where `run`'s CPU profiles go (node --cpu-prof), one per case; none when undefined. */
  profileDir: string | undefined;
  /** Extra configuration for this checkout's `run` (e.g. MAILBOX_RADAR_PIPELINE__CLASSIFY_RAW_BYTES=false). */
  env: Record<string, string>;
}

async function broker(stack: Stack, options: BrokerOptions) {
  const { records } = options;
  const base = `bench-${Date.now().toString(36)}`;
  const topic = `${base}.activity`;
  const t0 = performance.now();
  await produce(stack, topic, generateActivity({ records }));
  const produceSeconds = (performance.now() - t0) / 1_000;

  const drain = async (drainer: Drainer) => {
    try {
      return await timeDrain(drainer, records);
    } finally {
      await drainer.stop();
    }
  };
  const bare = await drain(spawnBare(stack, topic, false, await freePort(), `${base}.bare`));
  const bareDecode = await drain(spawnBare(stack, topic, true, await freePort(), `${base}.bare-decode`));
  // Before and after alternate, all rules then non_owner_burst alone, so drift hits both alike.
  const cases: { name: string; cwd: string | undefined; rules: RuleSet }[] = [];
  for (const rules of options.ruleSets) {
    if (options.before !== undefined) cases.push({ name: `before-${rules}`, cwd: options.before, rules });
    cases.push({ name: `run-${rules}`, cwd: undefined, rules });
  }
  const results: Record<string, unknown> = {};
  const alertsOf: Record<string, string[]> = {};
  for (const c of cases) {
    const alerts = `${base}.alerts-${c.name}`;
    const pipeline = spawnPipeline(stack, base, await freePort(), {
      groupId: `${base}.group-${c.name}`,
      cwd: c.cwd,
      env: { ...alertEnv(alerts), ...rulesEnv(c.rules), ...(c.cwd === undefined ? options.env : {}) },
      nodeArgs:
        options.profileDir === undefined
          ? []
          : // One directory per case: tsx's loader thread writes a profile of its own beside the main thread's.
            ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}/${c.name}`],
    });
    let page = '';
    const timing = await drain({
      ...pipeline,
      stop: async () => {
        await settled(pipeline);
        page = await pipeline.scrape();
        await pipeline.stop();
      },
    });
    alertsOf[c.name] = await messagesOf(stack, alerts);
    results[c.name] = {
      ...timing,
      ratio: Math.round((timing.recordsPerSecond / bare.recordsPerSecond) * 100) / 100,
      ratioVsBareDecode: Math.round((timing.recordsPerSecond / bareDecode.recordsPerSecond) * 100) / 100,
      alerts: sumOf(page, 'mailbox_radar_alerts_total'),
      alertMessages: alertsOf[c.name]!.length,
      classifiedOnBytes: sumOf(page, 'mailbox_radar_records_classified_on_bytes_total'),
      // Time consumption stood paused, waiting for the broker to acknowledge output (backpressure).
      pausedSeconds: sumOf(page, 'mailbox_radar_backpressure_paused_seconds_total'),
      pauses: sumOf(page, 'mailbox_radar_backpressure_pauses_total'),
      // Fetched batches (both topics) and the repartition topic's traffic: messages consumed (packs and
      // markers) against accesses produced.
      batches: sumOf(page, 'mailbox_radar_batch_duration_seconds_count'),
      repartitionMessagesConsumed: sumOf(page, 'mailbox_radar_repartition_records_consumed_total'),
      repartitionProduced: sumOf(page, 'mailbox_radar_repartition_records_produced_total'),
      // Of those, read back and taken as the mailbox side held them (sent-packs.ts), not decoded again.
      repartitionShared: sumOf(page, 'mailbox_radar_repartition_accesses_shared_total'),
    };
  }
  const sameAlerts: Record<string, boolean> = {};
  const differences: Record<string, { onlyBefore: unknown[]; onlyRun: unknown[] }> = {};
  if (options.before !== undefined)
    for (const rules of options.ruleSets) {
      const before = alertsOf[`before-${rules}`]!;
      const after = alertsOf[`run-${rules}`]!;
      sameAlerts[rules] = JSON.stringify(before) === JSON.stringify(after);
      if (!sameAlerts[rules]) {
        // What differs, decoded (value past the 5-byte frame), for the report.
        const show = (m: string) => {
          const [key, value, headers] = m.split(' ');
          return {
            key: Buffer.from(key!, 'hex').toString(),
            headers,
            alert: alertType.fromBuffer(Buffer.from(value!, 'hex').subarray(5)),
          };
        };
        differences[rules] = {
          onlyBefore: before
            .filter((m) => !after.includes(m))
            .slice(0, 10)
            .map(show),
          onlyRun: after
            .filter((m) => !before.includes(m))
            .slice(0, 10)
            .map(show),
        };
      }
    }
  await deleteBenchTopics(stack, `${base}.`);
  return { records, produceSeconds, bare, bareDecode, cases: results, sameAlerts, differences };
}

type DrainTiming = Awaited<ReturnType<typeof timeDrain>>;

/** CPU time per record of the consumer, the broker and the whole machine, and the cores the machine kept busy. */
function cpuText(t: DrainTiming): string {
  const c = t.cpuUsPerRecord;
  return `CPU µs a record: consumer ${c.consumer}, broker ${c.broker}, machine ${c.machineBusy}; ${t.machineBusyCores} cores busy`;
}

async function latency(stack: Stack, rate: number, seconds: number) {
  const base = `bench-lat-${Date.now().toString(36)}`;
  const topic = `${base}.activity`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'bench-latency', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 3 },
      { topic: `${base}.alerts`, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const pipeline = await startPipeline(stack, base, await freePort());

  // Alerts arrive here; latency = receipt − detected_at (the creation_time of the completing record).
  const registry = new RegistryClient({ url: stack.registryUrl });
  const codec = new AvroCodec<MailboxAccessAlert>(registry, alertType);
  const latencies: number[] = [];
  const consumer = kafka.consumer({ groupId: `${base}.reader`, maxWaitTimeInMs: 10 });
  await consumer.connect();
  await consumer.subscribe({ topics: [`${base}.alerts`], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      await codec.prepare(batch.messages.map((m) => m.value));
      for (const m of batch.messages) latencies.push(now - codec.decode(m.value).detected_at);
    },
  });

  const producer = kafka.producer();
  await producer.connect();
  const writer = new AvroTopicWriter(producer, registry, topic, activityType, activitySchema);
  const id = await writer.schemaIdForTopic();
  const background = generateActivity({
    records: rate * seconds + 1,
    start: Date.now(),
    durationMs: seconds * 1_000,
    injections: 0,
  });
  const tickMs = 10;
  const burstEveryMs = 200;
  let burst = 0;
  let burstStep = 20;
  let sent = 0;
  let lastBurstAt = 0;
  const inFlight = new Set<Promise<unknown>>();
  const started = Date.now();
  const end = started + seconds * 1_000;
  const template = background.next().value as ExchangeMailboxActivity;
  while (Date.now() < end) {
    const now = Date.now();
    // As many records as are due by now: the rate holds even when a send takes longer than a tick.
    const due = Math.floor(((now - started) * rate) / 1_000) - sent;
    const messages: { key: string | null; value: Buffer }[] = [];
    for (let i = 0; i < due; i++) {
      const next = background.next();
      if (next.done) break;
      const r = { ...next.value, creation_time: now };
      messages.push({ key: r.mailbox_guid, value: frame(id, activityType.toBuffer(r)) });
    }
    // A new burst every 200 ms: 20 reads of one mailbox by one actor, one per tick; the 20th completes it.
    if (now - lastBurstAt >= burstEveryMs && burstStep >= 20) {
      burst++;
      burstStep = 0;
      lastBurstAt = now;
    }
    if (burstStep < 20) {
      const mailbox = `b0000000-0000-4000-8000-${String(burst).padStart(12, '0')}`;
      const r: ExchangeMailboxActivity = {
        ...template,
        id: `burst-${base}-${burst}-${burstStep}`,
        creation_time: now,
        user_id: `attacker${burst}@contoso.com`,
        logon_user_sid: `S-1-5-21-7-7-7-${burst}`,
        logon_type: 2,
        mailbox_guid: mailbox,
        mailbox_owner_upn: `victim${burst}@contoso.com`,
        mailbox_owner_sid: `S-1-5-21-6-6-6-${burst}`,
        mailbox_owner_master_account_sid: null,
        external_access: false,
      };
      messages.push({ key: mailbox, value: frame(id, activityType.toBuffer(r)) });
      burstStep++;
    }
    sent += messages.length;
    const send = producer.send({ topic, acks: 1, messages }).finally(() => inFlight.delete(send));
    inFlight.add(send);
    if (inFlight.size >= 8) await Promise.race(inFlight);
    const wait = tickMs - (Date.now() - now);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inFlight);
  const elapsed = (Date.now() - started) / 1_000;
  await new Promise((r) => setTimeout(r, 2_000));
  await producer.disconnect();
  await consumer.disconnect();
  const peak = vmHwmMb(pipeline.pid);
  await pipeline.stop();
  await deleteBenchTopics(stack, `${base}.`);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return {
    targetRate: rate,
    achievedRate: Math.round(sent / elapsed),
    seconds: elapsed,
    bursts: burst,
    alerts: latencies.length,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
    pipelinePeakRssMb: peak,
  };
}

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

async function main() {
  const childAt = process.argv.indexOf('--child');
  if (childAt > 0) return runChild(process.argv[childAt + 1]!, process.argv.slice(childAt + 2));
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
  const want = (part: string) => only === undefined || only === part;
  const results: Record<string, unknown> = { node: process.version, when: new Date().toISOString() };
  const stack = stackEnv();

  if (want('hot')) {
    const records = arg('hot-records', 1_000_000);
    type Decode = { records: number; seconds: number; peakRssMb: number };
    const decode = await child<Decode>('hot-decode', [String(records), 'full']);
    const decodeDetection = await child<Decode>('hot-decode', [String(records), 'detection']);
    const pipeline = await child<{ records: number; seconds: number; peakRssMb: number; alerts: number }>(
      'hot-pipeline',
      [String(records), String(records)],
    );
    const hot = {
      records,
      decode: { recordsPerSecond: Math.round(decode.records / decode.seconds), peakRssMb: decode.peakRssMb },
      decodeDetectionReader: {
        recordsPerSecond: Math.round(decodeDetection.records / decodeDetection.seconds),
        peakRssMb: decodeDetection.peakRssMb,
      },
      pipeline: {
        recordsPerSecond: Math.round(pipeline.records / pipeline.seconds),
        peakRssMb: pipeline.peakRssMb,
        alerts: pipeline.alerts,
      },
      /** pipeline records/s ÷ bare decode with the full reader (the issue's baseline). */
      ratio: Math.round((decode.seconds / pipeline.seconds) * 100) / 100,
      /** pipeline records/s ÷ bare decode with the same (detection) reader: what the core itself costs. */
      ratioSameReader: Math.round((decodeDetection.seconds / pipeline.seconds) * 100) / 100,
    };
    results.hot = hot;
    console.log(
      `hot path (${records} records): decode ${hot.decode.recordsPerSecond}/s (detection reader ${hot.decodeDetectionReader.recordsPerSecond}/s), decode+core ${hot.pipeline.recordsPerSecond}/s, ratio ${hot.ratio} (same reader ${hot.ratioSameReader})`,
    );
  }
  if (want('classify')) {
    const records = arg('hot-records', 1_000_000);
    type Classified = { records: number; seconds: number; onBytes: number };
    const out: Record<string, number>[] = [];
    for (let run = 1; run <= arg('runs', 1); run++) {
      const full = await child<Classified>('hot-classify', [String(records), 'full']);
      const bytes = await child<Classified>('hot-classify', [String(records), 'bytes']);
      const row = {
        full: Math.round(full.records / full.seconds),
        bytes: Math.round(bytes.records / bytes.seconds),
        onBytes: bytes.onBytes,
        speedup: Math.round((full.seconds / bytes.seconds) * 100) / 100,
      };
      out.push(row);
      console.log(
        `classify (${records} records, no network): decode + parse + classify ${row.full}/s; on the bytes ${row.bytes}/s (${row.onBytes} never decoded); ×${row.speedup}`,
      );
    }
    results.classify = out;
  }
  if (want('long')) {
    const records = arg('long-records', 10_000_000);
    const long = await child<{
      records: number;
      seconds: number;
      peakRssMb: number;
      alerts: number;
      samples: unknown[];
    }>('hot-pipeline', [String(records), String(1_000_000)]);
    results.long = { ...long, recordsPerSecond: Math.round(long.records / long.seconds) };
    console.log(
      `long run (${records} records): ${Math.round(long.records / long.seconds)}/s, peak RSS ${long.peakRssMb} MB`,
    );
    console.table(long.samples);
  }
  if (want('broker')) {
    const runs = arg('runs', 1);
    const beforeAt = process.argv.indexOf('--before');
    const profileAt = process.argv.indexOf('--profile');
    const setsAt = process.argv.indexOf('--rule-sets');
    const ruleSets = (
      setsAt > 0 ? process.argv[setsAt + 1]!.split(',') : ['all', 'nonOwnerBurst']
    ) as RuleSet[];
    const unknown = ruleSets.filter((set) => !RULE_SETS.includes(set));
    if (unknown.length > 0)
      throw new Error(`--rule-sets: unknown ${unknown.join(', ')} (known: ${RULE_SETS.join(', ')})`);
    const env: Record<string, string> = {};
    for (let at = process.argv.indexOf('--env'); at > 0; at = process.argv.indexOf('--env', at + 1)) {
      const [key, ...value] = process.argv[at + 1]!.split('=');
      env[key!] = value.join('=');
    }
    const all = [];
    for (let run = 1; run <= runs; run++) {
      const b = await broker(stack, {
        records: arg('broker-records', 500_000),
        ruleSets,
        before: beforeAt > 0 ? process.argv[beforeAt + 1] : undefined,
        profileDir: profileAt > 0 ? process.argv[profileAt + 1] : undefined,
        env,
      });
      all.push(b);
      console.log(
        `broker run ${run} (${b.records} records): bare kafkajs ${b.bare.recordsPerSecond}/s (${cpuText(b.bare)}), kafkajs + avsc decode ${b.bareDecode.recordsPerSecond}/s (${cpuText(b.bareDecode)})`,
      );
      for (const [name, c] of Object.entries(b.cases) as [string, DrainTiming & Record<string, number>][])
        console.log(
          `  ${name}: ${c.recordsPerSecond}/s, ÷ bare ${c.ratio}, ÷ bare + decode ${c.ratioVsBareDecode}, alerts ${c.alerts} (${c.alertMessages} messages), classified on bytes ${c.classifiedOnBytes}, repartition shared ${c.repartitionShared} of ${c.repartitionProduced}, peak RSS ${c.peakRssMb} MB; ${cpuText(c)}`,
        );
      if (Object.keys(b.sameAlerts).length > 0)
        console.log(`  alerts identical to before: ${JSON.stringify(b.sameAlerts)}`);
    }
    results.broker = all;
  }
  if (want('latency')) {
    const l = await latency(stack, arg('rate', 5_000), arg('latency-seconds', 30));
    results.latency = l;
    console.log(
      `latency at ${l.achievedRate}/s: p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms over ${l.alerts} alerts`,
    );
  }
  mkdirSync(`${ROOT}.bench`, { recursive: true });
  const file = `${ROOT}.bench/kafka${only ? `-${only}` : ''}.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

await main();
