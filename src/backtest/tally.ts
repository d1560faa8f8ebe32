import { RULES, type MailboxAccessAlert, type RuleName } from '../model/alert.js';

/**
 * What one setting's alerts add up to. Alerts have a lifecycle (open, updates, closed under one
 * `alert_id`), so they are counted by id: an alert is one however many revisions it had. For each id the
 * tally keeps only what the report shows — its rule, the day it opened, its key, its actor and mailbox and
 * the largest count any of its revisions reached — and, when asked, its latest revision.
 */
export class AlertTally {
  private readonly alerts = new Map<string, AlertFacts>();
  private readonly finals: Map<string, MailboxAccessAlert> | undefined;

  constructor(keepFinals = false) {
    this.finals = keepFinals ? new Map() : undefined;
  }

  /** Takes one revision of an alert. */
  add(alert: MailboxAccessAlert): void {
    const count = SWEEPS.has(alert.rule) ? alert.distinct_mailbox_count : alert.event_count;
    const known = this.alerts.get(alert.alert_id);
    if (known === undefined)
      this.alerts.set(alert.alert_id, {
        rule: alert.rule,
        openedAt: alert.detected_at,
        key: keyOf(alert),
        actor: alert.actor_user_id,
        mailbox: SWEEPS.has(alert.rule) ? null : (alert.mailbox_owner_upn ?? alert.mailbox_guid),
        peak: count,
      });
    else if (count > known.peak) known.peak = count;
    this.finals?.set(alert.alert_id, alert);
  }

  /** Distinct alert ids per rule. */
  byRule(): Record<RuleName, number> {
    const counts = Object.fromEntries(RULES.map((rule) => [rule, 0])) as Record<RuleName, number>;
    for (const facts of this.alerts.values()) counts[facts.rule]++;
    return counts;
  }

  get total(): number {
    return this.alerts.size;
  }

  /** Alerts by the UTC day (`2026-11-01`) they opened on (event time). */
  daily(): Map<string, number> {
    const days = new Map<string, number>();
    for (const facts of this.alerts.values()) {
      const day = dayOf(facts.openedAt);
      days.set(day, (days.get(day) ?? 0) + 1);
    }
    return days;
  }

  /**
   * Per rule with a count threshold (COUNTED_RULES), the peak count of each alert key (mailbox and actor;
   * the actor for the sweeps): the largest event_count — distinct_mailbox_count for the sweeps — any of the
   * key's alerts reached, ascending.
   */
  peaks(): Partial<Record<RuleName, number[]>> {
    const byKey = new Map<string, { rule: RuleName; peak: number }>();
    for (const facts of this.alerts.values()) {
      if (!COUNTED_RULES.includes(facts.rule)) continue;
      const known = byKey.get(facts.key);
      if (known === undefined) byKey.set(facts.key, { rule: facts.rule, peak: facts.peak });
      else known.peak = Math.max(known.peak, facts.peak);
    }
    const out: Partial<Record<RuleName, number[]>> = {};
    for (const { rule, peak } of byKey.values()) (out[rule] ??= []).push(peak);
    for (const list of Object.values(out)) list.sort((a, b) => a - b);
    return out;
  }

  /** Alerts per actor, the most first (ties by name). */
  actors(): Map<string, number> {
    return countBy(this.alerts.values(), (facts) => facts.actor);
  }

  /** Alerts per mailbox (owner UPN, else GUID), the most first; sweeps have no one mailbox and are left out. */
  mailboxes(): Map<string, number> {
    return countBy(this.alerts.values(), (facts) => facts.mailbox);
  }

  /** The latest revision of each alert, in the order the alerts opened (only when kept). */
  finalAlerts(): MailboxAccessAlert[] {
    return [...(this.finals?.values() ?? [])];
  }
}

interface AlertFacts {
  rule: RuleName;
  /** detected_at of the open revision. */
  openedAt: number;
  key: string;
  actor: string;
  mailbox: string | null;
  peak: number;
}

const SWEEPS: ReadonlySet<RuleName> = new Set(['mailbox_sweep', 'app_mailbox_sweep']);

/** The rules with a threshold of a count within a window: the ones a peak count says something about. */
export const COUNTED_RULES: readonly RuleName[] = [
  'non_owner_burst',
  'cross_domain_burst',
  'mailbox_sweep',
  'app_mailbox_sweep',
];

function keyOf(alert: MailboxAccessAlert): string {
  const mailbox = SWEEPS.has(alert.rule) ? '' : (alert.mailbox_guid ?? alert.mailbox_owner_upn ?? '');
  return `${alert.rule}\u0000${mailbox}\u0000${alert.actor_user_id}`;
}

export const DAY_MS = 86_400_000;

/** The UTC day of an epoch-ms time: `2026-11-01`. */
export function dayOf(time: number): string {
  return new Date(Math.floor(time / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

function countBy<T>(items: Iterable<T>, key: (item: T) => string | null): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    if (k !== null) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return new Map([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}
