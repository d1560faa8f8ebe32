/**
 * The changelog of the mailbox side's windows, `<groupId>-mailbox-windows-changelog`: what a restart needs
 * to rebuild the per-mailbox rules' state without re-reading the activity topic.
 *
 * Kafka Streams restores a window store from its changelog and resumes its source topic at the committed
 * offset. Here the "store" is the sequence of records the core admitted to its rules (non-owner and app
 * accesses, and owner records that could count for bulk_mail_access: the small share of the input the
 * windows, episodes and dedupe ids are made of). Each goes to the changelog partition of its source
 * partition as the original framed Avro bytes, with its source offset and the watermark the core had when
 * it was fed. The offset commit then moves to where processing stands (P, once everything produced up to
 * there is acknowledged), and its metadata says where the state begins: the source offset R from which
 * records may still be needed (as the commit offset used to be) and a changelog offset at or before the
 * first entry from R. A restart replays the entries with R ≤ source offset < P through the core, with the
 * recorded watermarks, its output discarded (it was published before the commit), and reads the activity
 * topic from P.
 *
 * A new owner of a partition first writes a restart marker (P): entries a previous owner wrote beyond its
 * last commit (after it, before a kill -9) are superseded, since the records they came from are read again.
 *
 * A batch's entries go packed, up to 256 KiB a message (pack.ts): kafkajs spends more on the Kafka record
 * around an entry than on the entry, and a restore reads the whole changelog back. Each entry also carries
 * the record's event time and its mailbox key, so a restore can group the entries by mailbox and replay a
 * mailbox only when it is first needed (lazy-restore.ts) without decoding any. Messages of the earlier
 * formats (packed without key and time; one entry, its offset and watermark in headers) are still read, so a
 * restart after an upgrade restores what the version before wrote (replaying everything at once, as it did).
 */
import type { KafkaMessage, Message } from 'kafkajs';
import { changelogTopic } from './changelog.js';
import { PACK_BYTES, packMessages, unpackMessage } from './pack.js';

export const WINDOWS_STORE = 'mailbox-windows';

const OFFSET = 'radar.offset';
const WATERMARK = 'radar.watermark';
const RESTART = 'radar.restart';
/** Header of a packed message: how many entries its value holds (offset and watermark each). */
const ENTRIES = 'radar.entries';
/** Header of a packed message whose entries carry their event time and mailbox key too. */
const KEYED_ENTRIES = 'radar.entries.keyed';

export function windowsChangelogTopic(groupId: string): string {
  return changelogTopic(groupId, WINDOWS_STORE);
}

/**
 * An admitted record's entry: its original bytes, source offset, the core's watermark when fed, its event
 * time and the key of its mailbox (`mailboxKey`).
 */
export interface LogWrite {
  offset: number;
  watermark: number;
  value: Buffer | null;
  time: number;
  mailbox: string;
}

/** One entry as a message of its own: the format before packing (still read; tests write it). */
export function entryMessage(
  partition: number,
  offset: number,
  watermark: number,
  source: { key: Buffer | null; value: Buffer | null },
): Message {
  return {
    partition,
    key: source.key,
    value: source.value,
    headers: { [OFFSET]: String(offset), [WATERMARK]: String(watermark) },
  };
}

/** A partition's entries, in order, packed: each with its source offset, watermark, event time and mailbox. */
export function packEntries(
  partition: number,
  entries: readonly LogWrite[],
  maxBytes = PACK_BYTES,
): Message[] {
  return packMessages(
    partition,
    entries.map((e) => ({
      numbers: [e.offset, e.watermark, e.time],
      key: Buffer.from(e.mailbox, 'utf8'),
      value: e.value,
    })),
    KEYED_ENTRIES,
    maxBytes,
  );
}

/** Entries packed as the version before wrote them: no event time, no mailbox (tests of the upgrade). */
export function packUnkeyedEntries(
  partition: number,
  entries: readonly Pick<LogWrite, 'offset' | 'watermark' | 'value'>[],
): Message[] {
  return packMessages(
    partition,
    entries.map((e) => ({ numbers: [e.offset, e.watermark], key: null, value: e.value })),
    ENTRIES,
  );
}

/** A new owner resumes the partition at `offset`: earlier entries from there on are superseded. */
export function restartMessage(partition: number, offset: number): Message {
  return { partition, key: null, value: null, headers: { [RESTART]: String(offset) } };
}

export interface LogEntry {
  /** Offset of the source record in the activity topic. */
  offset: number;
  /** The core's watermark when the record was fed (−∞ before the first). */
  watermark: number;
  value: Buffer | null;
  /** Offset of the entry in the changelog. */
  logOffset: number;
  /** The record's event time: written with the entry, or known once decoded. */
  time?: number;
  /** The key of the record's mailbox, written with the entry (not in the earlier formats). */
  mailbox?: string;
}

function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value[0] : value)?.toString();
}

/** One changelog partition read back in offset order: the entries a restart replays. */
export class LogReplay {
  private entries: LogEntry[] = [];

  /** Packed messages that did not parse (each named in `problems`), left out of the restore. */
  readonly problems: string[] = [];

  add(message: KafkaMessage): void {
    const keyed = header(message, KEYED_ENTRIES);
    if (keyed !== undefined) {
      try {
        const logOffset = Number(message.offset);
        const where = `a packed changelog message at offset ${logOffset}`;
        for (const { numbers, key, value } of unpackMessage(message.value, Number(keyed), 3, where)) {
          if (key === null) throw new Error(`${where} has an entry without its mailbox`);
          this.entries.push({
            offset: numbers[0]!,
            watermark: numbers[1]!,
            time: numbers[2]!,
            mailbox: key.toString('utf8'),
            value,
            logOffset,
          });
        }
      } catch (error) {
        this.problems.push((error as Error).message);
      }
      return;
    }
    const packed = header(message, ENTRIES);
    if (packed !== undefined) {
      try {
        const logOffset = Number(message.offset);
        const where = `a packed changelog message at offset ${logOffset}`;
        for (const { numbers, value } of unpackMessage(message.value, Number(packed), 2, where))
          this.entries.push({ offset: numbers[0]!, watermark: numbers[1]!, value, logOffset });
      } catch (error) {
        this.problems.push((error as Error).message);
      }
      return;
    }
    const restart = header(message, RESTART);
    if (restart !== undefined) {
      // Entries from the restart offset on were written by an owner whose work past its commit is redone.
      const from = Number(restart);
      this.entries = this.entries.filter((entry) => entry.offset < from);
      return;
    }
    const offset = header(message, OFFSET);
    if (offset === undefined) return;
    this.entries.push({
      offset: Number(offset),
      watermark: Number(header(message, WATERMARK) ?? Number.NEGATIVE_INFINITY),
      value: message.value,
      logOffset: Number(message.offset),
    });
  }

  /** The entries of source offsets [from, to), in the order they were fed. */
  between(from: number, to: number): LogEntry[] {
    return this.entries.filter((entry) => entry.offset >= from && entry.offset < to);
  }
}

/**
 * Feeding order across partitions for one core: by recorded watermark (each partition's entries keep their
 * order), so no partition's records meet a watermark later than the one they met the first time.
 */
export function replayOrder(
  perPartition: ReadonlyMap<number, LogEntry[]>,
): { partition: number; entry: LogEntry }[] {
  const out: { partition: number; entry: LogEntry; rank: number; watermark: number }[] = [];
  for (const [partition, entries] of perPartition) {
    let watermark = Number.NEGATIVE_INFINITY; // never moves back within a partition
    entries.forEach((entry, rank) => {
      watermark = Math.max(watermark, entry.watermark);
      out.push({ partition, entry, rank, watermark });
    });
  }
  out.sort((a, b) => {
    if (a.watermark !== b.watermark) return a.watermark < b.watermark ? -1 : 1;
    return a.partition - b.partition || a.rank - b.rank;
  });
  return out.map(({ partition, entry }) => ({ partition, entry }));
}

/**
 * Per partition, where each acknowledged batch of entries went, so a commit can say from which changelog
 * offset the entries of source offsets ≥ R begin. One pair of numbers per batch (the source offset of its
 * last entry, the changelog offset of its first), not per entry: the answer is the start of the batch that
 * holds the first entry ≥ R — at or before that entry, which is all a restore needs (it replays the entries
 * of [R, P) and skips the rest) and all a purge needs (it deletes below it).
 */
export class LogPositions {
  private readonly partitions = new Map<
    number,
    { lasts: number[]; bases: number[]; head: number; end: number }
  >();

  /**
   * Entries for source offsets `offsets` (ascending) were written from changelog offset `base` on, in
   * `messages` messages (packed: fewer than entries).
   */
  written(partition: number, offsets: readonly number[], base: number, messages: number): void {
    if (offsets.length === 0) return;
    const state = this.state(partition);
    state.lasts.push(offsets[offsets.length - 1] as number);
    state.bases.push(base);
    state.end = Math.max(state.end, base + messages);
  }

  /** The changelog's end seen at a restore (where the next entry goes, as far as we know). */
  endAt(partition: number, end: number): void {
    const state = this.state(partition);
    state.end = Math.max(state.end, end);
  }

  /**
   * The changelog offset of the batch holding the first entry of a source offset ≥ `from` (the end when
   * there is none); forgets the batches before it.
   */
  logOffsetFor(partition: number, from: number): number | undefined {
    const state = this.partitions.get(partition);
    if (state === undefined) return undefined;
    const { lasts, bases } = state;
    while (state.head < lasts.length && (lasts[state.head] as number) < from) state.head++;
    // Drop the forgotten prefix now and then, not at every commit.
    if (state.head > 1_024 && state.head * 2 > lasts.length) {
      lasts.splice(0, state.head);
      bases.splice(0, state.head);
      state.head = 0;
    }
    return state.head < lasts.length ? (bases[state.head] as number) : state.end;
  }

  clear(): void {
    this.partitions.clear();
  }

  private state(partition: number) {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = { lasts: [], bases: [], head: 0, end: 0 };
      this.partitions.set(partition, state);
    }
    return state;
  }
}
