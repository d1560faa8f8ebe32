import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Config } from '../config/types.js';
import { createKafka } from '../kafka/client.js';
import { ensureTopics } from '../kafka/topics.js';
import { alertTopicOf, alertTopics } from '../config/alert-topics.js';
import { RULES } from '../model/alert.js';
import { activitySchema, alertSchemaFor } from '../model/schemas.js';
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
  const { activity } = config.topics;
  return [
    { subject: `${activity}-value`, topic: activity, schema: activitySchema },
    ...RULES.map((rule) => ({
      subject: `${alertTopicOf(config)[rule]}-value`,
      topic: alertTopicOf(config)[rule],
      schema: alertSchemaFor(rule),
    })),
  ];
}

/** Registers each subject's schema, saying for each whether it was new; resolves to the exit code. */
export async function schemasRegister(options: SchemasRegisterOptions, io: SchemasIo): Promise<number> {
  const config = loadToolConfig(options.config, io.env);
  try {
    const registry = await registryFor(config, io.stderr);
    if (options.createTopics === true) await createTopics(config, io);
    for (const { subject, schema } of subjectsOf(config)) {
      const existing = await registry.lookup(subject, schema);
      const id = existing ?? (await registry.register(subject, schema));
      io.stdout.write(`${subject} → id ${id} (${existing === undefined ? 'new' : 'already registered'})\n`);
    }
    return 0;
  } catch (error) {
    return reportFailure('schemas register', error, io.stderr);
  }
}

async function createTopics(config: Config, io: SchemasIo): Promise<void> {
  const { activity, deadLetter } = config.topics;
  const topics = [activity, deadLetter, ...alertTopics(config)];
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
