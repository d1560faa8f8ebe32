import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
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
import { ErrorCodes, RadarError } from '../errors.js';

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
 * requires one) fails at once with one line naming the broker and the setting to look at. Anything else
 * (refused, timed out, a plaintext port) is left to kafkajs, which retries and reports it.
 */
export async function checkTls(
  brokers: readonly string[],
  tls: ConnectionOptions,
  timeoutMs: number,
): Promise<void> {
  const failures = await Promise.all(brokers.map((broker) => tlsProbe(broker, tls, timeoutMs)));
  const failure = failures.find((f) => f !== undefined);
  if (failure) throw failure;
}

// ApiVersions v0 from client id "radar": size, api key 18, version 0, correlation id 1, client id.
const API_VERSIONS = Buffer.from([0, 0, 0, 15, 0, 18, 0, 0, 0, 0, 0, 1, 0, 5, ...Buffer.from('radar')]);

function tlsProbe(
  broker: string,
  tls: ConnectionOptions,
  timeoutMs: number,
): Promise<RadarError | undefined> {
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(broker.slice(at + 1));
  return new Promise((resolve) => {
    const socket = tlsConnect({
      ...tls,
      host,
      port,
      servername: isIP(host) ? undefined : host,
      timeout: timeoutMs,
    });
    const done = (result: RadarError | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('secureConnect', () => socket.write(API_VERSIONS));
    socket.once('data', () => done(undefined));
    socket.once('timeout', () => done(undefined));
    socket.once('close', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(certificateFailure(broker, error)));
  });
}

/** The clear error for a TLS certificate failure, or undefined for any other error. */
export function certificateFailure(broker: string, error: NodeJS.ErrnoException): RadarError | undefined {
  const code = error.code ?? '';
  let what: string | undefined;
  if (
    /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE)$/.test(
      code,
    )
  )
    what = "the broker's certificate is not signed by a CA this client trusts (kafka.ssl.ca)";
  else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    what = "the broker's certificate is expired or not yet valid";
  else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    what = "the broker's certificate does not name this host (kafka.brokers)";
  else if (/^ERR_SSL_.*(CERTIFICATE|UNKNOWN_CA)/.test(code))
    what = "the broker refused this client's certificate, or its absence (kafka.ssl.cert, kafka.ssl.key)";
  if (!what) return undefined;
  return new RadarError(
    ErrorCodes.KAFKA_UNAVAILABLE,
    `Kafka broker ${broker}: TLS failed, ${what} [${code}]`,
    {
      cause: error,
    },
  );
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
