/**
 * Reading the alert topics, as `tail` and `dashboard` do: every rule's topic checked to exist, a codec for
 * the alert schema through the registry, and decoding that reports a message it cannot read and goes on
 * (one bad message must not hide the alerts after it).
 */
import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { alertTopics } from '../config/alert-topics.js';
import type { Config } from '../config/types.js';
import { DecodeError } from '../errors.js';
import { AvroCodec } from '../kafka/avro-codec.js';
import { createKafka } from '../kafka/client.js';
import type { MailboxAccessAlert } from '../model/alert.js';
import { alertType } from '../model/schemas.js';
import { connectKafka, registryFor, requireTopics } from './tooling.js';

export interface AlertSource {
  kafka: Kafka;
  /** Every rule's alert topic, in the order of RULES. */
  topics: string[];
  codec: AvroCodec<MailboxAccessAlert>;
}

/**
 * The client, the topics and the codec; fails with one clear error (KAFKA_UNAVAILABLE) when Kafka does
 * not answer or a topic is missing, and with CONFIG_INVALID when the registry URL is no registry.
 */
export async function openAlertSource(
  config: Config,
  stderr: NodeJS.WritableStream,
  clientIdSuffix: string,
): Promise<AlertSource> {
  const topics = alertTopics(config);
  const kafka = createKafka(config.kafka, undefined, clientIdSuffix);
  const codec = new AvroCodec<MailboxAccessAlert>(await registryFor(config, stderr), alertType);
  const admin = kafka.admin();
  await connectKafka(admin, config.kafka);
  try {
    await requireTopics(admin, topics);
  } finally {
    await admin.disconnect();
  }
  return { kafka, topics, codec };
}

/** Where a message was read. */
export interface MessageAt {
  topic: string;
  partition: number;
  offset: string;
}

export interface AlertHandlers {
  /** A decoded alert; per partition in offset order. */
  alert(alert: MailboxAccessAlert, at: MessageAt): void;
  /** A message that is not an alert this reader can read: reported, then passed over. */
  undecodable(error: DecodeError, at: MessageAt): void;
}

export interface AlertBatchHandlers extends AlertHandlers {
  /** The registry did not answer (after its retries): the batch is left unread. */
  failed(error: unknown): void;
  /** True once the reader stops: the rest of the batch is left. */
  stopped(): boolean;
}

/** A kafkajs `eachBatch` that decodes every message of the batch for `handlers`. */
export function alertBatches(
  codec: AvroCodec<MailboxAccessAlert>,
  handlers: AlertBatchHandlers,
): (payload: EachBatchPayload) => Promise<void> {
  return async ({ batch, resolveOffset, heartbeat }) => {
    try {
      await codec.prepare(batch.messages.map((m) => m.value));
    } catch (error) {
      handlers.failed(error);
      return;
    }
    for (const message of batch.messages) {
      if (handlers.stopped()) return;
      decodeAlert(codec, batch.topic, batch.partition, message, handlers);
      resolveOffset(message.offset);
    }
    await heartbeat();
  };
}

/** Decodes one message (whose writer schema `codec.prepare` has fetched) for `handlers`. */
export function decodeAlert(
  codec: AvroCodec<MailboxAccessAlert>,
  topic: string,
  partition: number,
  message: KafkaMessage,
  handlers: AlertHandlers,
): void {
  const at = { topic, partition, offset: message.offset };
  let alert: MailboxAccessAlert;
  try {
    alert = codec.decode(message.value);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    handlers.undecodable(error, at);
    return;
  }
  handlers.alert(alert, at);
}

/** `topic[partition]@offset`, for a line about a message. */
export function describeAt(at: MessageAt): string {
  return `${at.topic}[${at.partition}]@${at.offset}`;
}
