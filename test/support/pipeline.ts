/** Runs `mailbox-radar run` as a child process against the test stack, on unique topics and group. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { AvroCodec } from '../../src/kafka/avro-codec.js';
import { AvroTopicWriter } from '../../src/kafka/avro-producer.js';
import { BLIND_STORE } from '../../src/detect/bulk-mail-access.js';
import * as firstAccess from '../../src/detect/first-access.js';
import { LEARNING_STORE, SEEN_STORE } from '../../src/detect/first-app-access.js';
import { changelogTopic } from '../../src/kafka/changelog.js';
import { repartitionTopic } from '../../src/kafka/repartition.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import type { MailboxAccessAlert, RuleName } from '../../src/model/alert.js';
import { activitySchema, activityType, alertType } from '../../src/model/schemas.js';
import type { TestContext } from 'node:test';
import type { Admin } from 'kafkajs';
import { createTopics, kafkaFor, requireStack, uniqueName, type Stack } from './stack.js';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface Topics {
  activity: string;
  deadLetter: string;
  alerts: Record<RuleName, string>;
  groupId: string;
}

export function uniqueTopics(): Topics {
  const base = uniqueName('it');
  return {
    activity: `${base}.activity`,
    deadLetter: `${base}.dlq`,
    alerts: {
      non_owner_burst: `${base}.alerts.non-owner-burst`,
      cross_domain_burst: `${base}.alerts.cross-domain-burst`,
      mailbox_sweep: `${base}.alerts.mailbox-sweep`,
      app_mailbox_sweep: `${base}.alerts.app-mailbox-sweep`,
      bulk_mail_access: `${base}.alerts.bulk-mail-access`,
      first_app_access: `${base}.alerts.first-app-access`,
      first_access: `${base}.alerts.first-access`,
    },
    groupId: `${base}.group`,
  };
}

/**
 * A test's start: the stack, and a fresh set of the pipeline's topics with `partitions` partitions each,
 * deleted when the test ends. Undefined when there is no stack (the test was marked skipped, or failed
 * under CI); the test then returns.
 */
export async function pipelineTopics(
  t: TestContext,
  partitions: number,
): Promise<{ stack: Stack; topics: Topics; admin: Admin } | undefined> {
  const stack = await requireStack(t);
  if (!stack) return undefined;
  const topics = uniqueTopics();
  const { admin, cleanup } = await createTopics(stack, allTopics(topics), partitions);
  t.after(cleanup);
  return { stack, topics, admin };
}

/** Every topic a test's pipeline uses, the internal repartition topic included. */
export function allTopics(t: Topics): string[] {
  return [
    t.activity,
    t.deadLetter,
    ...Object.values(t.alerts),
    repartitionTopic(t.groupId),
    ...[SEEN_STORE, LEARNING_STORE, BLIND_STORE, firstAccess.SEEN_STORE, firstAccess.LEARNING_STORE].map(
      (store) => changelogTopic(t.groupId, store),
    ),
  ];
}

/** The variables that point a command at a test's topics and consumer group. */
export function topicsEnv(topics: Topics): Record<string, string> {
  return {
    MAILBOX_RADAR_TOPICS__ACTIVITY: topics.activity,
    MAILBOX_RADAR_TOPICS__DEAD_LETTER: topics.deadLetter,
    MAILBOX_RADAR_TOPICS__ALERTS__NON_OWNER_BURST: topics.alerts.non_owner_burst,
    MAILBOX_RADAR_TOPICS__ALERTS__CROSS_DOMAIN_BURST: topics.alerts.cross_domain_burst,
    MAILBOX_RADAR_TOPICS__ALERTS__MAILBOX_SWEEP: topics.alerts.mailbox_sweep,
    MAILBOX_RADAR_TOPICS__ALERTS__APP_MAILBOX_SWEEP: topics.alerts.app_mailbox_sweep,
    MAILBOX_RADAR_TOPICS__ALERTS__BULK_MAIL_ACCESS: topics.alerts.bulk_mail_access,
    MAILBOX_RADAR_TOPICS__ALERTS__FIRST_APP_ACCESS: topics.alerts.first_app_access,
    MAILBOX_RADAR_TOPICS__ALERTS__FIRST_ACCESS: topics.alerts.first_access,
    MAILBOX_RADAR_KAFKA__GROUP_ID: topics.groupId,
  };
}

export function pipelineEnv(stack: Stack, topics: Topics, port: number, extra: Record<string, string> = {}) {
  return {
    ...process.env,
    KAFKA_BROKERS: stack.brokers.join(','),
    SCHEMA_REGISTRY_URL: stack.registryUrl,
    ...topicsEnv(topics),
    MAILBOX_RADAR_KAFKA__TOPIC_PARTITIONS: '3',
    MAILBOX_RADAR_HTTP__HOST: '127.0.0.1',
    MAILBOX_RADAR_HTTP__PORT: String(port),
    MAILBOX_RADAR_PIPELINE__COMMIT_INTERVAL_MS: '200',
    // A killed instance's partitions come back sooner (the broker's minimum is 6 s).
    MAILBOX_RADAR_KAFKA__SESSION_TIMEOUT_MS: '8000',
    MAILBOX_RADAR_LOG__LEVEL: 'info',
    ...extra,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningPipeline {
  process: ChildProcess;
  port: number;
  exit: Promise<number | null>;
  output: () => string;
}

export function startPipeline(env: NodeJS.ProcessEnv, args: string[] = []): RunningPipeline {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, port: Number(env.MAILBOX_RADAR_HTTP__PORT), exit, output: () => text };
}

/** Polls /readyz until it answers 200. */
export async function waitReady(p: RunningPipeline, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.process.exitCode !== null) throw new Error(`pipeline exited ${p.process.exitCode}:\n${p.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${p.port}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`pipeline not ready within ${timeoutMs} ms:\n${p.output()}`);
}

/** `startPipeline`, killed (SIGKILL) when the test ends, returned once /readyz answers (as `waitReady`). */
export async function startReady(
  t: TestContext,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
  timeoutMs?: number,
): Promise<RunningPipeline> {
  const p = startPipeline(env, args);
  t.after(() => p.process.kill('SIGKILL'));
  await waitReady(p, timeoutMs);
  return p;
}

/** A metric's value from /metrics (sum over labels). */
export async function metric(p: RunningPipeline, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Produces activity as Confluent-framed Avro, keyed by mailbox_guid like the real input. */
export async function produceActivity(
  stack: Stack,
  kafka: Kafka,
  topic: string,
  records: ExchangeMailboxActivity[],
) {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    const writer = new AvroTopicWriter(
      producer,
      new RegistryClient({ url: stack.registryUrl }),
      topic,
      activityType,
      activitySchema,
    );
    for (let i = 0; i < records.length; i += 500) {
      await writer.send(records.slice(i, i + 500).map((r) => ({ key: r.mailbox_guid, value: r })));
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * How long a read goes on: until `want` messages (and `until`, when given, holds of what was read), then
 * `quietMs` without a new one; or `timeoutMs`. A count alone is not enough where alerts have revisions
 * (issue 13): the revisions of some alerts can make up the count before another alert is published.
 */
export interface ReadOptions {
  want?: number;
  until?: (got: readonly { topic: string }[]) => boolean;
  timeoutMs?: number;
  quietMs?: number;
}

/** Reads every message of some topics from the beginning for `quietMs` after the last one (or until `want`). */
export async function readTopics(
  stack: Stack,
  topics: string[],
  options: ReadOptions = {},
): Promise<{ topic: string; partition: number; message: KafkaMessage }[]> {
  const consumer = kafkaFor(stack).consumer({ groupId: uniqueName('reader') });
  await consumer.connect();
  const got: { topic: string; partition: number; message: KafkaMessage }[] = [];
  let last = Date.now();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        got.push({ topic, partition, message });
        last = Date.now();
      },
    });
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const quiet = options.quietMs ?? 2_000;
    while (Date.now() < deadline) {
      const enough =
        (options.want === undefined ? got.length > 0 : got.length >= options.want) &&
        (options.until === undefined || options.until(got));
      if (enough && Date.now() - last >= quiet) break;
      await sleep(100);
    }
  } finally {
    await consumer.disconnect();
  }
  return got;
}

export async function readAlerts(
  stack: Stack,
  topics: Topics,
  options: ReadOptions = {},
): Promise<{ topic: string; key: string; alert: MailboxAccessAlert }[]> {
  const messages = await readTopics(stack, Object.values(topics.alerts), options);
  const codec = new AvroCodec<MailboxAccessAlert>(new RegistryClient({ url: stack.registryUrl }), alertType);
  await codec.prepare(messages.map((m) => m.message.value));
  return messages.map(({ topic, message }) => ({
    topic,
    key: message.key?.toString() ?? '',
    alert: { ...codec.decode(message.value) },
  }));
}
