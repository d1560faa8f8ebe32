/**
 * The dashboard's alerts from Kafka: first the last `historyMs` of every alert topic (offsets by
 * timestamp, read once through readRanges, so a page opened after an alert still shows it), then live from
 * the end offsets that read stopped at — no gap and no overlap. The live consumer's group is the process's
 * own and commits nothing (a restart reads the history again); it is deleted at stop.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, KafkaMessage } from 'kafkajs';
import type { KafkaConfig } from '../config/types.js';
import type { DecodeError } from '../errors.js';
import { offsetsAtTime, readRanges, type PartitionRange } from '../kafka/partition-reader.js';
import type { MailboxAccessAlert } from '../model/alert.js';
import { alertBatches, decodeAlert, type AlertSource, type MessageAt } from '../cli/alert-source.js';
import { connectKafka } from '../cli/tooling.js';

export interface FeedStatus {
  /** loading: reading the history; live: following the topics. */
  phase: 'loading' | 'live';
  historyMs: number;
  /** Alerts read from the history. */
  historyAlerts: number;
  /** Messages that are no alert this reader can read. */
  undecodable: number;
}

export interface FeedHandlers {
  alert(alert: MailboxAccessAlert): void;
  status(status: FeedStatus): void;
  undecodable(error: DecodeError, at: MessageAt): void;
  /** The feed stopped for good (the registry does not answer, the consumer crashed). */
  failed(error: unknown): void;
}

export class AlertFeed {
  private consumer: Consumer | undefined;
  private readonly groupId: string;
  private readonly state: FeedStatus;
  private stopping = false;

  constructor(
    private readonly source: AlertSource,
    private readonly kafkaConfig: KafkaConfig,
    historyMs: number,
    private readonly handlers: FeedHandlers,
  ) {
    this.groupId = `${kafkaConfig.groupId}-dashboard-${randomUUID().slice(0, 8)}`;
    this.state = { phase: 'loading', historyMs, historyAlerts: 0, undecodable: 0 };
  }

  status(): FeedStatus {
    return { ...this.state };
  }

  /** Reads the history, then follows the topics; resolves once the live consumer runs (or at stop). */
  async start(now = Date.now()): Promise<void> {
    try {
      await this.read(now);
    } catch (error) {
      if (!this.stopping) throw error; // stopped meanwhile: the consumer was disconnected under it
    }
  }

  private async read(now: number): Promise<void> {
    const { kafka, topics } = this.source;
    const admin = kafka.admin();
    await connectKafka(admin, this.kafkaConfig);
    try {
      const ranges = await historyRanges(admin, topics, now - this.state.historyMs);
      const messages: { topic: string; partition: number; message: KafkaMessage }[] = [];
      await readRanges(kafka, admin, ranges, (topic, partition, message) =>
        messages.push({ topic, partition, message }),
      );
      await this.source.codec.prepare(messages.map((m) => m.message.value));
      for (const { topic, partition, message } of messages)
        decodeAlert(this.source.codec, topic, partition, message, {
          alert: (alert) => {
            this.state.historyAlerts++;
            this.handlers.alert(alert);
          },
          undecodable: (error, at) => this.undecodable(error, at),
        });
      if (this.stopping) return;
      await this.follow(ranges);
    } finally {
      await admin.disconnect();
    }
    if (this.stopping) return;
    this.state.phase = 'live';
    this.handlers.status(this.status());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const consumer = this.consumer;
    if (consumer === undefined) return;
    await consumer.disconnect().catch(() => undefined);
    const admin = this.source.kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([this.groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }

  /** From where the history ended, every partition of every alert topic. */
  private async follow(ranges: readonly PartitionRange[]): Promise<void> {
    const consumer = this.source.kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 250, // an alert shows within a fraction of a second of its publication
    });
    this.consumer = consumer;
    await connectKafka(consumer, this.kafkaConfig);
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && !this.stopping) this.handlers.failed(payload.error);
    });
    await consumer.subscribe({ topics: this.source.topics, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: alertBatches(this.source.codec, {
        alert: (alert) => this.handlers.alert(alert),
        undecodable: (error, at) => this.undecodable(error, at),
        failed: (error) => this.handlers.failed(error),
        stopped: () => this.stopping,
      }),
    });
    // kafkajs applies seeks at the partitions' first fetch.
    for (const range of ranges)
      consumer.seek({ topic: range.topic, partition: range.partition, offset: String(range.to) });
  }

  private undecodable(error: DecodeError, at: MessageAt): void {
    this.state.undecodable++;
    this.handlers.undecodable(error, at);
    this.handlers.status(this.status());
  }
}

/** Every partition of the topics, from the first offset at or after `since` to the end now. */
async function historyRanges(
  admin: Admin,
  topics: readonly string[],
  since: number,
): Promise<(PartitionRange & { to: number })[]> {
  const ranges: (PartitionRange & { to: number })[] = [];
  for (const topic of topics) {
    const [from, ends] = await Promise.all([
      offsetsAtTime(admin, topic, since),
      admin.fetchTopicOffsets(topic),
    ]);
    for (const { partition, high } of ends)
      ranges.push({ topic, partition, from: from.get(partition) ?? Number(high), to: Number(high) });
  }
  return ranges;
}
