import { connect as tcpConnect } from 'node:net';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config, KafkaConfig } from '../config/types.js';
import { parseDuration } from '../config/duration.js';
import { ErrorCodes, RadarError } from '../errors.js';
import type { Kafka, Producer } from 'kafkajs';
import { AvroTopicWriter } from '../kafka/avro-producer.js';
import { RegistryClient } from '../kafka/registry.js';
import { resolveRegistryUrl } from '../kafka/registry-url.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import { activitySchema, activityType } from '../model/schemas.js';

/**
 * What the operator commands (simulate, ingest, tail, schemas) share: loading the configuration the way
 * `run` does, reaching Kafka and the registry with a bounded wait, and turning "cannot reach it" into one
 * clear line and exit code 1 instead of a stack trace. Usage and configuration problems are RadarErrors
 * with a CONFIG_* or INPUT_NOT_FOUND code, which main.ts reports with exit code 2.
 */

/** The configuration: `--config FILE` (or $MAILBOX_RADAR_CONFIG), then the environment's overrides. */
export function loadToolConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig({ file: file ?? env.MAILBOX_RADAR_CONFIG, env });
}

/**
 * The registry client, at the URL that serves the Confluent API (Apicurio's base URL becomes its
 * /apis/ccompat/v7, said once on stderr); a URL that is no registry is CONFIG_INVALID (exit code 2).
 */
export async function registryFor(
  config: Config,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<RegistryClient> {
  const url = await resolveRegistryUrl(config.registry, (message) =>
    stderr.write(`mailbox-radar: ${message}\n`),
  );
  return new RegistryClient({
    url,
    username: config.registry.username,
    password: config.registry.password,
    retries: config.registry.retries,
  });
}

/** A bad command-line value: exit code 2 with the option and the reason. */
export function usageError(option: string, value: unknown, reason: string): RadarError {
  return new RadarError(ErrorCodes.CONFIG_INVALID, `invalid ${option} ${JSON.stringify(value)}: ${reason}`);
}

export function parsePositiveInt(option: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw usageError(option, value, `must be a whole number ≥ ${min}`);
  return n;
}

export function parsePositiveNumber(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw usageError(option, value, 'must be a number > 0');
  return n;
}

export function parseDurationOption(option: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw usageError(option, value, 'must be a duration such as 90s, 2m, 1h30m');
  return ms;
}

/** Commander helper: `--config` with the same wording on every command. */
export function configOption(command: Command): Command {
  return command.option(
    '-c, --config <file>',
    'configuration file, YAML or JSON (default: $MAILBOX_RADAR_CONFIG)',
  );
}

/** How long a command waits for Kafka before it gives up (kafkajs alone would retry for minutes). */
export const CONNECT_TIMEOUT_MS = 30_000; // thirty seconds

/**
 * Connects a kafkajs client (producer, consumer or admin), failing fast with KAFKA_UNAVAILABLE when no
 * broker accepts a TCP connection, and after `timeoutMs` when the connection does not complete.
 */
export async function connectKafka(
  client: { connect(): Promise<void>; disconnect(): Promise<void> },
  kafka: KafkaConfig,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<void> {
  const brokers = kafka.brokers.join(',');
  const probes = await Promise.all(
    kafka.brokers.map((broker) => probe(broker, Math.min(kafka.connectionTimeoutMs, 5_000))),
  );
  if (!probes.some((p) => p === true)) {
    const reason = probes.find((p) => typeof p === 'string') ?? 'no answer';
    throw new RadarError(
      ErrorCodes.KAFKA_UNAVAILABLE,
      `Kafka unreachable: no broker answers at ${brokers} (${reason})`,
      {
        retriable: true,
      },
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RadarError(
            ErrorCodes.KAFKA_UNAVAILABLE,
            `Kafka at ${brokers} accepted a connection but did not complete the handshake within ${timeoutMs / 1000}s (TLS or SASL settings?)`,
            { retriable: true },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([client.connect(), deadline]);
  } catch (error) {
    void client.disconnect().catch(() => undefined);
    if (error instanceof RadarError) throw error;
    throw new RadarError(ErrorCodes.KAFKA_UNAVAILABLE, `Kafka at ${brokers}: ${(error as Error).message}`, {
      cause: error,
      retriable: true,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** True when host:port accepts a TCP connection, else the reason (ECONNREFUSED, timeout, …). */
function probe(broker: string, timeoutMs: number): Promise<true | string> {
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(broker.slice(at + 1));
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('timeout', () => (socket.destroy(), resolve(`no answer within ${timeoutMs}ms`)));
  });
}

/** Errors that mean "fix your input or configuration": main.ts reports them with exit code 2. */
const USAGE_CODES = new Set<string>([
  ErrorCodes.CONFIG_INVALID,
  ErrorCodes.CONFIG_NOT_FOUND,
  ErrorCodes.INPUT_NOT_FOUND,
]);

/**
 * The exit code for a failed command, after writing one line about it to stderr; usage errors are
 * rethrown for main.ts (exit 2), and bugs keep their stack trace (rethrown too).
 */
export function reportFailure(
  command: string,
  error: unknown,
  stderr: NodeJS.WritableStream = process.stderr,
): number {
  if (error instanceof RadarError && USAGE_CODES.has(error.code)) throw error;
  const name = (error as Error | undefined)?.name ?? '';
  if (error instanceof RadarError || name.startsWith('KafkaJS')) {
    stderr.write(`mailbox-radar ${command}: ${(error as Error).message}\n`);
    return 1;
  }
  throw error;
}

/** Calls `handler` on the first SIGINT or SIGTERM; returns a function that removes the handlers. */
export function onStopSignal(handler: (signal: NodeJS.Signals) => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const listener = (signal: NodeJS.Signals): void => {
    for (const s of signals) process.off(s, listener);
    handler(signal);
  };
  for (const s of signals) process.on(s, listener);
  return () => {
    for (const s of signals) process.off(s, listener);
  };
}

/** Does the topic exist? A producer would otherwise retry for a long time and say little. */
export async function requireTopics(
  admin: { listTopics(): Promise<string[]> },
  topics: readonly string[],
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length > 0)
    throw new RadarError(
      ErrorCodes.KAFKA_UNAVAILABLE,
      `topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist; create ${missing.length > 1 ? 'them' : 'it'} with \`mailbox-radar schemas register --create-topics\` (or your cluster's tooling)`,
    );
}

/**
 * For the commands that write activity (ingest, simulate): checks that the topic exists, registers the
 * activity schema under `<topic>-value`, connects the producer, and returns the writer.
 */
export async function openActivityWriter(
  config: Config,
  kafka: Kafka,
  producer: Producer,
  topic: string,
): Promise<AvroTopicWriter<ExchangeMailboxActivity>> {
  const admin = kafka.admin();
  await connectKafka(admin, config.kafka);
  try {
    await requireTopics(admin, [topic]);
  } finally {
    await admin.disconnect();
  }
  const writer = new AvroTopicWriter<ExchangeMailboxActivity>(
    producer,
    await registryFor(config),
    topic,
    activityType,
    activitySchema,
  );
  await writer.schemaIdForTopic();
  await connectKafka(producer, config.kafka);
  return writer;
}
