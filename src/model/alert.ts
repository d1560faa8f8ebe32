/** The MailboxAccessAlert record as `avro/MailboxAccessAlert.avsc` defines it. Timestamps are epoch ms. */
export const RULES = [
  'non_owner_burst',
  'cross_domain_burst',
  'mailbox_sweep',
  'app_mailbox_sweep',
  'bulk_mail_access',
  'first_app_access',
  'first_access',
] as const;
export type RuleName = (typeof RULES)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface OperationCount {
  operation: string;
  count: number;
}

export interface MailboxAccessAlert {
  alert_id: string;
  rule: RuleName;
  severity: Severity;
  organization_id: string;
  mailbox_guid: string | null;
  mailbox_owner_upn: string | null;
  actor_user_id: string;
  actor_sid: string | null;
  actor_display_name: string | null;
  actor_domain: string | null;
  first_seen: number;
  last_seen: number;
  detected_at: number;
  event_count: number;
  distinct_mailbox_count: number;
  threshold: number;
  window_ms: number;
  external_access_seen: boolean;
  sample_record_ids: string[];
  client_ips: string[];
  operations: OperationCount[];
  mailboxes: string[];
  /**
   * Added with the app rules (optional with null defaults, so alerts of older writers read as null). Until
   * when (event time) the alert's mailbox is blind: Exchange throttled its MailItemsAccessed auditing and
   * logs no Bind reads for 24 hours. Null when the mailbox is not known to be blind, and for sweeps.
   */
  mailbox_blind_until?: number | null;
  /** Why the rule fired, where its name alone does not say (bulk_mail_access, first_app_access). */
  reason?: string | null;
  /**
   * Added with the alert lifecycle (defaults, so older readers skip them and older alerts read as an open
   * revision 0): open, update or closed; the revision under this alert_id; last_seen − first_seen.
   */
  status?: 'open' | 'update' | 'closed';
  revision?: number;
  duration_ms?: number;
  /**
   * Added with policies (a null default, so older readers skip it and older alerts read as null): the
   * `detection.policies` entry that decided the alert's key, or null when none matched.
   */
  policy?: string | null;
}

/** The alert as JSON for people and files: field names of the schema, timestamps ISO-8601 UTC. */
export function alertToJson(alert: MailboxAccessAlert): Record<string, unknown> {
  return {
    ...alert,
    first_seen: new Date(alert.first_seen).toISOString(),
    last_seen: new Date(alert.last_seen).toISOString(),
    detected_at: new Date(alert.detected_at).toISOString(),
    mailbox_blind_until:
      alert.mailbox_blind_until === undefined || alert.mailbox_blind_until === null
        ? null
        : new Date(alert.mailbox_blind_until).toISOString(),
    reason: alert.reason ?? null,
    status: alert.status ?? 'open',
    revision: alert.revision ?? 0,
    duration_ms: alert.duration_ms ?? alert.last_seen - alert.first_seen,
    policy: alert.policy ?? null,
  };
}
