import type { Producer } from 'kafkajs';
import type avro from 'avsc';
import { HEADER_SIZE, MAGIC_BYTE } from './avro-codec.js';
import type { RegistryClient } from './registry.js';

/** Encoded records share chunks of this size (a larger record gets one of its own size). */
const CHUNK_BYTES = 64 * 1024;

/**
 * Sends records as Confluent-framed Avro to one topic: the schema is registered under `<topic>-value`
 * once (idempotent), then each record is encoded with it. Used for activity (ingest, simulate) and alerts.
 */
export class AvroTopicWriter<T> {
  private schemaId: number | undefined;
  /** Where encoded records go, each a view of it; never written again below `at`. */
  private chunk = Buffer.allocUnsafe(0);
  private at = 0;

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

  /**
   * The record, framed, as a view of a shared chunk: avsc's `toBuffer` allocates a zero-filled buffer of its
   * own for every record (plus one to frame it), and on the repartition path, one a non-owner access, that
   * allocation cost more than the encoding (BENCHMARKS.md §9). A chunk is never written again where a view
   * lies; a full one is left to the views that hold it and a new one taken.
   */
  encode(schemaId: number, record: T): Buffer {
    for (;;) {
      const start = this.at;
      const chunk = this.chunk;
      let required = CHUNK_BYTES;
      if (chunk.length - start > HEADER_SIZE) {
        const end = this.type.encode(record, chunk, start + HEADER_SIZE);
        if (end >= 0) {
          chunk[start] = MAGIC_BYTE;
          chunk.writeUInt32BE(schemaId, start + 1);
          this.at = end;
          return chunk.subarray(start, end);
        }
        // avsc gives the bytes missing, negated: the record needs chunk.length − end − start.
        required = Math.max(CHUNK_BYTES, chunk.length - end - start);
      }
      this.chunk = Buffer.allocUnsafe(required);
      this.at = 0;
    }
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
