import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import {
  Kafka,
  logLevel,
  type Admin,
  type AdminConfig,
  type Consumer,
  type ConsumerConfig,
  type KafkaConfig,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from 'kafkajs';
import type { Logger } from 'pino';
import { awaitBrokers, probeBroker } from './broker-probe.js';

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

/**
 * A kafkajs client from config: TLS files are read here, SASL passed through, logs go to pino. With TLS,
 * every connect() first checks the TLS handshake itself (see checkTls): kafkajs would retry a refused
 * certificate for minutes and then report "Connection error: …" without saying which broker or setting.
 */
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
  const ssl = sslOptions(options);
  if (ssl !== undefined) config.ssl = ssl;
  if (options.sasl) {
    config.sasl = {
      mechanism: options.sasl.mechanism,
      username: options.sasl.username,
      password: options.sasl.password,
    } as SASLOptions;
  }
  if (logger) config.logCreator = pinoLogCreator(logger);
  if (!config.ssl) return new Kafka(config);
  const tls: ConnectionOptions = config.ssl === true ? {} : config.ssl;
  return new TlsCheckedKafka(config, () =>
    checkTls(options.brokers, tls, config.connectionTimeout ?? 10_000),
  );
}

/** A Kafka whose clients check the TLS handshake before kafkajs connects. */
class TlsCheckedKafka extends Kafka {
  constructor(
    config: KafkaConfig,
    private readonly check: () => Promise<void>,
  ) {
    super(config);
  }
  override producer(config?: ProducerConfig): Producer {
    return this.checked(super.producer(config));
  }
  override consumer(config: ConsumerConfig): Consumer {
    return this.checked(super.consumer(config));
  }
  override admin(config?: AdminConfig): Admin {
    return this.checked(super.admin(config));
  }
  private checked<T extends { connect(): Promise<void> }>(client: T): T {
    const connect = client.connect.bind(client);
    client.connect = async () => {
      await this.check();
      return connect();
    };
    return client;
  }
}

/**
 * Opens a TLS connection to each broker with the client's settings and sends one ApiVersions request:
 * a certificate problem on either side (the broker's not signed by our CA, ours refused by a broker that
 * requires one), or an answer that is not Kafka's, fails at once with one line naming the broker and the
 * setting to look at. Anything else (refused, timed out, a plaintext port) is left to kafkajs, which
 * retries and reports it (`run` asks awaitKafka first, which bounds that).
 */
export async function checkTls(
  brokers: readonly string[],
  tls: ConnectionOptions,
  timeoutMs: number,
): Promise<void> {
  const failures = await Promise.all(brokers.map((broker) => probeBroker(broker, tls, timeoutMs)));
  const fatal = failures.find((f) => f?.fatal !== undefined)?.fatal;
  if (fatal) throw fatal;
}

/**
 * Start-up's question to the cluster (`run`): does a broker answer, with these TLS settings? Asked
 * `attempts` times, `kafka.connectionTimeoutMs` apart, before kafkajs connects, so an unreachable cluster
 * is one KAFKA_UNAVAILABLE error within attempts × connectionTimeoutMs, not minutes of kafkajs retries.
 */
export function awaitKafka(options: KafkaOptions, attempts: number): Promise<void> {
  const ssl = sslOptions(options);
  const tls: ConnectionOptions | undefined = ssl === undefined ? undefined : ssl === true ? {} : ssl;
  return awaitBrokers(options.brokers, tls, options.connectionTimeoutMs ?? 10_000, attempts);
}

/** kafkajs' TLS settings from config.kafka.ssl, the PEM files read (their paths were checked at load). */
function sslOptions(options: KafkaOptions): ConnectionOptions | true | undefined {
  if (!options.ssl) return undefined;
  if (options.ssl === true) return true;
  return {
    ca: options.ssl.ca ? [readFileSync(options.ssl.ca, 'utf8')] : undefined,
    cert: options.ssl.cert ? readFileSync(options.ssl.cert, 'utf8') : undefined,
    key: options.ssl.key ? readFileSync(options.ssl.key, 'utf8') : undefined,
    rejectUnauthorized: options.ssl.rejectUnauthorized ?? true,
  };
}

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs warns at every start that an idempotent producer with finite retries "may invalidate EoS
 * guarantees". The retries are finite on purpose (a broker gone for good fails the pipeline, which restarts
 * from its committed offsets and re-sends with the same alert_id): README, "Delivery guarantees".
 */
const EXPLAINED_WARNINGS = new Set([
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
]);

function pinoLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...rest } = log as Record<string, unknown>;
      if (EXPLAINED_WARNINGS.has(String(message))) return;
      // kafkajs logs every connection error at ERROR and then retries; those are warnings to us.
      const pinoLevel = levels[level] === 'error' ? 'warn' : (levels[level] ?? 'info');
      if (pinoLevel === 'info' && namespace !== 'ConsumerGroup' && namespace !== 'Consumer') return;
      logger[pinoLevel]({ kafkajs: namespace, ...rest }, String(message));
    };
}
