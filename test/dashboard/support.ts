/** Alerts for the dashboard's tests. */
import type { BoardAlert } from '../../src/dashboard/alert-board.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';

/** A complete non_owner_burst alert, with overrides. */
export function sampleAlert(overrides: Partial<BoardAlert> = {}): BoardAlert {
  const base: MailboxAccessAlert = {
    alert_id: 'a1b2c3d4e5f60718',
    rule: 'non_owner_burst',
    severity: 'medium',
    organization_id: '2ad3fc79-1859-42fa-9011-6f8df2251b22',
    mailbox_guid: '1799af14-918d-4035-98f7-536ec791ef58',
    mailbox_owner_upn: 'adelev@contoso.com',
    actor_user_id: 'mallory@contoso.com',
    actor_sid: 'S-1-5-21-1-2-3-99',
    actor_display_name: 'Mallory',
    actor_domain: 'contoso.com',
    first_seen: Date.UTC(2026, 10, 25, 9, 0, 0),
    last_seen: Date.UTC(2026, 10, 25, 9, 2, 0),
    detected_at: Date.UTC(2026, 10, 25, 9, 2, 0),
    event_count: 20,
    distinct_mailbox_count: 1,
    threshold: 20,
    window_ms: 300_000,
    external_access_seen: false,
    sample_record_ids: ['rec-1', 'rec-2', 'rec-3'],
    client_ips: ['203.0.113.7'],
    operations: [{ operation: 'MailItemsAccessed', count: 20 }],
    mailboxes: ['adelev@contoso.com'],
    mailbox_blind_until: null,
    reason: null,
  };
  return { ...base, ...overrides };
}
