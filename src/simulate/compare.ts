import { RULES, type RuleName } from '../model/alert.js';
import type { Manifest, ManifestAttack } from './simulation.js';

/**
 * Injected versus detected: matches alerts to the attacks of a simulation manifest by rule and key (the
 * actor — a person's UPN or an app's id — and, but for the sweeps, the mailbox), case-insensitively. An attack is detected when at
 * least one alert matches it; an alert that matches no attack is unexpected (noise that fired, or an
 * attack that fired a rule it should not have).
 *
 * One rule is expected beside the others: every user attack opens mailboxes its actor never opened, so a
 * first_access alert for the actor of a non_owner_burst, cross_domain_burst or mailbox_sweep attack and one
 * of its mailboxes is an expected *companion*, counted apart — neither a detection nor unexpected.
 */

/** The fields of an alert the comparison reads (a decoded alert or its JSON both have them). */
export interface AlertKey {
  /** Messages of one alert (its revisions: open, updates, closed) count once. */
  alert_id?: string;
  rule: RuleName;
  mailbox_guid: string | null;
  mailbox_owner_upn: string | null;
  actor_user_id: string;
}

export interface RuleComparison {
  injected: number;
  detected: number;
  missed: ManifestAttack[];
  /** Alerts of this rule that match no injected attack. */
  unexpected: AlertKey[];
  /** Alerts beyond the first for an attack (one per burst episode is expected). */
  repeated: number;
  /** first_access only: alerts for the (actor, mailbox) pairs the other user attacks opened. */
  companions: number;
}

/** The user attacks whose every mailbox is a first access by their actor. */
const OPENS_MAILBOXES: readonly RuleName[] = ['non_owner_burst', 'cross_domain_burst', 'mailbox_sweep'];

export type Comparison = Record<RuleName, RuleComparison>;

export function compareWithManifest(
  manifest: Pick<Manifest, 'attacks'>,
  alerts: Iterable<AlertKey>,
): Comparison {
  const result = Object.fromEntries(
    RULES.map((rule): [RuleName, RuleComparison] => [
      rule,
      {
        injected: manifest.attacks[rule]?.length ?? 0,
        detected: 0,
        missed: [],
        unexpected: [],
        repeated: 0,
        companions: 0,
      },
    ]),
  ) as Comparison;
  const hits = new Map<ManifestAttack, number>();
  const counted = new Set<string>();
  for (const alert of alerts) {
    if (alert.alert_id !== undefined) {
      if (counted.has(alert.alert_id)) continue; // another revision of an alert counted already
      counted.add(alert.alert_id);
    }
    const attack = manifest.attacks[alert.rule]?.find((a) => matches(a, alert));
    if (attack !== undefined) hits.set(attack, (hits.get(attack) ?? 0) + 1);
    else if (alert.rule === 'first_access' && companionOf(manifest, alert)) result.first_access.companions++;
    else result[alert.rule].unexpected.push(alert);
  }
  for (const rule of RULES) {
    for (const attack of manifest.attacks[rule] ?? []) {
      const n = hits.get(attack) ?? 0;
      if (n === 0) result[rule].missed.push(attack);
      else {
        result[rule].detected++;
        result[rule].repeated += n - 1;
      }
    }
  }
  return result;
}

/** Every injected attack was detected. */
export function allDetected(comparison: Comparison): boolean {
  return RULES.every((rule) => comparison[rule].missed.length === 0);
}

function matches(attack: ManifestAttack, alert: AlertKey): boolean {
  if (!same(attack.key.actor_user_id, alert.actor_user_id)) return false;
  if (attack.rule === 'mailbox_sweep' || attack.rule === 'app_mailbox_sweep') return true;
  if (attack.key.mailbox_guid !== null && alert.mailbox_guid !== null)
    return same(attack.key.mailbox_guid, alert.mailbox_guid);
  return same(attack.key.mailbox_owner_upn, alert.mailbox_owner_upn);
}

/** A first_access alert for a mailbox that another user attack's actor opened. */
function companionOf(manifest: Pick<Manifest, 'attacks'>, alert: AlertKey): boolean {
  return OPENS_MAILBOXES.some((rule) =>
    (manifest.attacks[rule] ?? []).some(
      (attack) =>
        same(attack.key.actor_user_id, alert.actor_user_id) &&
        attack.mailboxes.some((mailbox) => same(mailbox, alert.mailbox_owner_upn)),
    ),
  );
}

function same(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a.toLowerCase() === b.toLowerCase();
}

/** A small table for people: one line per rule, then the misses and the unexpected alerts. */
export function formatComparison(comparison: Comparison): string {
  const lines = ['rule                 injected  detected  missed  unexpected'];
  for (const rule of RULES) {
    const c = comparison[rule];
    lines.push(
      `${rule.padEnd(20)} ${String(c.injected).padStart(8)}  ${String(c.detected).padStart(8)}  ${String(c.missed.length).padStart(6)}  ${String(c.unexpected.length).padStart(10)}`,
    );
  }
  const companions = comparison.first_access?.companions ?? 0;
  if (companions > 0)
    lines.push(
      `  and ${companions} first_access alert${companions === 1 ? '' : 's'} for the mailboxes the other user attacks opened (each a first access too)`,
    );
  for (const rule of RULES) {
    for (const attack of comparison[rule].missed)
      lines.push(
        `  missed ${rule}: actor ${attack.key.actor_user_id}${attack.key.mailbox_owner_upn === null ? '' : ` → ${attack.key.mailbox_owner_upn}`} (${attack.record_count} records, ${attack.first_event_time} → ${attack.last_event_time})`,
      );
    for (const alert of comparison[rule].unexpected)
      lines.push(
        `  unexpected ${rule}: actor ${alert.actor_user_id}${alert.mailbox_owner_upn === null ? '' : ` → ${alert.mailbox_owner_upn}`}`,
      );
  }
  return `${lines.join('\n')}\n`;
}
