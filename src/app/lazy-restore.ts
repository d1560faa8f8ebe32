/**
 * A lazy restore of the mailbox side's windows: the windows' changelog entries (record-log.ts) grouped by
 * mailbox, each mailbox replayed through the core only when it is first needed, instead of every entry at
 * start-up.
 *
 * What makes it exact is the core's guarantee that a mailbox's state depends on that mailbox's records
 * alone (test/detect/per-key.test.ts; docs/detection.md, "A restart flat in the horizon"): the watermark
 * frees only what no admitted record can reach, so feeding a mailbox's entries all at once, late, with the
 * watermark standing where it has got to meanwhile, builds the state that feeding them as they came, each
 * with the watermark it met, would have built — and nothing of that state could have changed before
 *
 * - a live record of the mailbox arrives (`SubTopology.wake`), or
 * - the watermark passes the mailbox's earliest entry (`SubTopology.feedWatermark`): every change the
 *   watermark makes to a mailbox's state (a held record freed at r + 2T, an episode closed at end + T) lies
 *   past that.
 *
 * Until then the mailbox's entries count for the commit (`earliest`): the offsets they came from stay
 * below it, as the eager restore's held records did.
 */
import { TimeHeap } from '../detect/time-heap.js';

/** One changelog entry waiting for its mailbox's replay. */
export interface WaitingEntry {
  partition: number;
  /** Source offset (for the log line of an entry that no longer decodes). */
  offset: number;
  /** The record's event time, as written with the entry. */
  time: number;
  value: Buffer | null;
}

export class WaitingMailboxes {
  /** Per mailbox key, its entries in the order they were first fed, and the earliest event time among them. */
  private readonly byKey = new Map<string, { entries: WaitingEntry[]; earliest: number }>();
  /** Mailboxes by earliest entry (stale items are skipped: a mailbox replayed, or pushed again earlier). */
  private readonly due = new TimeHeap<string>();
  /** Entries waiting over all mailboxes. */
  entries = 0;

  get size(): number {
    return this.byKey.size;
  }

  /** Adds an entry of `mailbox`; a mailbox's entries must come in the order they were first fed. */
  add(mailbox: string, entry: WaitingEntry): void {
    let waiting = this.byKey.get(mailbox);
    if (waiting === undefined) {
      waiting = { entries: [], earliest: Infinity };
      this.byKey.set(mailbox, waiting);
    }
    waiting.entries.push(entry);
    this.entries++;
    if (entry.time < waiting.earliest) {
      waiting.earliest = entry.time;
      this.due.push(entry.time, mailbox);
    }
  }

  /** Takes a mailbox's entries out (undefined: none waiting). */
  take(mailbox: string): WaitingEntry[] | undefined {
    const waiting = this.byKey.get(mailbox);
    if (waiting === undefined) return undefined;
    this.byKey.delete(mailbox);
    this.entries -= waiting.entries.length;
    return waiting.entries;
  }

  /** Takes out every mailbox whose earliest entry is before `time`, earliest first. */
  takeBefore(time: number): WaitingEntry[][] {
    const taken: WaitingEntry[][] = [];
    while (this.earliest() < time) {
      const mailbox = this.due.pop() as string;
      taken.push(this.take(mailbox)!);
    }
    return taken;
  }

  /** The earliest event time among the waiting entries (+Infinity: none). */
  earliest(): number {
    for (;;) {
      const time = this.due.peekTime();
      if (time === Infinity) return Infinity;
      const waiting = this.byKey.get(this.due.peek() as string);
      if (waiting !== undefined && waiting.earliest === time) return time;
      this.due.pop(); // stale
    }
  }

  clear(): void {
    this.byKey.clear();
    this.due.clear();
    this.entries = 0;
  }
}
