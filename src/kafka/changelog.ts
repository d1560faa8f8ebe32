/**
 * State stores backed by compacted changelog topics, as Kafka Streams keeps them: a rule's state beyond
 * its windows (e.g. the last time each app was seen reading mail) changes in the core, which reports each
 * change as a `{kind: 'state'}` output; the pipeline writes it to `<groupId>-<store>-changelog`, keyed by the
 * state's key, on the partition that key's records come from (the same partitioner as the source topic), and
 * commits the source offsets only once the change is acknowledged. On assignment, the changelog partitions
 * of the assigned source partitions are read from the beginning and fed back to the core as
 * `{kind: 'restore'}` inputs before any record: a kill -9 or a rebalance neither forgets nor re-learns.
 *
 * kafkajs has no manual assignment, so a restore reads through a short-lived consumer group of its own,
 * subscribed to the changelog topic, until every wanted partition reaches the end offset it had when the
 * restore began; the group is deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { Partitioners, type Admin, type Kafka, type Message, type PartitionMetadata } from 'kafkajs';

export function changelogTopic(groupId: string, store: string): string {
  return `${groupId}-${store}-changelog`;
}

/** The partition a key goes to, as the Java client and our producers choose it (murmur2). */
export function partitionOfKey(key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return partitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}

/** A change as a changelog message: the value as JSON, null as a tombstone (compaction drops the key). */
export function changeMessage(key: string, value: number | null, partitions: number): Message {
  return {
    key,
    value: value === null ? null : Buffer.from(JSON.stringify(value)),
    partition: partitionOfKey(key, partitions),
  };
}

/**
 * Reads the changelog partitions `wanted` from the beginning up to their current end, in offset order per
 * partition; resolves with the latest value of each key (tombstones removed).
 */
export async function readChangelog(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  wanted: readonly number[],
  timeoutMs = 120_000,
): Promise<Map<string, number>> {
  const state = new Map<string, number>();
  if (wanted.length === 0) return state;
  const ends = await admin.fetchTopicOffsets(topic);
  const remaining = new Map<number, number>();
  for (const partition of wanted) {
    const end = ends.find((e) => e.partition === partition);
    const high = Number(end?.high ?? 0);
    const low = Number(end?.low ?? 0);
    if (high > low) remaining.set(partition, high);
  }
  if (remaining.size === 0) return state;
  const groupId = `${topic}-restore-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = remaining.get(batch.partition);
        if (end === undefined) return;
        for (const message of batch.messages) {
          if (Number(message.offset) >= end) break;
          const key = message.key?.toString('utf8');
          if (key === undefined) continue;
          if (message.value === null) state.delete(key);
          else state.set(key, JSON.parse(message.value.toString('utf8')) as number);
        }
        const last = Number(batch.messages[batch.messages.length - 1]?.offset ?? -1);
        if (last + 1 >= end) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) finish();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`restoring ${topic} did not finish within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return state;
}
