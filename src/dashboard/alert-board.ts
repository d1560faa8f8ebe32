/**
 * The alerts the dashboard shows: one entry per `alert_id`, whose current state is its latest revision and
 * whose earlier revisions are its history. An alert grows with its episode (open, update, closed) under one
 * id; a message whose (alert_id, revision) is held already is a duplicate (a restart re-emits the same
 * revision with the same content) and changes nothing. Alerts of writers before the lifecycle carry no
 * revision: revision 0. Bounded: past `capacity` ids, the entry detected earliest goes.
 */
import type { MailboxAccessAlert } from '../model/alert.js';

/**
 * An alert as read, with the fields later schema versions add where the reader schema has them: the
 * lifecycle (`status` open/update/closed, `revision`) and the `policy` that decided it.
 */
export type BoardAlert = MailboxAccessAlert & {
  status?: string | null;
  revision?: number | null;
  policy?: unknown;
};

export interface BoardEntry {
  alert_id: string;
  /** The latest revision. */
  current: BoardAlert;
  /** Every revision held, oldest first; the last is `current`. */
  revisions: BoardAlert[];
}

export interface BoardChange {
  /** The entry as it is now; undefined when the alert was dropped at once (older than all that is kept). */
  entry: BoardEntry | undefined;
  /** Ids dropped to stay within capacity. */
  evicted: string[];
}

export function revisionOf(alert: BoardAlert): number {
  return typeof alert.revision === 'number' ? alert.revision : 0;
}

export class AlertBoard {
  private readonly byId = new Map<string, BoardEntry>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.byId.size;
  }

  /** Takes one message; undefined for a duplicate (its revision is held already). */
  add(alert: BoardAlert): BoardChange | undefined {
    const revision = revisionOf(alert);
    let entry = this.byId.get(alert.alert_id);
    if (entry === undefined) {
      entry = { alert_id: alert.alert_id, current: alert, revisions: [alert] };
      this.byId.set(alert.alert_id, entry);
    } else {
      if (entry.revisions.some((r) => revisionOf(r) === revision)) return undefined;
      // Revisions can arrive out of order (history read beside live ones): keep them sorted.
      const at = entry.revisions.findIndex((r) => revisionOf(r) > revision);
      if (at === -1) entry.revisions.push(alert);
      else entry.revisions.splice(at, 0, alert);
      entry.current = entry.revisions[entry.revisions.length - 1]!;
    }
    const evicted = this.evict();
    return { entry: evicted.includes(alert.alert_id) ? undefined : entry, evicted };
  }

  /** Every entry, the latest detected first (ties by id, so the order is stable). */
  entries(): BoardEntry[] {
    return [...this.byId.values()].sort(newestFirst);
  }

  private evict(): string[] {
    const evicted: string[] = [];
    while (this.byId.size > this.capacity) {
      let oldest: BoardEntry | undefined;
      for (const entry of this.byId.values())
        if (oldest === undefined || newestFirst(entry, oldest) > 0) oldest = entry;
      this.byId.delete(oldest!.alert_id);
      evicted.push(oldest!.alert_id);
    }
    return evicted;
  }
}

function newestFirst(a: BoardEntry, b: BoardEntry): number {
  return b.current.detected_at - a.current.detected_at || a.alert_id.localeCompare(b.alert_id);
}
