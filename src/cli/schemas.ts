import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Config } from '../config/types.js';
import { ErrorCodes, RadarError } from '../errors.js';
import { createKafka } from '../kafka/client.js';
import { ensureTopics } from '../kafka/topics.js';
import { activitySchema, alertSchema } from '../model/schemas.js';
import { configOption, connectKafka, loadToolConfig, registryFor, reportFailure } from './tooling.js';

export interface SchemasRegisterOptions {
  config?: string | undefined;
  createTopics?: boolean | undefined;
}

export interface SchemasIo {
  stdout: Writable;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** Adds `schemas register` to the program. */
export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas').description('the Avro schemas in the schema registry');
  configOption(
    schemas
      .command('register')
      .description(
        'register ExchangeMailboxActivity under <activity topic>-value and MailboxAccessAlert under ' +
          '<alert topic>-value for each alert topic (idempotent)',
      ),
  )
    .option('--create-topics', 'also create the activity, dead-letter and alert topics that do not exist')
    .action(async (options: SchemasRegisterOptions) => {
      process.exitCode = await schemasRegister(options, {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
      });
    });
}

/** The subjects this project writes, with the schema each holds. */
export function subjectsOf(config: Config): { subject: string; topic: string; schema: object }[] {
  const { activity, alerts } = config.topics;
  return [
    { subject: `${activity}-value`, topic: activity, schema: activitySchema },
    ...[alerts.nonOwnerBurst, alerts.crossDomainBurst, alerts.mailboxSweep].map((topic) => ({
      subject: `${topic}-value`,
      topic,
      schema: alertSchema,
    })),
  ];
}

/** Registers each subject's schema, saying for each whether it was new; resolves to the exit code. */
export async function schemasRegister(options: SchemasRegisterOptions, io: SchemasIo): Promise<number> {
  const config = loadToolConfig(options.config, io.env);
  try {
    if (options.createTopics === true) await createTopics(config, io);
    const registry = registryFor(config);
    for (const { subject, schema } of subjectsOf(config)) {
      const existing = await lookup(config, subject, schema);
      const id = existing ?? (await registry.register(subject, schema));
      io.stdout.write(`${subject} → id ${id} (${existing === undefined ? 'new' : 'already registered'})\n`);
    }
    return 0;
  } catch (error) {
    return reportFailure('schemas register', error, io.stderr);
  }
}

async function createTopics(config: Config, io: SchemasIo): Promise<void> {
  const { activity, deadLetter, alerts } = config.topics;
  const topics = [activity, deadLetter, alerts.nonOwnerBurst, alerts.crossDomainBurst, alerts.mailboxSweep];
  const admin = createKafka(config.kafka, undefined, '-schemas').admin();
  await connectKafka(admin, config.kafka);
  try {
    const created = new Set(
      await ensureTopics(
        admin,
        topics.map((topic) => ({
          topic,
          partitions: config.kafka.topicPartitions,
          replicationFactor: config.kafka.replicationFactor,
        })),
      ),
    );
    for (const topic of topics)
      io.stdout.write(
        `topic ${topic} ${created.has(topic) ? `created (${config.kafka.topicPartitions} partitions)` : 'exists'}\n`,
      );
  } finally {
    await admin.disconnect();
  }
}

/**
 * The id under which `schema` is already registered in `subject`, or undefined (Confluent API
 * `POST /subjects/{subject}`: 404 when the subject or the schema is not there). RegistryClient has no
 * lookup, so this one call is made here with the same URL and credentials.
 */
async function lookup(config: Config, subject: string, schema: object): Promise<number | undefined> {
  const base = config.registry.url.replace(/\/+$/, '');
  const headers: Record<string, string> = {
    Accept: 'application/vnd.schemaregistry.v1+json, application/json',
    'Content-Type': 'application/vnd.schemaregistry.v1+json',
  };
  if (config.registry.username !== undefined)
    headers.Authorization = `Basic ${Buffer.from(`${config.registry.username}:${config.registry.password ?? ''}`).toString('base64')}`;
  let response: Response;
  try {
    response = await fetch(`${base}/subjects/${encodeURIComponent(subject)}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ schemaType: 'AVRO', schema: JSON.stringify(schema) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const { code, message } = (error as { cause?: { code?: string; message?: string } }).cause ?? {};
    const cause = code ?? message;
    throw new RadarError(
      ErrorCodes.REGISTRY_UNAVAILABLE,
      `schema registry ${base} unavailable: ${(error as Error).message}${cause === undefined ? '' : ` (${cause})`}`,
      { cause: error, retriable: true },
    );
  }
  const text = await response.text();
  if (response.status === 404) return undefined;
  if (!response.ok)
    throw new RadarError(
      ErrorCodes.REGISTRY_UNAVAILABLE,
      `registry answered ${response.status} to POST /subjects/${subject}: ${text.slice(0, 200)}`,
    );
  return (JSON.parse(text) as { id: number }).id;
}
