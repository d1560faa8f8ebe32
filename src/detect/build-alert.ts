import type { MailboxAccessAlert, OperationCount, RuleName, Severity } from '../model/alert.js';
import { alertId } from './alert-id.js';
import { EpisodeAlert } from './lifecycle.js';
import { normaliseClientIp, normaliseSid, normaliseUpn } from './normalise.js';
import type { Access, RuleSettings } from './types.js';

const MAX_SAMPLE_IDS = 20;
const MAX_CLIENT_IPS = 20;
const MAX_OPERATIONS = 20;
const MAX_MAILBOXES = 50;

const BASE_SEVERITY: Record<RuleName, Severity> = {
  non_owner_burst: 'medium',
  cross_domain_burst: 'high',
  mailbox_sweep: 'high',
  app_mailbox_sweep: 'high', // app-only access (user type Application/ServicePrincipal) across mailboxes
  bulk_mail_access: 'high',
  first_app_access: 'medium',
  first_access: 'low', // common and often innocent (a new delegate): a policy raises it where it matters
};

/** Rules whose alert covers many mailboxes (no single mailbox fields). */
const MANY_MAILBOXES: ReadonlySet<RuleName> = new Set(['mailbox_sweep', 'app_mailbox_sweep']);
/** Rules whose threshold is no count of records: severity is not raised by the count. */
const NOT_RAISED_BY_COUNT: ReadonlySet<RuleName> = new Set([
  'bulk_mail_access',
  'first_app_access',
  'first_access',
]);

const RAISED: Record<Severity, Severity> = {
  low: 'medium',
  medium: 'high',
  high: 'critical',
  critical: 'critical',
};

/**
 * The alert for the window that reached a rule's threshold. `window` holds the counted records (sorted
 * by event time); `detectedAt` is the event time at which the count reached the threshold. Severity is
 * the rule's base (medium for non_owner_burst and first_app_access, high otherwise; a policy's `severity`
 * instead, when one decided the key), one step up when any record had external_access or (not for
 * bulk_mail_access and first_app_access) the count of records is at least twice the threshold. `policy`
 * names the policy that decided the key, if any.
 */
export function buildAlert(
  rule: RuleName,
  config: RuleSettings,
  key: string,
  window: readonly Access[],
  detectedAt: number,
): MailboxAccessAlert {
  const ordered = [...window].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const first = ordered[0] as Access;
  const last = ordered[ordered.length - 1] as Access;

  const ids: string[] = [];
  const ips = new Set<string>();
  const operations = new Map<string, number>();
  const mailboxes = new Map<string, string>(); // mailbox key → label (owner UPN, or GUID)
  let externalSeen = false;
  let actorSid: string | null = null;
  let displayName: string | null = null;
  let mailboxGuid: string | null = null;
  for (const access of ordered) {
    const record = access.record;
    ids.push(access.id);
    const ip = normaliseClientIp(record.client_ip === '' ? record.client_ip_address : record.client_ip);
    if (ip !== '' && ips.size < MAX_CLIENT_IPS) ips.add(ip);
    operations.set(record.operation, (operations.get(record.operation) ?? 0) + 1);
    if (!mailboxes.has(access.mailbox)) mailboxes.set(access.mailbox, access.ownerUpn ?? access.mailbox);
    if (record.external_access === true) externalSeen = true;
    actorSid ??= normaliseSid(record.logon_user_sid);
    if (
      displayName === null &&
      record.logon_user_display_name !== null &&
      record.logon_user_display_name.trim() !== ''
    ) {
      displayName = record.logon_user_display_name.trim();
    }
    mailboxGuid ??= normaliseUpn(record.mailbox_guid);
  }

  const sweep = MANY_MAILBOXES.has(rule);
  const distinct = sweep ? mailboxes.size : 1;
  // "The count" is event_count. Alerts leave the moment the threshold is reached, so for the burst rules
  // it is N then and only external access raises them; a sweep's records can be many more than N.
  let severity = baseSeverity(rule, config);
  const byCount = !NOT_RAISED_BY_COUNT.has(rule) && ordered.length >= 2 * config.threshold;
  if (externalSeen || byCount) severity = RAISED[severity];

  return {
    alert_id: alertId(rule, key, ids),
    rule,
    severity,
    organization_id: first.record.organization_id,
    mailbox_guid: sweep ? null : mailboxGuid,
    mailbox_owner_upn: sweep ? null : first.ownerUpn,
    actor_user_id: first.actor,
    actor_sid: actorSid,
    actor_display_name: displayName,
    actor_domain: first.actorDomain,
    first_seen: first.time,
    last_seen: last.time,
    detected_at: detectedAt,
    event_count: ordered.length,
    distinct_mailbox_count: distinct,
    threshold: config.threshold,
    window_ms: config.windowMs,
    external_access_seen: externalSeen,
    sample_record_ids: ids.slice(0, MAX_SAMPLE_IDS),
    client_ips: [...ips],
    operations: topOperations(operations),
    mailboxes: [...mailboxes.values()].slice(0, MAX_MAILBOXES),
    mailbox_blind_until: null,
    reason: null,
    policy: config.policy ?? null,
  };
}

/** The severity a rule's alerts start from: the policy's, else the rule's own. */
function baseSeverity(rule: RuleName, settings: RuleSettings): Severity {
  return settings.severity ?? BASE_SEVERITY[rule];
}

/** The life of an alert that opened an episode: its updates and its close (lifecycle.ts). */
export function episodeAlert(alert: MailboxAccessAlert, settings: RuleSettings): EpisodeAlert {
  const rule = alert.rule;
  return new EpisodeAlert(
    alert,
    baseSeverity(rule, settings),
    !NOT_RAISED_BY_COUNT.has(rule),
    MANY_MAILBOXES.has(rule),
  );
}

function topOperations(counts: ReadonlyMap<string, number>): OperationCount[] {
  return [...counts]
    .map(([operation, count]) => ({ operation, count }))
    .sort((a, b) => b.count - a.count || (a.operation < b.operation ? -1 : a.operation > b.operation ? 1 : 0))
    .slice(0, MAX_OPERATIONS);
}
