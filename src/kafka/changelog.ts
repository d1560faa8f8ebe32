/**
 * State stores backed by compacted changelog topics, as Kafka Streams keeps them: a rule's state beyond
 * its windows (e.g. the last time each app was seen reading mail) changes in the core, which reports each
 * change as a `{kind: 'state'}` output; the pipeline writes it to `<groupId>-<store>-changelog`, keyed by the
 * state's key, on the partition that key's records come from (the same partitioner as the source topic), and
 * commits the source offsets only once the change is acknowledged. On assignment, the changelog partitions
 * of the assigned source partitions are read from the beginning and fed back to the core as
 * `{kind: 'restore'}` inputs before any record: a kill -9 or a rebalance neither forgets nor re-learns.
 *
 * The pipeline reads them, with its other restore reads, through one short-lived group (partition-reader.ts).
 */
import type { Admin, Kafka, KafkaMessage, Message } from 'kafkajs';
import { partitionOfKey } from './murmur2.js';
import { readRanges } from './partition-reader.js';

export function changelogTopic(groupId: string, store: string): string {
  return `${groupId}-${store}-changelog`;
}

/** A change as a changelog message: the value as JSON, null as a tombstone (compaction drops the key). */
export function changeMessage(key: string, value: number | null, partitions: number): Message {
  return {
    key,
    value: value === null ? null : Buffer.from(JSON.stringify(value)),
    partition: partitionOfKey(key, partitions),
  };
}

/** Applies one changelog message to a store's state: the latest value of each key, tombstones removed. */
export function applyChange(state: Map<string, number>, message: KafkaMessage): void {
  const key = message.key?.toString('utf8');
  if (key === undefined) return;
  if (message.value === null) state.delete(key);
  else state.set(key, JSON.parse(message.value.toString('utf8')) as number);
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
  await readRanges(
    kafka,
    admin,
    wanted.map((partition) => ({ topic, partition, from: 'earliest' as const })),
    (_topic, _partition, message) => applyChange(state, message),
    { groupPrefix: topic, timeoutMs },
  );
  return state;
}
