import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createClassifier } from '../../src/detect/classify.js';
import { createNonOwnerBurstEngine, nonOwnerBurst } from '../../src/detect/non-owner-burst.js';
import { emptyStats, type Access, type AccessFlow, type RuleOutput } from '../../src/detect/types.js';
import { activity, at, detection, onlyRule, reads, run, shuffled } from './helpers.js';

const config = onlyRule('nonOwnerBurst', 20, '5m');

describe('non_owner_burst', () => {
  it('fires on a burst that straddles a clock boundary', () => {
    const records = [
      ...reads(10, at('12:04:30'), at('12:04:57')),
      ...reads(10, at('12:05:00'), at('12:05:30')),
    ];
    const { alerts, stats } = run(config, records);
    assert.equal(alerts.length, 1);
    const [alert] = alerts;
    assert.equal(alert?.rule, 'non_owner_burst');
    assert.equal(alert?.event_count, 20);
    assert.equal(alert?.first_seen, at('12:04:30'));
    assert.equal(alert?.last_seen, at('12:05:30'));
    assert.equal(alert?.detected_at, at('12:05:30'));
    assert.equal(stats.alerts.non_owner_burst, 1);
  });

  it('stays quiet on a slow drip (never 20 within 5 minutes)', () => {
    // One read every 16 s: 20 reads span 304 s > 300 s.
    const { alerts, stats } = run(config, reads(100, at('12:00:00'), at('12:00:00') + 99 * 16_000));
    assert.equal(alerts.length, 0);
    assert.equal(stats.nonOwner, 100);
  });

  it('fires when the drip is just fast enough (20 reads in 285 s)', () => {
    const { alerts } = run(config, reads(100, at('12:00:00'), at('12:00:00') + 99 * 15_000));
    assert.equal(alerts.length, 1);
  });

  it('counts a window of exactly T as within T, and T + 1 ms as not', () => {
    assert.equal(run(config, reads(20, at('12:00:00'), at('12:05:00'))).alerts.length, 1);
    assert.equal(run(config, reads(20, at('12:00:00'), at('12:05:00') + 1)).alerts.length, 0);
  });

  it('raises one alert for a sustained burst', () => {
    // 200 reads, one every 3 s, for 10 minutes.
    const { alerts } = run(config, reads(200, at('12:00:00'), at('12:00:00') + 199 * 3_000));
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.event_count, 20);
  });

  it('raises two alerts for two bursts an hour apart', () => {
    const records = [
      ...reads(25, at('12:00:00'), at('12:01:00')),
      ...reads(25, at('13:00:00'), at('13:01:00')),
    ];
    const { alerts } = run(config, records);
    assert.equal(alerts.length, 2);
    assert.equal(alerts[0]?.first_seen, at('12:00:00'));
    assert.equal(alerts[1]?.first_seen, at('13:00:00'));
    assert.notEqual(alerts[0]?.alert_id, alerts[1]?.alert_id);
  });

  it('keeps one episode while the gaps stay within T, and starts a new one after T of quiet', () => {
    const burst = reads(20, at('12:00:00'), at('12:00:19'));
    const trickle = reads(5, at('12:04:00'), at('12:20:00')); // every 4 minutes: never quiet for 5
    const again = reads(20, at('12:21:00'), at('12:21:19'));
    assert.equal(run(config, [...burst, ...trickle, ...again]).alerts.length, 1);
    // After a second burst ends at 12:20:19, a gap of exactly T continues its episode, T + 1 s does not.
    const second = reads(20, at('12:20:00'), at('12:20:19'));
    assert.equal(
      run(config, [...burst, ...second, ...reads(20, at('12:25:19'), at('12:25:38'))]).alerts.length,
      2,
    );
    assert.equal(
      run(config, [...burst, ...second, ...reads(20, at('12:25:20'), at('12:25:39'))]).alerts.length,
      3,
    );
  });

  it('still fires when the burst arrives out of order within the allowed lateness', () => {
    const records = shuffled(reads(20, at('12:00:00'), at('12:04:00')));
    assert.notDeepEqual(
      records.map((r) => r.creation_time),
      [...records.map((r) => r.creation_time)].sort((a, b) => a - b),
    );
    const { alerts, stats } = run(config, records);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.first_seen, at('12:00:00'));
    assert.equal(alerts[0]?.last_seen, at('12:04:00'));
    assert.equal(stats.late, 0);
  });

  it('finds the window around a record that arrives last but belongs in the middle', () => {
    const early = reads(10, at('12:00:00'), at('12:01:00'));
    const later = reads(9, at('12:03:00'), at('12:04:00'));
    const middle = activity({ creation_time: at('12:02:00') });
    assert.equal(run(config, [...early, ...later]).alerts.length, 0);
    const { alerts } = run(config, [...early, ...later, middle]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.first_seen, at('12:00:00'));
    assert.equal(alerts[0]?.detected_at, at('12:04:00')); // the 20th in event time
  });

  it('drops records later than the allowed lateness and counts them', () => {
    const ahead = activity({
      creation_time: at('15:00:00'),
      user_id: 'bob@contoso.com',
      logon_user_sid: 'S-1-5-21-300',
    });
    const { alerts, stats } = run(config, [ahead, ...reads(20, at('12:00:00'), at('12:01:00'))]);
    assert.equal(alerts.length, 0);
    assert.equal(stats.late, 20);
    assert.equal(stats.records, 21);
  });

  it('counts one record id once however often it is delivered', () => {
    const record = activity({ creation_time: at('12:00:00') });
    const { alerts, stats } = run(
      config,
      Array.from({ length: 25 }, () => ({ ...record })),
    );
    assert.equal(alerts.length, 0);
    assert.equal(stats.nonOwner, 1);
    assert.equal(stats.duplicates, 24);
  });

  it('keys by mailbox and actor: two actors or two mailboxes do not add up', () => {
    const eve = reads(10, at('12:00:00'), at('12:01:00'));
    const mallory = reads(10, at('12:00:00'), at('12:01:00'), {
      user_id: 'mallory@contoso.com',
      logon_user_sid: 'S-1-5-21-201',
    });
    assert.equal(run(config, [...eve, ...mallory]).alerts.length, 0);
    const other = reads(10, at('12:00:00'), at('12:01:00'), {
      mailbox_guid: 'mbx-cfo',
      mailbox_owner_upn: 'cfo@contoso.com',
    });
    assert.equal(run(config, [...eve, ...other]).alerts.length, 0);
  });

  it('compares user ids, owner UPNs and mailbox GUIDs case-insensitively', () => {
    const lower = reads(10, at('12:00:00'), at('12:01:00'));
    const upper = reads(10, at('12:01:01'), at('12:02:00'), {
      user_id: 'EVE@Contoso.COM',
      mailbox_guid: 'MBX-CEO',
      mailbox_owner_upn: 'CEO@contoso.com',
    });
    const { alerts } = run(config, [...lower, ...upper]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.actor_user_id, 'eve@contoso.com');
    assert.equal(alerts[0]?.mailbox_owner_upn, 'ceo@contoso.com');
    assert.equal(alerts[0]?.mailbox_guid, 'mbx-ceo');
  });

  it('describes the burst in the alert', () => {
    const records = reads(20, at('12:00:00'), at('12:01:00'), { logon_user_sid: 's-1-5-21-200' }).map(
      (r, i) => ({
        ...r,
        operation: i % 4 === 0 ? 'Update' : 'MailItemsAccessed',
        client_ip: i % 2 === 0 ? '[2001:DB8::1]:443' : '203.0.113.7:5000',
      }),
    );
    const [alert] = run(config, records).alerts;
    assert.ok(alert);
    assert.equal(alert.severity, 'medium');
    assert.equal(alert.organization_id, 'org-1');
    assert.equal(alert.actor_sid, 'S-1-5-21-200');
    assert.equal(alert.actor_display_name, 'Eve');
    assert.equal(alert.actor_domain, 'contoso.com');
    assert.equal(alert.distinct_mailbox_count, 1);
    assert.equal(alert.threshold, 20);
    assert.equal(alert.window_ms, 300_000);
    assert.equal(alert.external_access_seen, false);
    assert.deepEqual(
      alert.sample_record_ids,
      records.map((r) => r.id),
    );
    assert.deepEqual(alert.client_ips, ['2001:db8::1', '203.0.113.7']);
    assert.deepEqual(alert.operations, [
      { operation: 'MailItemsAccessed', count: 15 },
      { operation: 'Update', count: 5 },
    ]);
    assert.deepEqual(alert.mailboxes, ['ceo@contoso.com']);
    assert.equal(alert.alert_id.length, 32);
  });

  it('raises the severity to high when external access was seen', () => {
    const records = reads(20, at('12:00:00'), at('12:01:00'));
    records[3] = { ...(records[3] as (typeof records)[number]), external_access: true };
    const { alerts } = run(
      detection({ rules: { crossDomainBurst: { enabled: false }, mailboxSweep: { enabled: false } } }),
      records,
    );
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.severity, 'high');
    assert.equal(alerts[0]?.external_access_seen, true);
  });

  it('emits the alert at the record that reaches the threshold, not when the input ends', () => {
    const classifier = createClassifier(onlyRule('nonOwnerBurst', 3, '5m'));
    const access = (time: string): Access => classifier(activity({ creation_time: at(time) })) as Access;
    const scheduler = new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
    scheduler.run(({ cold, expectObservable }) => {
      const values: Record<string, AccessFlow> = {
        a: access('12:00:00'),
        b: access('12:00:10'),
        c: access('12:00:20'),
        d: access('12:00:30'),
      };
      const source = cold<AccessFlow>('a-b-c-d-----|', values);
      const kinds = source.pipe(
        nonOwnerBurst({ enabled: true, threshold: 3, windowMs: 300_000 }),
        map((output: RuleOutput) => output.kind),
      );
      expectObservable(kinds).toBe('----x-------|', { x: 'alert' });
    });
  });
});

describe('createNonOwnerBurstEngine', () => {
  it('is the rule without the operator: alerts on the N-th access, then reports', () => {
    const classifier = createClassifier(detection());
    const engine = createNonOwnerBurstEngine({ enabled: true, threshold: 3, windowMs: 300_000 });
    const alerts = reads(4, at('12:00:00'), at('12:03:00')).map((record) =>
      engine.add(classifier(record) as Access),
    );
    assert.deepEqual(
      alerts.map((alert) => alert?.rule ?? null),
      [null, null, 'non_owner_burst', null],
    );
    const mark = {
      kind: 'checkpoint',
      id: 1,
      watermark: 0,
      neededFrom: Infinity,
      stats: emptyStats(),
      branches: 0,
    } as const;
    engine.report(mark);
    assert.deepEqual(
      [mark.stats.alerts.non_owner_burst, mark.stats.openKeys, mark.neededFrom],
      [1, 1, at('12:00:00')],
    );
    engine.advance(at('13:00:00'));
    engine.report(mark);
    assert.equal(mark.stats.openKeys, 1); // summed: the first report's key, none now
  });
});
