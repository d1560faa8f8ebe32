import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAlert } from '../../src/cli/tail.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';

const base: MailboxAccessAlert = {
  alert_id: 'a1',
  rule: 'cross_domain_burst',
  severity: 'high',
  organization_id: 'org',
  mailbox_guid: 'mbx-1',
  mailbox_owner_upn: 'adelev@contoso.com',
  actor_user_id: 'mallory@fabrikam.com',
  actor_sid: null,
  actor_display_name: null,
  actor_domain: 'fabrikam.com',
  first_seen: Date.UTC(2026, 10, 25, 9, 0, 1),
  last_seen: Date.UTC(2026, 10, 25, 9, 2, 41),
  detected_at: Date.UTC(2026, 10, 25, 9, 2, 41),
  event_count: 5,
  distinct_mailbox_count: 1,
  threshold: 5,
  window_ms: 600_000,
  external_access_seen: true,
  sample_record_ids: [],
  client_ips: [],
  operations: [],
  mailboxes: ['adelev@contoso.com'],
};

describe('formatAlert', () => {
  it('prints time, severity, rule, owner ← actor, count/threshold in window, first → last seen', () => {
    assert.equal(
      formatAlert(base),
      '2026-11-25T09:02:41Z  open        high      cross_domain_burst  adelev@contoso.com ← mallory@fabrikam.com  5/5 in 10m  09:00:01 → 09:02:41',
    );
  });

  it('for a sweep, counts mailboxes and reads; a first-seen on another day is written in full', () => {
    const line = formatAlert({
      ...base,
      rule: 'mailbox_sweep',
      mailbox_guid: null,
      mailbox_owner_upn: null,
      distinct_mailbox_count: 12,
      event_count: 17,
      threshold: 10,
      first_seen: Date.UTC(2026, 10, 24, 23, 58, 0),
      detected_at: Date.UTC(2026, 10, 25, 0, 3, 0),
      last_seen: Date.UTC(2026, 10, 25, 0, 3, 0),
    });
    assert.equal(
      line,
      '2026-11-25T00:03:00Z  open        high      mailbox_sweep       12 mailboxes ← mallory@fabrikam.com  12/10 mailboxes (17 reads) in 10m  2026-11-24T23:58:00Z → 00:03:00',
    );
  });

  it('an update shows its growth since the previous message, a close the final count and how long it lasted', () => {
    const update = formatAlert(
      { ...base, status: 'update', revision: 1, event_count: 10, detected_at: base.last_seen },
      base,
    );
    assert.match(update, / {2}update #1 {3}high {2}.* {2}10\/5 \(was 5\) in 10m {2}/);
    const closed = formatAlert({
      ...base,
      status: 'closed',
      revision: 2,
      event_count: 12,
      last_seen: base.first_seen + 9 * 60_000,
      detected_at: base.first_seen + 19 * 60_000,
    });
    assert.match(
      closed,
      / {2}closed #2 {3}high {2}.* {2}12\/5 final in 10m {2}09:00:01 → 09:09:01 {2}lasted 9m$/,
    );
  });

  it('names the policy that decided the alert, when one did; first_access as the point in time it is', () => {
    assert.match(
      formatAlert({ ...base, policy: 'executives' }),
      / {2}09:00:01 → 09:02:41 {2}policy executives$/,
    );
    assert.doesNotMatch(formatAlert({ ...base, policy: null }), /policy/);
    const first = formatAlert({
      ...base,
      rule: 'first_access',
      severity: 'low',
      status: 'closed',
      revision: 0,
      event_count: 1,
      threshold: 1,
      window_ms: 30 * 86_400_000,
      first_seen: base.last_seen,
    });
    assert.equal(
      first,
      '2026-11-25T09:02:41Z  closed #0   low       first_access        adelev@contoso.com ← mallory@fabrikam.com  1/1 final in 30d  09:02:41 → 09:02:41  lasted 0ms',
    );
  });
});
