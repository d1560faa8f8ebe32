/**
 * The internal repartition topic between the mailbox sub-topology and the sweep (Kafka Streams names
 * its own `<application.id>-<name>-repartition`): every non-owner access, as the activity record in the
 * detection schema (the fields detection and alerts read), keyed by actor; and progress markers.
 *
 * A marker says "mailbox partition p has read everything up to event time t" (or "is idle": +Infinity).
 * The mailbox sub-topology writes one to every repartition partition after each batch (behind that
 * batch's records, by the producer's per-partition order) and on every timer tick; the actor side puts
 * records back into event-time order up to the least advanced mailbox partition (EventOrder), so a sweep's
 * alert does not depend on how the instances' writes interleaved.
 *
 * A batch's accesses go packed (pack.ts), one message per repartition partition (or more past 256 KiB),
 * on the partition kafkajs's default partitioner gives the actor, each partition's markers behind them. A
 * record of the earlier format (one access a message, keyed by actor) is still read.
 */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { partitionOfKey } from './murmur2.js';
import { packMessages, unpackMessage } from './pack.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';

/**
 * A repartition message as the actor side reads it: a pack opened, or its error; `record` when known. An
 * access of a keyed pack also has what the actor side orders and groups it by, read without decoding it:
 * its event time, its record id and its actor.
 */
export type OpenedAccess = KafkaMessage & {
  error?: Error;
  record?: ExchangeMailboxActivity;
  time?: number;
  id?: string;
  actor?: string;
};

export const MARKER_HEADER = 'mailbox-radar.progress';

export function repartitionTopic(groupId: string): string {
  return `${groupId}-mailbox-sweep-repartition`;
}

export interface Progress {
  source: number;
  /** Event time the source has read up to; +Infinity when it is idle. */
  time: number;
}

export function markerMessage(partition: number, progress: Progress): Message {
  const time = progress.time === Number.POSITIVE_INFINITY ? 'idle' : progress.time;
  return {
    partition,
    key: null,
    value: Buffer.from(JSON.stringify({ source: progress.source, time })),
    headers: { [MARKER_HEADER]: '1' },
  };
}

/** The progress a message carries, or undefined when it is a record. */
export function markerOf(headers: IHeaders | undefined, value: Buffer | null): Progress | undefined {
  if (headers?.[MARKER_HEADER] === undefined || value === null) return undefined;
  const parsed = JSON.parse(value.toString('utf8')) as { source: number; time: number | 'idle' | null };
  const time =
    parsed.time === 'idle'
      ? Number.POSITIVE_INFINITY
      : typeof parsed.time === 'number'
        ? parsed.time
        : Number.NEGATIVE_INFINITY;
  return { source: parsed.source, time };
}

/** Header of a packed message of accesses (the format before: no numbers, no key): how many its value holds. */
const ACCESSES = 'radar.accesses';
/**
 * Header of a keyed pack: each access with two numbers, its event time and the byte length of its actor,
 * and as its key the actor's bytes followed by the record id's. A restart orders and groups the accesses it
 * reads again by these, and decodes only those it needs (lazy restore of the actor side).
 */
const KEYED_ACCESSES = 'radar.accesses.keyed';

/**
 * A batch's repartition output as it goes out: its accesses (keyed by actor) packed per partition of the
 * actor, each with its event time and record id (from `record`), and behind them that partition's
 * progress markers, in the order they came.
 */
export function packRepartition<
  M extends Message & { record?: Pick<ExchangeMailboxActivity, 'creation_time' | 'id'> },
>(
  onward: readonly M[],
  partitions: number,
  /** Told each pack, with the onward messages it holds, in order. */
  packed?: (pack: Message, sources: readonly M[]) => void,
): Message[] {
  const accesses = new Map<number, { numbers: number[]; key: Buffer; value: Buffer; source: M }[]>();
  const markers = new Map<number, Message[]>();
  for (const message of onward) {
    if (message.key === null || message.key === undefined) {
      const partition = message.partition ?? 0;
      const list = markers.get(partition);
      if (list === undefined) markers.set(partition, [message]);
      else list.push(message);
      continue;
    }
    const actor = String(message.key);
    if (message.record === undefined)
      throw new Error(`an access of actor ${actor} goes onward without its record`);
    const partition = partitionOfKey(actor, partitions);
    const actorBytes = Buffer.byteLength(actor);
    const item = {
      numbers: [message.record.creation_time, actorBytes],
      key: Buffer.from(actor + message.record.id),
      value: message.value as Buffer,
      source: message,
    };
    const list = accesses.get(partition);
    if (list === undefined) accesses.set(partition, [item]);
    else list.push(item);
  }
  const out: Message[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const items = accesses.get(partition);
    if (items !== undefined) {
      const packs = packMessages(
        partition,
        items,
        KEYED_ACCESSES,
        undefined,
        packed === undefined
          ? undefined
          : (pack, from, to) =>
              packed(
                pack,
                items.slice(from, to).map((item) => item.source),
              ),
      );
      out.push(...packs);
    }
    const behind = markers.get(partition);
    if (behind !== undefined) out.push(...behind);
  }
  return out;
}

/**
 * The repartition messages of a fetched batch with each pack opened: its accesses as messages of their
 * own (the pack's offset and timestamp, no key). A pack that does not parse stays whole, with the error, to
 * be dead-lettered. Markers and records of the earlier format pass as they are.
 */
export function openRepartition(
  messages: readonly KafkaMessage[],
  /**
   * The records of a pack this process wrote, as it held them when it wrote them (sent-packs.ts): they are
   * given as the accesses' `record`, which then need no decoding.
   */
  sent?: (message: KafkaMessage) => readonly ExchangeMailboxActivity[] | undefined,
): OpenedAccess[] {
  const out: OpenedAccess[] = [];
  for (const message of messages) {
    const keyed = message.headers?.[KEYED_ACCESSES];
    const packed = keyed ?? message.headers?.[ACCESSES];
    if (packed === undefined) {
      out.push(message);
      continue;
    }
    const count = Number((Array.isArray(packed) ? packed[0] : packed)?.toString());
    const records = sent?.(message);
    if (records !== undefined && records.length === count) {
      for (const record of records)
        out.push({
          key: null,
          value: null,
          headers: {},
          timestamp: message.timestamp,
          attributes: message.attributes,
          offset: message.offset,
          record,
        } as OpenedAccess);
      continue;
    }
    try {
      const where = `a packed repartition message at offset ${message.offset}`;
      for (const { value, numbers, key } of unpackMessage(message.value, count, keyed ? 2 : 0, where)) {
        const access: OpenedAccess = {
          key: null,
          value,
          headers: {},
          timestamp: message.timestamp,
          attributes: message.attributes,
          offset: message.offset,
        } as OpenedAccess;
        if (keyed !== undefined) {
          const actorBytes = numbers[1]!;
          if (key === null || !(actorBytes >= 0 && actorBytes <= key.length))
            throw new Error(`${where} has an access whose key does not hold its actor`);
          access.time = numbers[0]!;
          access.actor = key.toString('utf8', 0, actorBytes);
          access.id = key.toString('utf8', actorBytes);
        }
        out.push(access);
      }
    } catch (error) {
      out.push({ ...(message as KafkaMessage), error: error as Error } as KafkaMessage & { error: Error });
    }
  }
  return out;
}
