import type { Producer } from 'kafkajs';
import type avro from 'avsc';
import { frame } from './avro-codec.js';
import type { RegistryClient } from './registry.js';

/**
 * Sends records as Confluent-framed Avro to one topic: the schema is registered under `<topic>-value`
 * once (idempotent), then each record is encoded with it. Used for activity (ingest, simulate) and alerts.
 */
export class AvroTopicWriter<T> {
  private schemaId: number | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly registry: RegistryClient,
    readonly topic: string,
    private readonly type: avro.Type,
    private readonly schema: object,
  ) {}

  async schemaIdForTopic(): Promise<number> {
    this.schemaId ??= await this.registry.registerValueSchema(this.topic, this.schema);
    return this.schemaId;
  }

  encode(schemaId: number, record: T): Buffer {
    return frame(schemaId, this.type.toBuffer(record));
  }

  /** Encodes and sends; resolves once the broker acknowledged every message (acks = all). */
  async send(
    records: readonly { key: string | null; value: T; headers?: Record<string, string> }[],
  ): Promise<void> {
    if (records.length === 0) return;
    const id = await this.schemaIdForTopic();
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((r) => ({ key: r.key, value: this.encode(id, r.value), headers: r.headers })),
    });
  }
}
