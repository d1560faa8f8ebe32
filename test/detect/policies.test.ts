/** Issue 10.1: detection.policies — per mailbox and per actor settings, the first matching policy wins. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from } from 'rxjs';
import { detect } from '../../src/detect/detect.js';
import { detectInStages } from '../../src/detect/detect-in-stages.js';
import type { CoreInput, CoreOutput } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';
import { activity, at, detection, reads, run } from './helpers.js';

const QUIET: CoreInput = { kind: 'watermark', time: Number.POSITIVE_INFINITY };
const MINUTE = 60_000;

/** Only the user rules on (the app rules and bulk_mail_access stay out of the counts); one organization. */
const userRules = (extra: Record<string, unknown> = {}) =>
  detection({
    organizationDomains: [['contoso.com', 'legal.contoso.com']],
    ...extra,
    rules: {
      appMailboxSweep: { enabled: false },
      bulkMailAccess: { enabled: false },
      firstAppAccess: { enabled: false },
    },
  });

const VIP = { name: 'vip', match: { mailboxes: ['ceo@contoso.com', '*@legal.contoso.com'] } };
const SERVICE = { name: 'service-accounts', match: { actors: ['svc-*@contoso.com', 'S-1-5-21-777'] } };

/** A read of `owner`'s mailbox by `actor` at `time`. */
function read(actor: string, owner: string, time: number, overrides: Partial<ExchangeMailboxActivity> = {}) {
  return activity({
    creation_time: time,
    user_id: actor,
    logon_user_sid: `S-1-5-21-${actor.length}${actor.charCodeAt(0)}`,
    mailbox_owner_upn: owner,
    mailbox_guid: `mbx-${owner}`,
    mailbox_owner_sid: `S-1-5-21-9${owner.length}${owner.charCodeAt(0)}`,
    ...overrides,
  });
}

/** `actor` opens `count` mailboxes, one every 20 s from 12:00. */
const sweepBy = (actor: string, count: number) =>
  Array.from({ length: count }, (_, i) => read(actor, `user${i}@contoso.com`, at('12:00:00') + i * 20_000));

const keys = (alerts: readonly MailboxAccessAlert[]) =>
  alerts.map((a) => `${a.rule} ${a.actor_user_id} ${a.mailbox_owner_upn ?? '*'} ${a.policy ?? '-'}`);

describe('policies', () => {
  it('a VIP policy with threshold 5 fires where the default (20) would not; the alert names it', () => {
    const six = (owner: string) =>
      Array.from({ length: 6 }, (_, i) => read('eve@contoso.com', owner, at('12:00:00') + i * 30_000));
    const traffic = [...six('ceo@contoso.com'), ...six('cfo@contoso.com'), ...six('kim@legal.contoso.com')];
    assert.deepEqual(run(userRules(), traffic).alerts, [], 'silent under the defaults');

    const vip = userRules({ policies: [{ ...VIP, rules: { nonOwnerBurst: { threshold: 5 } } }] });
    const { alerts, stats } = run(vip, traffic);
    assert.deepEqual(keys(alerts), [
      'non_owner_burst eve@contoso.com ceo@contoso.com vip',
      'non_owner_burst eve@contoso.com kim@legal.contoso.com vip', // the glob, any case
    ]);
    assert.equal(alerts[0]?.threshold, 5);
    assert.equal(alerts[0]?.detected_at, at('12:02:00'), 'at the fifth read');
    assert.equal(stats.alerts.non_owner_burst, 2);
  });

  it('a service-account policy silences its actor — by UPN glob or by logon SID — and no one else', () => {
    const quiet = {
      ...SERVICE,
      rules: { nonOwnerBurst: { enabled: false }, mailboxSweep: { enabled: false } },
    };
    const burst = (actor: string, sid?: string) =>
      reads(25, at('13:00:00'), at('13:02:00'), {
        user_id: actor,
        ...(sid === undefined ? {} : { logon_user_sid: sid }),
      });
    const traffic = [
      ...sweepBy('svc-backup@contoso.com', 12),
      ...burst('svc-backup@contoso.com'),
      ...burst('archiver@contoso.com', 'S-1-5-21-777'),
      ...burst('eve@contoso.com'),
    ];
    assert.deepEqual(keys(run(userRules(), traffic).alerts), [
      'mailbox_sweep svc-backup@contoso.com * -',
      'non_owner_burst svc-backup@contoso.com ceo@contoso.com -',
      'non_owner_burst archiver@contoso.com ceo@contoso.com -',
      'non_owner_burst eve@contoso.com ceo@contoso.com -',
    ]);
    assert.deepEqual(keys(run(userRules({ policies: [quiet] }), traffic).alerts), [
      'non_owner_burst eve@contoso.com ceo@contoso.com -',
    ]);
  });

  it('two overlapping policies: the first that matches decides, whichever it is', () => {
    const vip = { ...VIP, rules: { nonOwnerBurst: { threshold: 5, severity: 'high' } } };
    const service = { ...SERVICE, rules: { nonOwnerBurst: { threshold: 50 } } };
    // svc-backup reads the CEO's mailbox 6 times: both policies match the key.
    const traffic = Array.from({ length: 6 }, (_, i) =>
      read('svc-backup@contoso.com', 'ceo@contoso.com', at('12:00:00') + i * 30_000),
    );
    const vipFirst = run(userRules({ policies: [vip, service] }), traffic).alerts;
    assert.deepEqual(keys(vipFirst), ['non_owner_burst svc-backup@contoso.com ceo@contoso.com vip']);
    assert.equal(vipFirst[0]?.severity, 'high');
    assert.deepEqual(run(userRules({ policies: [service, vip] }), traffic).alerts, []);
  });

  it('mailbox matches apply to the per-mailbox rules only; actor matches to the sweep too', () => {
    const sweep = sweepBy('eve@contoso.com', 10);
    const byMailbox = {
      name: 'staff',
      match: { mailboxes: ['*@contoso.com'] },
      rules: { mailboxSweep: { enabled: false } },
    };
    assert.deepEqual(keys(run(userRules({ policies: [byMailbox] }), sweep).alerts), [
      'mailbox_sweep eve@contoso.com * -',
    ]);
    const both = {
      name: 'eve-on-staff',
      match: { mailboxes: ['*'], actors: ['eve@contoso.com'] },
      rules: { mailboxSweep: { enabled: false } },
    };
    assert.equal(
      run(userRules({ policies: [both] }), sweep).alerts.length,
      1,
      'a mailbox criterion keeps it off the sweep',
    );
    const byActor = {
      name: 'eve',
      match: { actors: ['EVE@contoso.com'] },
      rules: { mailboxSweep: { threshold: 12 } },
    };
    assert.deepEqual(
      run(userRules({ policies: [byActor] }), sweep).alerts,
      [],
      'eve sweeps 10, her policy needs 12',
    );
    const eleven = run(
      userRules({ policies: [{ ...byActor, rules: { mailboxSweep: { threshold: 11 } } }] }),
      sweepBy('eve@contoso.com', 11),
    );
    assert.deepEqual(keys(eleven.alerts), ['mailbox_sweep eve@contoso.com * eve']);
  });

  it("a policy's window and severity: its alerts open, grow and close with them", () => {
    const policy = { ...VIP, rules: { nonOwnerBurst: { threshold: 3, window: '1m', severity: 'high' } } };
    // 3 reads within a minute: an alert; the same 3 reads spread over 2 minutes: none under a 1-minute window.
    const tight = reads(3, at('12:00:00'), at('12:00:50'));
    const loose = reads(3, at('13:00:00'), at('13:02:00'));
    const grown = reads(12, at('14:00:00'), at('14:00:55'), { external_access: true });
    const { revisions } = run(userRules({ policies: [policy] }), [...tight, ...loose, ...grown, QUIET]);
    assert.deepEqual(
      revisions
        .filter((a) => a.rule === 'non_owner_burst')
        .map((a) => `${a.status} ${a.event_count} ${a.severity} ${a.window_ms} ${a.policy}`),
      [
        'open 3 high 60000 vip',
        'open 3 critical 60000 vip', // external access: one step up from the policy's base
        'update 6 critical 60000 vip',
        'update 12 critical 60000 vip',
        'closed 3 high 60000 vip', // the rest is quiet: both close
        'closed 12 critical 60000 vip',
      ],
    );
  });

  it('each key meets one engine: under a policy that matches nobody, the same alerts as without, ids included', () => {
    const traffic = [
      ...sweepBy('mallory@contoso.com', 14),
      ...reads(45, at('15:00:00'), at('15:03:00')),
      ...reads(6, at('15:10:00'), at('15:12:00'), { external_access: true }),
    ];
    const nobody = {
      name: 'nobody',
      match: { actors: ['nobody@nowhere.example'] },
      rules: { nonOwnerBurst: { threshold: 2 } },
    };
    const plain = run(userRules(), [...traffic, QUIET]);
    const withPolicy = run(userRules({ policies: [nobody] }), [...traffic, QUIET]);
    assert.ok(plain.revisions.length >= 4);
    assert.deepEqual(withPolicy.revisions, plain.revisions);
    assert.deepEqual(withPolicy.stats, plain.stats);
  });

  it('the staged core gives the same outputs under policies', () => {
    const config = userRules({
      policies: [
        { ...VIP, rules: { nonOwnerBurst: { threshold: 4 }, crossDomainBurst: { severity: 'critical' } } },
        { ...SERVICE, rules: { mailboxSweep: { enabled: false } } },
      ],
    });
    const inputs: CoreInput[] = [
      ...sweepBy('svc-a@contoso.com', 12),
      ...sweepBy('bob@contoso.com', 12),
      ...reads(6, at('16:00:00'), at('16:01:00'), { external_access: true }),
    ].map((record): CoreInput => ({ kind: 'record', record }));
    inputs.push(QUIET, { kind: 'checkpoint', id: 1 });
    const outputs = (operator: typeof detect) => {
      const out: CoreOutput[] = [];
      from(inputs)
        .pipe(operator(config))
        .subscribe((o) => out.push(o));
      return out;
    };
    const fused = outputs(detect);
    assert.deepEqual(outputs(detectInStages), fused);
    assert.deepEqual(
      fused.flatMap((o) =>
        o.kind === 'alert' && o.alert.revision === 0 ? [`${o.alert.rule} ${o.alert.policy}`] : [],
      ),
      ['mailbox_sweep null', 'non_owner_burst vip', 'cross_domain_burst vip'],
    );
  });

  it('bulk_mail_access and first_app_access take a policy per access: off, or a severity', () => {
    const APP = 'app-1';
    const appRead = (n: number, time: number, overrides: Partial<ExchangeMailboxActivity> = {}) =>
      activity({
        creation_time: time,
        user_type: 5,
        client_app_id: APP,
        user_key: APP,
        user_id: `user${n}@contoso.com`,
        logon_type: 0,
        mailbox_guid: `mbx-${n}`,
        mailbox_owner_upn: `user${n}@contoso.com`,
        ...overrides,
      });
    const config = (policies: unknown[]) =>
      detection({
        policies,
        rules: {
          nonOwnerBurst: { enabled: false },
          crossDomainBurst: { enabled: false },
          mailboxSweep: { enabled: false },
          appMailboxSweep: { enabled: false },
          firstAppAccess: { learnFor: 0 },
        },
      });
    const throttled = appRead(1, at('12:00:00'), { is_throttled: true });
    const burst = reads(3, at('12:10:00'), at('12:11:00'), {
      mailbox_guid: 'mbx-1',
      mailbox_owner_upn: 'user1@contoso.com',
    });
    const plain = run(config([]), [throttled]).alerts;
    assert.deepEqual(
      plain.map((a) => `${a.rule} ${a.severity} ${a.policy}`),
      ['bulk_mail_access high null', 'first_app_access medium null'],
    );
    const trusted = { name: 'trusted-app', match: { actors: [APP.toUpperCase()] } };
    const off = run(
      config([
        { ...trusted, rules: { bulkMailAccess: { enabled: false }, firstAppAccess: { enabled: false } } },
      ]),
      [throttled],
    );
    assert.deepEqual(off.alerts, []);
    // The throttled mailbox is still blind: a policy turns alerts off, not the facts about a mailbox.
    const blind = run(
      detection({
        policies: [{ ...trusted, rules: { bulkMailAccess: { enabled: false } } }],
        rules: { nonOwnerBurst: { threshold: 3 }, firstAppAccess: { enabled: false } },
      }),
      [throttled, ...burst],
    ).alerts;
    assert.deepEqual(
      blind.map((a) => `${a.rule} ${a.mailbox_blind_until}`),
      [`non_owner_burst ${at('12:00:00') + 86_400_000}`],
    );
    const loud = run(
      config([
        {
          ...trusted,
          rules: { bulkMailAccess: { severity: 'critical' }, firstAppAccess: { severity: 'low' } },
        },
      ]),
      [throttled],
    ).alerts;
    assert.deepEqual(
      loud.map((a) => `${a.rule} ${a.severity} ${a.policy}`),
      ['bulk_mail_access critical trusted-app', 'first_app_access low trusted-app'],
    );
  });

  it('a mailboxFile: its UPNs are read at load and match like the inline list', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'radar-policies-'));
    try {
      const file = join(dir, 'vips.txt');
      writeFileSync(file, '# executives\nCEO@contoso.com\n\n  cfo@contoso.com  # finance\n');
      const config = userRules({
        policies: [{ name: 'vip', match: { mailboxFile: file }, rules: { nonOwnerBurst: { threshold: 2 } } }],
      });
      assert.deepEqual(config.policies[0]?.match, {
        mailboxes: ['CEO@contoso.com', 'cfo@contoso.com'],
        actors: [],
        mailboxFile: file,
      });
      const traffic = ['ceo@contoso.com', 'cfo@contoso.com', 'coo@contoso.com'].flatMap((owner) =>
        [0, 1].map((i) => read('eve@contoso.com', owner, at('12:00:00') + i * MINUTE)),
      );
      assert.deepEqual(keys(run(config, traffic).alerts), [
        'non_owner_burst eve@contoso.com ceo@contoso.com vip',
        'non_owner_burst eve@contoso.com cfo@contoso.com vip',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
