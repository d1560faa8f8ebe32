import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allDetected,
  compareWithManifest,
  formatComparison,
  type AlertKey,
} from '../../src/simulate/compare.js';
import type { ManifestAttack } from '../../src/simulate/simulation.js';

function attack(rule: ManifestAttack['rule'], actor: string, mailbox: string | null): ManifestAttack {
  return {
    rule,
    key: {
      mailbox_guid: mailbox,
      mailbox_owner_upn: mailbox === null ? null : `${mailbox}@contoso.com`,
      actor_user_id: actor,
    },
    first_event_time: '2026-11-25T09:00:00.000Z',
    last_event_time: '2026-11-25T09:02:00.000Z',
    record_count: 25,
    distinct_mailbox_count: 1,
    mailboxes: [],
    record_ids: [],
  };
}

const manifest = {
  attacks: {
    non_owner_burst: [attack('non_owner_burst', 'eve@contoso.com', 'mbx-1')],
    cross_domain_burst: [attack('cross_domain_burst', 'mallory@fabrikam.com', 'mbx-2')],
    mailbox_sweep: [attack('mailbox_sweep', 'sam@contoso.com', null)],
    app_mailbox_sweep: [attack('app_mailbox_sweep', '6326e366-9d6d-4c70-b22a-34c7ea72d73d', null)],
    bulk_mail_access: [],
    first_app_access: [],
    first_access: [],
  },
};

const alert = (rule: AlertKey['rule'], actor: string, mailbox: string | null): AlertKey => ({
  rule,
  actor_user_id: actor,
  mailbox_guid: mailbox,
  mailbox_owner_upn: null,
});

describe('compareWithManifest', () => {
  it('matches by rule and key, case-insensitively; the sweeps (of a user, of an app) by actor alone', () => {
    const c = compareWithManifest(manifest, [
      alert('non_owner_burst', 'Eve@Contoso.com', 'MBX-1'),
      alert('cross_domain_burst', 'mallory@fabrikam.com', 'mbx-2'),
      alert('mailbox_sweep', 'sam@contoso.com', null),
      alert('app_mailbox_sweep', '6326E366-9D6D-4C70-B22A-34C7EA72D73D', null),
    ]);
    assert.ok(allDetected(c));
    assert.deepEqual(
      [
        c.non_owner_burst.detected,
        c.cross_domain_burst.detected,
        c.mailbox_sweep.detected,
        c.app_mailbox_sweep.detected,
      ],
      [1, 1, 1, 1],
    );
  });

  it('reports misses, unexpected alerts (another key or another rule) and repeats', () => {
    const c = compareWithManifest(manifest, [
      alert('non_owner_burst', 'eve@contoso.com', 'mbx-1'),
      alert('non_owner_burst', 'eve@contoso.com', 'mbx-1'),
      alert('non_owner_burst', 'eve@contoso.com', 'mbx-9'),
      alert('cross_domain_burst', 'eve@contoso.com', 'mbx-1'),
    ]);
    assert.equal(allDetected(c), false);
    assert.equal(c.non_owner_burst.repeated, 1);
    assert.equal(c.non_owner_burst.unexpected.length, 1);
    assert.equal(c.cross_domain_burst.missed.length, 1);
    assert.equal(c.cross_domain_burst.unexpected.length, 1);
    assert.equal(c.mailbox_sweep.missed.length, 1);
    assert.equal(c.app_mailbox_sweep.missed.length, 1);
    const table = formatComparison(c);
    assert.match(table, /non_owner_burst\s+1\s+1\s+0\s+1/);
    assert.match(table, /missed mailbox_sweep: actor sam@contoso.com/);
  });
});
