import type { ExchangeMailboxActivity } from '../model/activity.js';

/**
 * The repartition packs this process wrote to partitions its own actor side reads, by where they landed
 * (partition, offset: known once the broker acknowledged them), with the records they were encoded from.
 * When the actor side then reads such a pack, it takes those records instead of decoding the pack's accesses
 * again: one object per access for both sides instead of two (the mailbox side's windows hold it too), and no
 * second decode. A pack is taken only if the bytes read are the bytes written (a topic deleted and created
 * again reuses offsets), so what the actor side gets is what decoding would have given.
 *
 * Packs read by another instance, or fetched before their acknowledgement came back, are simply decoded. At
 * most `maxRecords` records are kept (the oldest packs go first): an actor side far behind its mailbox side
 * (a restart's re-read) decodes as before.
 */
export class SentPacks {
  private readonly packs = new Map<string, { value: Buffer; records: readonly ExchangeMailboxActivity[] }>();
  private records = 0;
  /** Packs taken, and their records, since the start (a metric). */
  hits = 0;
  saved = 0;

  constructor(private readonly maxRecords = 100_000) {}

  /** A pack the broker acknowledged at `offset` of `partition`. */
  add(partition: number, offset: number, value: Buffer, records: readonly ExchangeMailboxActivity[]): void {
    this.packs.set(`${partition}:${offset}`, { value, records });
    this.records += records.length;
    while (this.records > this.maxRecords) {
      const oldest = this.packs.keys().next();
      if (oldest.done === true) break;
      this.records -= this.packs.get(oldest.value)!.records.length;
      this.packs.delete(oldest.value);
    }
  }

  /** The records of the pack read at `offset` of `partition`, if this process wrote exactly these bytes. */
  take(
    partition: number,
    offset: number,
    value: Buffer | null,
  ): readonly ExchangeMailboxActivity[] | undefined {
    if (this.packs.size === 0) return undefined;
    const key = `${partition}:${offset}`;
    const pack = this.packs.get(key);
    if (pack === undefined) return undefined;
    this.packs.delete(key);
    this.records -= pack.records.length;
    if (value === null || !pack.value.equals(value)) return undefined;
    this.hits++;
    this.saved += pack.records.length;
    return pack.records;
  }

  /** Packs held (a gauge, and for tests). */
  get size(): number {
    return this.packs.size;
  }

  clear(): void {
    this.packs.clear();
    this.records = 0;
  }
}
