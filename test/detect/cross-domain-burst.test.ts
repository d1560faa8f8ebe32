import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClassifier } from '../../src/detect/classify.js';
import { createCrossDomainBurstEngine } from '../../src/detect/cross-domain-burst.js';
import type { Access } from '../../src/detect/types.js';
import { at, detection, onlyRule, reads, run } from './helpers.js';

const config = onlyRule('crossDomainBurst', 5, '10m', {
  organizationDomains: [['contoso.com', 'contoso.co.uk']],
});
const outsider = { user_id: 'mallory@fabrikam.com', logon_user_sid: 'S-1-5-21-900' };

describe('cross_domain_burst', () => {
  it('fires on five reads from another domain within ten minutes', () => {
    const { alerts, stats } = run(config, reads(5, at('12:00:00'), at('12:09:00'), outsider));
    assert.equal(alerts.length, 1);
    const [alert] = alerts;
    assert.equal(alert?.rule, 'cross_domain_burst');
    assert.equal(alert?.severity, 'high');
    assert.equal(alert?.actor_domain, 'fabrikam.com');
    assert.equal(alert?.event_count, 5);
    assert.equal(stats.crossDomain, 5);
  });

  it('does not fire for four', () => {
    assert.equal(run(config, reads(4, at('12:00:00'), at('12:09:00'), outsider)).alerts.length, 0);
  });

  it('treats the domains of one organization group as one domain', () => {
    const { alerts, stats } = run(
      config,
      reads(10, at('12:00:00'), at('12:01:00'), { user_id: 'Eve@Contoso.CO.UK' }),
    );
    assert.equal(alerts.length, 0);
    assert.equal(stats.crossDomain, 0);
    assert.equal(stats.nonOwner, 10);
  });

  it('takes external_access true as cross-domain even within one domain', () => {
    const { alerts } = run(config, reads(5, at('12:00:00'), at('12:01:00'), { external_access: true }));
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.severity, 'critical');
    assert.equal(alerts[0]?.external_access_seen, true);
  });

  it('gives a SID user id no domain: not cross-domain by domain, still cross-domain by external_access', () => {
    const sid = { user_id: 'S-1-5-21-555', logon_user_sid: 'S-1-5-21-555' };
    const byDomain = run(config, reads(5, at('12:00:00'), at('12:01:00'), sid));
    assert.equal(byDomain.alerts.length, 0);
    assert.equal(byDomain.stats.nonOwner, 5);
    const external = run(config, reads(5, at('12:00:00'), at('12:01:00'), { ...sid, external_access: true }));
    assert.equal(external.alerts.length, 1);
    assert.equal(external.alerts[0]?.actor_user_id, 'S-1-5-21-555');
    assert.equal(external.alerts[0]?.actor_domain, null);
  });

  it('does not count the same-domain reads of the same actor', () => {
    const mixed = [
      ...reads(4, at('12:00:00'), at('12:01:00'), { external_access: true }),
      ...reads(6, at('12:02:00'), at('12:03:00')),
    ];
    assert.equal(run(config, mixed).alerts.length, 0);
  });

  it('never alerts on SYSTEM, although its records say external_access true', () => {
    const system = { user_id: 'S-1-5-18', logon_user_sid: 'S-1-5-18', logon_type: 1, external_access: true };
    const { alerts, stats } = run(config, reads(20, at('12:00:00'), at('12:01:00'), system));
    assert.equal(alerts.length, 0);
    assert.equal(stats.system, 20);
  });
});

describe('createCrossDomainBurstEngine', () => {
  it('is the rule without the operator: counts only cross-domain accesses', () => {
    const classifier = createClassifier(detection());
    const engine = createCrossDomainBurstEngine({ enabled: true, threshold: 2, windowMs: 600_000 });
    const inside = reads(3, at('12:00:00'), at('12:01:00'));
    const outside = reads(2, at('12:02:00'), at('12:03:00'), outsider);
    const alerts = [...inside, ...outside].map((record) => engine.add(classifier(record) as Access));
    assert.deepEqual(
      alerts.map((alert) => alert?.rule ?? null),
      [null, null, null, null, 'cross_domain_burst'],
    );
  });
});
