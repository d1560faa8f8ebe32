import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';

/** The part of the configuration that says how to reach Kafka (config.kafka). */
export interface KafkaOptions {
  brokers: readonly string[];
  clientId: string;
  ssl?:
    | boolean
    | {
        ca?: string | undefined;
        cert?: string | undefined;
        key?: string | undefined;
        rejectUnauthorized?: boolean | undefined;
      }
    | null
    | undefined;
  sasl?:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | null
    | undefined;
  connectionTimeoutMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
}

/** A kafkajs client from config: TLS files are read here, SASL passed through, logs go to pino. */
export function createKafka(options: KafkaOptions, logger?: Logger, clientIdSuffix = ''): Kafka {
  // kafkajs warns on every producer that its v2 default partitioner changed; ours is meant (it is the
  // Java client's murmur2), so the warning is noise in operators' logs.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const config: KafkaConfig = {
    brokers: [...options.brokers],
    clientId: `${options.clientId}${clientIdSuffix}`,
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // Reconnects: kafkajs retries with backoff; the pipeline decides what to do once they run out.
    retry: { initialRetryTime: 300, retries: 10, maxRetryTime: 30_000 },
    logLevel: logger ? logLevel.INFO : logLevel.NOTHING,
  };
  if (options.ssl) {
    config.ssl =
      options.ssl === true
        ? true
        : {
            ca: options.ssl.ca ? [readFileSync(options.ssl.ca, 'utf8')] : undefined,
            cert: options.ssl.cert ? readFileSync(options.ssl.cert, 'utf8') : undefined,
            key: options.ssl.key ? readFileSync(options.ssl.key, 'utf8') : undefined,
            rejectUnauthorized: options.ssl.rejectUnauthorized ?? true,
          };
  }
  if (options.sasl) {
    config.sasl = {
      mechanism: options.sasl.mechanism,
      username: options.sasl.username,
      password: options.sasl.password,
    } as SASLOptions;
  }
  if (logger) config.logCreator = pinoLogCreator(logger);
  return new Kafka(config);
}

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

function pinoLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...rest } = log as Record<string, unknown>;
      // kafkajs logs every connection error at ERROR and then retries; those are warnings to us.
      const pinoLevel = levels[level] === 'error' ? 'warn' : (levels[level] ?? 'info');
      if (pinoLevel === 'info' && namespace !== 'ConsumerGroup' && namespace !== 'Consumer') return;
      logger[pinoLevel]({ kafkajs: namespace, ...rest }, String(message));
    };
}
