/**
 * Reads given offset ranges of topic partitions once, as a restore does: changelog partitions from their
 * restore point, the alert topics' recent tail. kafkajs has no manual assignment, so the ranges are read
 * through one short-lived consumer group of their own, whose offsets are set before it joins (partitions
 * of the same topics that are not wanted start at their end); the group is deleted afterwards. One group
 * for every range of a restore: a join costs a round of the group protocol, not a per-store delay.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';

export interface PartitionRange {
  topic: string;
  partition: number;
  /** First offset to read; `earliest` for the partition's log start. */
  from: number | 'earliest';
  /** Read up to this offset (exclusive); default: the partition's end when the read begins. */
  to?: number;
}

/** How often a read looks whether a range it waits for was deleted under it. */
const PURGE_CHECK_MS = 1_000;

/** The first offset of each partition with a timestamp at or after `time` (the end when there is none). */
export async function offsetsAtTime(admin: Admin, topic: string, time: number): Promise<Map<number, number>> {
  const [byTime, ends] = await Promise.all([
    admin.fetchTopicOffsetsByTimestamp(topic, time),
    admin.fetchTopicOffsets(topic),
  ]);
  const result = new Map<number, number>();
  for (const end of ends) {
    const found = Number(byTime.find((o) => o.partition === end.partition)?.offset ?? -1);
    result.set(end.partition, found >= 0 ? found : Number(end.high));
  }
  return result;
}

/**
 * Calls `onMessage` for every message in the ranges, in offset order per partition; resolves once every
 * range is read. Ranges that are empty (or whose start was deleted: reading starts at the log start) are
 * fine.
 */
export async function readRanges(
  kafka: Kafka,
  admin: Admin,
  ranges: readonly PartitionRange[],
  onMessage: (topic: string, partition: number, message: KafkaMessage) => void,
  options: { groupPrefix?: string; timeoutMs?: number } = {},
): Promise<void> {
  const topics = [...new Set(ranges.map((r) => r.topic))];
  if (topics.length === 0) return;
  const offsets = new Map(
    await Promise.all(topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const)),
  );
  const remaining = new Map<string, number>(); // topic:partition → end (exclusive)
  const starts = new Map<string, number>(); // topic:partition → first offset to read
  const seeks: { topic: string; partition: number; offset: string }[] = [];
  for (const topic of topics) {
    const wanted = new Map(ranges.filter((r) => r.topic === topic).map((r) => [r.partition, r]));
    for (const { partition, low, high } of offsets.get(topic) ?? []) {
      const range = wanted.get(partition);
      const end = Math.min(Number(high), range?.to ?? Number(high));
      const from =
        range === undefined
          ? Number(high)
          : Math.max(Number(low), range.from === 'earliest' ? 0 : range.from);
      const id = `${topic}:${partition}`;
      if (range !== undefined && from < end) {
        remaining.set(id, end);
        starts.set(id, from);
      }
      seeks.push({ topic, partition, offset: String(Math.min(from, Number(high))) });
    }
  }
  if (remaining.size === 0) return;
  const groupId = `${options.groupPrefix ?? 'mailbox-radar'}-restore-${randomUUID()}`;
  // Large fetches: a restore reads whole partitions as fast as it can (16 MiB a partition, 64 MiB a
  // response; kafkajs's defaults are 1 and 10 MiB). Measured: a restore of 215k entries 7–12% sooner.
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 16 << 20,
    maxBytes: 64 << 20,
  });
  await consumer.connect();
  const timeoutMs = options.timeoutMs ?? 120_000;
  try {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const id = `${batch.topic}:${batch.partition}`;
        const end = remaining.get(id);
        if (end === undefined) return;
        const start = starts.get(id) ?? 0;
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset < start) continue; // fetched before the seek took effect
          if (offset >= end) break;
          onMessage(batch.topic, batch.partition, message);
        }
        const last = Number(batch.messages[batch.messages.length - 1]?.offset ?? -1);
        if (last + 1 >= end) {
          remaining.delete(id);
          if (remaining.size === 0) finish();
        }
      },
    });
    // Seeks (not admin.setOffsets, which joins the group with a consumer of its own per topic, seconds
    // each): kafkajs applies them at the partitions' first fetch.
    for (const seek of seeks) consumer.seek(seek);
    // A range can be emptied under the read: records deleted up to its end (the partition's previous
    // owner purging a changelog it no longer reads). The consumer then starts at the new log start, where
    // nothing below the range's end is left to fetch: such a range is done.
    const watch = setInterval(() => {
      void dropPurged(admin, remaining).then(
        () => remaining.size === 0 && finish(),
        () => undefined, // the next round asks again; the timeout bounds the read
      );
    }, PURGE_CHECK_MS);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`reading ${topics.join(', ')} did not finish within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => {
      clearTimeout(timer);
      clearInterval(watch);
    });
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

/** Forgets the ranges (`topic:partition` → end) whose records are all deleted: log start at or past the end. */
async function dropPurged(admin: Admin, remaining: Map<string, number>): Promise<void> {
  const topics = [...new Set([...remaining.keys()].map((id) => id.slice(0, id.lastIndexOf(':'))))];
  const offsets = await Promise.all(
    topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const),
  );
  for (const [topic, partitions] of offsets)
    for (const { partition, low } of partitions) {
      const id = `${topic}:${partition}`;
      const end = remaining.get(id);
      if (end !== undefined && Number(low) >= end) remaining.delete(id);
    }
}
