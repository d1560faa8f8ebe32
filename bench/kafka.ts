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
 * (`make stack-up`). Writes .bench/kafka.json.
 *
 *   node --import tsx bench/kafka.ts [--hot-records 1000000] [--long-records 10000000]
 *        [--broker-records 500000] [--rate 5000] [--latency-seconds 30] [--only hot|long|broker|latency]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { Kafka, logLevel } from 'kafkajs';
import { Subject } from 'rxjs';
import { startHttp } from '../src/app/http.js';
import { createMetrics } from '../src/app/metrics.js';
import { defaultConfig } from '../src/config/load.js';
import { detect } from '../src/detect/detect.js';
import { parseRecord } from '../src/detect/parse-record.js';
import type { CoreInput } from '../src/detect/types.js';
import { AvroCodec, frame } from '../src/kafka/avro-codec.js';
import { AvroTopicWriter } from '../src/kafka/avro-producer.js';
import { RegistryClient } from '../src/kafka/registry.js';
import type { ExchangeMailboxActivity } from '../src/model/activity.js';
import type { MailboxAccessAlert } from '../src/model/alert.js';
import { activityDetectionType, activitySchema, activityType, alertType } from '../src/model/schemas.js';
import { generateActivity } from './generate.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CHUNK = 20_000;
const SCHEMA_ID = 1;

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

/**
 * The pipeline's per-record work, as src/app/pipeline.ts does it: codec with the detection reader
 * (framing checks, resolver) → parseRecord → the core with external watermarks; per chunk (a batch) a
 * watermark and a checkpoint.
 */
function hotPipeline(records: number, sampleEvery: number) {
  const codec = new AvroCodec<ExchangeMailboxActivity>(
    new RegistryClient({ url: 'http://unused.invalid' }),
    activityDetectionType,
  );
  codec.addWriter(SCHEMA_ID, avro.Type.forSchema(activitySchema as avro.Schema));
  const config = defaultConfig().detection;
  const input = new Subject<CoreInput>();
  let alerts = 0;
  let openKeys = 0;
  input.pipe(detect(config, { watermarks: 'external' })).subscribe((out) => {
    if (out.kind === 'alert') alerts++;
    else openKeys = out.stats.openKeys;
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
 * A bare kafkajs consumer draining a topic: the floor for any kafkajs-based pipeline. It serves the
 * pipeline's own metrics on /metrics (createMetrics, same renderer, same default process metrics) and
 * counts a batch's records in `mailbox_radar_records_decoded_total` once it has finished with them, as
 * `run` does, so the parent times all three consumers by reading the same counter the same way. Runs
 * until SIGTERM.
 */
async function bareConsumer(brokers: string[], topic: string, decode: boolean, port: number) {
  // With `decode`, each value is also Avro-decoded (full reader): the floor of any Avro consumer.
  const resolver = activityType.createResolver(avro.Type.forSchema(activitySchema as avro.Schema));
  let sink = 0;
  let n = 0;
  const metrics = createMetrics();
  const health = { live: () => true, ready: () => true, describe: () => ({}) };
  const server = await startHttp('127.0.0.1', port, health, metrics.registry);
  const kafka = new Kafka({ brokers, clientId: 'bench-bare', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-bare-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages)
        if (decode)
          sink +=
            (activityType.decode(m.value!, 5, resolver).value as ExchangeMailboxActivity).creation_time & 1;
      n += batch.messages.length;
      metrics.decoded.inc(batch.messages.length);
    },
  });
  await new Promise((resolve) => process.once('SIGTERM', resolve));
  await consumer.disconnect();
  server.close();
  return { records: n, sink };
}

async function runChild(kind: string, args: string[]): Promise<void> {
  let result: unknown;
  if (kind === 'hot-decode') result = hotDecode(Number(args[0]), args[1] ?? 'full');
  else if (kind === 'hot-pipeline') result = hotPipeline(Number(args[0]), Number(args[1]));
  else if (kind === 'bare-consumer')
    result = await bareConsumer(args[0]!.split(','), args[1]!, args[2] === 'decode', Number(args[3]));
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

function stackEnv(): { brokers: string[]; registryUrl: string } {
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
interface Drainer {
  pid: number;
  metric: (name: string) => Promise<number>;
  /** SIGTERM, then wait for the exit. */
  stop: () => Promise<void>;
}

function watch(p: ChildProcess, port: number): Drainer {
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n'))
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    return sum;
  };
  const exited = new Promise((r) => p.once('exit', r));
  return {
    pid: p.pid!,
    metric,
    stop: async () => {
      if (p.exitCode === null) p.kill('SIGTERM');
      await exited;
    },
  };
}

/** A free loopback port, for a child's /metrics. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** `mailbox-radar run` on the bench's topics, returned as soon as it is spawned. */
function spawnPipeline(
  stack: { brokers: string[]; registryUrl: string },
  base: string,
  port: number,
): Drainer {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      KAFKA_BROKERS: stack.brokers.join(','),
      SCHEMA_REGISTRY_URL: stack.registryUrl,
      MAILBOX_RADAR_TOPICS__ACTIVITY: `${base}.activity`,
      MAILBOX_RADAR_TOPICS__DEAD_LETTER: `${base}.dlq`,
      MAILBOX_RADAR_TOPICS__ALERTS__NON_OWNER_BURST: `${base}.alerts`,
      MAILBOX_RADAR_TOPICS__ALERTS__CROSS_DOMAIN_BURST: `${base}.alerts`,
      MAILBOX_RADAR_TOPICS__ALERTS__MAILBOX_SWEEP: `${base}.alerts`,
      MAILBOX_RADAR_KAFKA__GROUP_ID: `${base}.group`,
      MAILBOX_RADAR_HTTP__HOST: '127.0.0.1',
      MAILBOX_RADAR_HTTP__PORT: String(port),
      MAILBOX_RADAR_LOG__LEVEL: 'warn',
    },
  });
  return watch(p, port);
}

async function startPipeline(
  stack: { brokers: string[]; registryUrl: string },
  base: string,
  port: number,
): Promise<Drainer> {
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

/** A bare kafkajs consumer child (see bareConsumer) on the topic, returned as soon as it is spawned. */
function spawnBare(stack: { brokers: string[] }, topic: string, decode: boolean, port: number): Drainer {
  const p = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      'bare-consumer',
      stack.brokers.join(','),
      topic,
      decode ? 'decode' : 'plain',
      String(port),
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return watch(p, port);
}

const DONE_METRICS = ['mailbox_radar_records_decoded_total', 'mailbox_radar_records_rejected_total'];

/**
 * Times a consumer draining `records` records, the same way for `run` and the bare consumers: every
 * 50 ms from the moment it is spawned, read how many records it has finished with (the batch went
 * through all its per-record work: decoded and through the core for `run`, the loop for the bare ones).
 * Throughput is taken between the first reading above zero and the reading that reaches `records`, over
 * the records finished in between, so start-up (connect, group join) counts for none of them.
 */
async function timeDrain(drainer: Drainer, records: number) {
  let first: { at: number; done: number } | undefined;
  for (let polls = 0; ; polls++) {
    let done = 0;
    try {
      for (const name of DONE_METRICS) done += await drainer.metric(name);
    } catch {
      // not listening yet
    }
    const at = performance.now();
    if (done > 0 && first === undefined) first = { at, done };
    if (first !== undefined && done >= records) {
      const seconds = (at - first.at) / 1_000;
      return {
        seconds,
        recordsPerSecond: Math.round((done - first.done) / seconds),
        peakRssMb: vmHwmMb(drainer.pid),
      };
    }
    if (polls > 20 * 600) throw new Error(`${records} records not drained within 10 minutes`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function vmHwmMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1_024) * 10) / 10;
}

async function produce(
  stack: { brokers: string[]; registryUrl: string },
  topic: string,
  records: Iterable<ExchangeMailboxActivity>,
) {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'bench-producer', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
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

async function broker(stack: { brokers: string[]; registryUrl: string }, records: number) {
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
  const bare = await drain(spawnBare(stack, topic, false, await freePort()));
  const bareDecode = await drain(spawnBare(stack, topic, true, await freePort()));
  const pipeline = spawnPipeline(stack, base, await freePort());
  let alerts = 0;
  const run = await drain({
    ...pipeline,
    stop: async () => {
      alerts = await pipeline.metric('mailbox_radar_alerts_total');
      await pipeline.stop();
    },
  });
  return {
    records,
    produceSeconds,
    bare,
    pipeline: { ...run, alerts },
    bareDecode,
    ratio: Math.round((run.recordsPerSecond / bare.recordsPerSecond) * 100) / 100,
    ratioVsBareDecode: Math.round((run.recordsPerSecond / bareDecode.recordsPerSecond) * 100) / 100,
  };
}

async function latency(stack: { brokers: string[]; registryUrl: string }, rate: number, seconds: number) {
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
    const b = await broker(stack, arg('broker-records', 500_000));
    results.broker = b;
    console.log(
      `broker (${b.records} records): bare kafkajs ${b.bare.recordsPerSecond}/s, kafkajs + avsc decode ${b.bareDecode.recordsPerSecond}/s, pipeline ${b.pipeline.recordsPerSecond}/s; ratio ${b.ratio} (vs decode floor ${b.ratioVsBareDecode})`,
    );
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
