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
 */
import type { IHeaders, Message } from 'kafkajs';

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
