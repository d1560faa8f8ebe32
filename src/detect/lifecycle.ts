import type { MailboxAccessAlert, OperationCount, Severity } from '../model/alert.js';
import { normaliseClientIp } from './normalise.js';
import type { Access } from './types.js';

/**
 * An alert's life over its burst episode, under one `alert_id` (issue 13):
 *
 *   open     the moment a window reaches the threshold (as before: latency unchanged), revision 0;
 *   update   each time the episode's count of records doubles (2×, 4×, 8×… the count at the open): a
 *            burst of 2,000 reads at threshold 20 gives 6 updates, not 1,980 — each says "it doubled",
 *            which is what changes the triage, and a SIEM is not flooded;
 *   closed   once the episode has been quiet for T (its rule's window) by the watermark, with the final
 *            totals, `duration_ms`, and `detected_at` = last record + T.
 *
 * Every message carries `status` and `revision` (0, 1, 2, … in that order). The content of a revision is a
 * function of the episode's records in the order the rule got them, so the same input gives the same
 * revisions, and a restart that rebuilds the episode rebuilds them identically.
 *
 * Severity rises with size: the rule's base; one step up with external access or once the count reaches
 * 2× the threshold (as before); one more step at 8× the threshold; never above critical. (Rules whose
 * threshold is no count of records — bulk_mail_access, first_app_access — rise with external access only.)
 *
 * Memory per episode is bounded: counters, up to 20 client IPs, the operations' counts, the first and the
 * latest 10 record ids, and the set of mailboxes (exact distinct count for the sweeps).
 */
const FIRST_IDS = 10;
const LATEST_IDS = 10;
const MAX_CLIENT_IPS = 20;
const MAX_OPERATIONS = 20;
const MAX_MAILBOXES = 50;

export type AlertStatus = 'open' | 'update' | 'closed';

const RAISED: Record<Severity, Severity> = {
  low: 'medium',
  medium: 'high',
  high: 'critical',
  critical: 'critical',
};

export class EpisodeAlert {
  private revision = 0;
  private count = 0;
  private nextUpdateAt: number;
  private firstSeen: number;
  private lastSeen: number;
  private external: boolean;
  private readonly firstIds: string[] = [];
  private readonly latestIds: string[] = [];
  private readonly ips = new Set<string>();
  /** The client address of the last record tallied, as it came (see `tally`). */
  private lastRawIp: string | null | undefined = undefined;
  private readonly operations = new Map<string, number>();
  private readonly mailboxes = new Map<string, string>();

  /**
   * `open` is the alert built for the window that reached the threshold. The episode's records (the
   * window's among them) are taken in by `absorb` as the episode reaches them. `raisedByCount`: whether
   * the rule's severity rises with the count of records.
   */
  constructor(
    private readonly open: MailboxAccessAlert,
    private readonly baseSeverity: Severity,
    private readonly raisedByCount: boolean,
    /** A sweep's alert counts distinct mailboxes. */
    private readonly sweep: boolean,
  ) {
    this.firstSeen = open.first_seen;
    this.lastSeen = open.last_seen;
    this.external = open.external_access_seen;
    this.nextUpdateAt = 2 * Math.max(1, open.event_count);
    open.status = 'open';
    open.revision = 0;
    open.duration_ms = open.last_seen - open.first_seen;
  }

  get alertId(): string {
    return this.open.alert_id;
  }

  /** The open message. */
  opened(): MailboxAccessAlert {
    return this.open;
  }

  /** A record taken into the episode; the update when the count has just doubled. */
  add(access: Access): MailboxAccessAlert | null {
    this.tally(access);
    if (this.count < this.nextUpdateAt) return null;
    while (this.nextUpdateAt <= this.count) this.nextUpdateAt *= 2;
    return this.revise('update', access.time);
  }

  /** Records taken in without an update of their own (held records the episode reached). */
  absorb(access: Access): void {
    this.tally(access);
  }

  /** Another episode of the key merged into this one (an out-of-order record bridged them). */
  merge(other: EpisodeAlert): void {
    this.count += other.count;
    this.firstSeen = Math.min(this.firstSeen, other.firstSeen);
    this.lastSeen = Math.max(this.lastSeen, other.lastSeen);
    this.external ||= other.external;
    for (const ip of other.ips) if (this.ips.size < MAX_CLIENT_IPS) this.ips.add(ip);
    for (const [operation, n] of other.operations)
      this.operations.set(operation, (this.operations.get(operation) ?? 0) + n);
    for (const [key, label] of other.mailboxes) if (!this.mailboxes.has(key)) this.mailboxes.set(key, label);
    for (const id of other.latestIds) this.remember(id);
  }

  /** The final message: the episode has been quiet for `gapMs` (or was merged into `into`). */
  close(gapMs: number, into?: EpisodeAlert): MailboxAccessAlert {
    const closed = this.revise('closed', this.lastSeen + gapMs);
    if (into !== undefined) closed.reason = `merged into alert ${into.alertId}`;
    return closed;
  }

  private tally(access: Access): void {
    this.count++;
    if (access.time < this.firstSeen) this.firstSeen = access.time;
    if (access.time > this.lastSeen) this.lastSeen = access.time;
    const record = access.record;
    if (record.external_access === true) this.external = true;
    const raw = record.client_ip === '' ? record.client_ip_address : record.client_ip;
    // An actor's reads mostly come from one address: the last one's normal form is in the set already.
    if (raw !== this.lastRawIp && this.ips.size < MAX_CLIENT_IPS) {
      this.lastRawIp = raw;
      const ip = normaliseClientIp(raw);
      if (ip !== '') this.ips.add(ip);
    }
    this.operations.set(record.operation, (this.operations.get(record.operation) ?? 0) + 1);
    if (!this.mailboxes.has(access.mailbox))
      this.mailboxes.set(access.mailbox, access.ownerUpn ?? access.mailbox);
    this.remember(access.id);
  }

  private remember(id: string): void {
    if (this.firstIds.length < FIRST_IDS) {
      this.firstIds.push(id);
      return;
    }
    this.latestIds.push(id);
    if (this.latestIds.length > LATEST_IDS) this.latestIds.shift();
  }

  private revise(status: AlertStatus, detectedAt: number): MailboxAccessAlert {
    this.revision++;
    const open = this.open;
    let severity = this.baseSeverity;
    const byCount = this.raisedByCount && this.count >= 2 * open.threshold;
    if (this.external || byCount) severity = RAISED[severity];
    if (this.raisedByCount && this.count >= 8 * open.threshold) severity = RAISED[severity];
    return {
      ...open,
      status,
      revision: this.revision,
      severity,
      first_seen: this.firstSeen,
      last_seen: this.lastSeen,
      detected_at: detectedAt,
      duration_ms: this.lastSeen - this.firstSeen,
      event_count: this.count,
      distinct_mailbox_count: this.sweep ? this.mailboxes.size : 1,
      external_access_seen: this.external,
      sample_record_ids: [...this.firstIds, ...this.latestIds],
      client_ips: [...this.ips],
      operations: topOperations(this.operations),
      mailboxes: [...this.mailboxes.values()].slice(0, MAX_MAILBOXES),
    };
  }
}

function topOperations(counts: ReadonlyMap<string, number>): OperationCount[] {
  return [...counts]
    .map(([operation, count]) => ({ operation, count }))
    .sort((a, b) => b.count - a.count || (a.operation < b.operation ? -1 : a.operation > b.operation ? 1 : 0))
    .slice(0, MAX_OPERATIONS);
}
