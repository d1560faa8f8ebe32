import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from } from 'rxjs';
import { LEARNING_KEY, LEARNING_STORE, SEEN_STORE } from '../../src/detect/first-app-access.js';
import { BLIND_STORE } from '../../src/detect/bulk-mail-access.js';
import { detect } from '../../src/detect/detect.js';
import { detectInStages } from '../../src/detect/detect-in-stages.js';
import type { CoreInput, CoreOutput, StateChange } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activity, at, detection, run } from './helpers.js';

const APP = '6326e366-9d6d-4c70-b22a-34c7ea72d73d';
const GRAPH = '00000003-0000-0000-c000-000000000000';
const DAY = 86_400_000;
const MINUTE = 60_000;

/** An app-only read of mailbox n: the owner's UserId and SID, LogonType 0, UserType 5, the app's ids. */
function appRead(n: number, time: number, overrides: Partial<ExchangeMailboxActivity> = {}) {
  return activity({
    creation_time: time,
    user_type: 5,
    user_key: APP,
    app_id: GRAPH,
    client_app_id: APP,
    user_id: `user${n}@contoso.com`,
    logon_type: 0,
    internal_logon_type: 0,
    logon_user_sid: `S-1-5-21-${1000 + n}`,
    mailbox_guid: `mbx-${n}`,
    mailbox_owner_upn: `user${n}@contoso.com`,
    mailbox_owner_sid: `S-1-5-21-${1000 + n}`,
    client_info_string: 'Client=REST;Client=RESTSystem;;',
    mail_access_type: 'Bind',
    ...overrides,
  });
}

/** Reads of mailboxes 1..count by the app, one a minute from 12:00. */
const sweep = (count: number, overrides: Partial<ExchangeMailboxActivity> = {}) =>
  Array.from({ length: count }, (_, i) => appRead(i + 1, at('12:00:00') + i * MINUTE, overrides));

const only = (rule: string, settings: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => {
  const rules: Record<string, unknown> = {
    nonOwnerBurst: { enabled: false },
    crossDomainBurst: { enabled: false },
    mailboxSweep: { enabled: false },
    appMailboxSweep: { enabled: false },
    bulkMailAccess: { enabled: false },
    firstAppAccess: { enabled: false },
  };
  rules[rule] = { enabled: true, ...settings };
  return detection({ ...extra, rules });
};

const states = (outputs: readonly CoreOutput[]) =>
  outputs.filter((o): o is StateChange => o.kind === 'state');

describe('app_mailbox_sweep', () => {
  const config = only('appMailboxSweep');

  it('fires when an app reads 6 mailboxes within 10 minutes (more than 5)', () => {
    const { alerts, stats } = run(config, sweep(6));
    assert.equal(alerts.length, 1);
    const [alert] = alerts;
    assert.equal(alert?.rule, 'app_mailbox_sweep');
    assert.equal(alert?.severity, 'high');
    assert.equal(alert?.actor_user_id, APP);
    assert.equal(alert?.actor_domain, null);
    assert.equal(alert?.distinct_mailbox_count, 6);
    assert.equal(alert?.mailbox_guid, null);
    assert.equal(alert?.threshold, 6);
    assert.equal(alert?.detected_at, at('12:05:00'));
    assert.equal(stats.app, 6);
    assert.equal(stats.owner, 0);
    // Deterministic: the same reads, the same id.
    assert.equal(run(config, sweep(6)).alerts[0]?.alert_id === alert?.alert_id, false); // new record ids
    const again = sweep(6);
    assert.equal(run(config, again).alerts[0]?.alert_id, run(config, again).alerts[0]?.alert_id);
  });

  it('stays silent for 5 mailboxes', () => {
    assert.equal(run(config, sweep(5)).alerts.length, 0);
  });

  it('one alert per episode: 20 mailboxes in a row are one sweep', () => {
    assert.equal(run(config, sweep(20)).alerts.length, 1);
  });

  it('the same reads with UserType 0 and the owner reading her own mailbox: owner, nothing', () => {
    const all = detection(); // every rule on, defaults
    const { alerts, stats } = run(all, sweep(6, { user_type: 0 }));
    assert.equal(alerts.length, 0);
    assert.equal(stats.owner, 6);
    assert.equal(stats.app, 0);
  });

  it('an allow-listed app (any case): nothing', () => {
    const allowed = only('appMailboxSweep', {}, { allowlist: { apps: [APP.toUpperCase()] } });
    const { alerts, stats } = run(allowed, sweep(6));
    assert.equal(alerts.length, 0);
    assert.equal(stats.allowListed, 6);
  });

  it('is not reported twice: with every rule on, the app sweep is app_mailbox_sweep (and first_app_access) only', () => {
    const all = detection({ rules: { firstAppAccess: { learnFor: 0 } } });
    const rules = run(all, sweep(12)).alerts.map((a) => a.rule);
    assert.deepEqual(rules.sort(), ['app_mailbox_sweep', 'first_app_access']);
  });
});

describe('bulk_mail_access', () => {
  const config = only('bulkMailAccess');

  it('a throttled record fires and marks the mailbox blind for 24 h', () => {
    const throttled = appRead(1, at('12:00:00'), { is_throttled: true });
    const { alerts, outputs } = run(config, [throttled]);
    assert.equal(alerts.length, 1);
    const [alert] = alerts;
    assert.equal(alert?.rule, 'bulk_mail_access');
    assert.equal(alert?.mailbox_guid, 'mbx-1');
    assert.match(alert?.reason ?? '', /throttled/);
    assert.equal(alert?.mailbox_blind_until, at('12:00:00') + DAY);
    assert.deepEqual(states(outputs), [
      {
        kind: 'state',
        store: BLIND_STORE,
        key: `mbx-1\n${at('12:00:00') + DAY}`,
        value: at('12:00:00') + DAY,
      },
    ]);
  });

  it('every alert about the blind mailbox within the 24 h says so; one after it does not', () => {
    const config2 = detection({ rules: { nonOwnerBurst: { threshold: 3, window: '5m' } } });
    const owner = activity({
      creation_time: at('12:00:00'),
      logon_type: 0,
      logon_user_sid: 'S-1-5-21-100',
      is_throttled: true, // the owner's own throttled record: bulk_mail_access looks at owners too
    });
    const burst = (start: number) => [0, 1, 2].map((i) => activity({ creation_time: start + i * 1_000 })); // eve reads ceo's mailbox
    const { alerts } = run(config2, [
      owner,
      ...burst(at('14:00:00')),
      ...burst(at('12:00:00') + DAY + MINUTE),
    ]);
    const byRule = alerts.map((a) => [a.rule, a.mailbox_blind_until]);
    assert.deepEqual(byRule, [
      ['bulk_mail_access', at('12:00:00') + DAY],
      ['non_owner_burst', at('12:00:00') + DAY],
      ['non_owner_burst', null],
    ]);
  });

  it("a second throttle does not take the first one's period away: an episode's close keeps its mark", () => {
    const config2 = detection({ rules: { nonOwnerBurst: { threshold: 3, window: '5m' } } });
    const throttled = (time: number) =>
      activity({ creation_time: time, logon_type: 0, logon_user_sid: 'S-1-5-21-100', is_throttled: true });
    const burst = [0, 1, 2].map((i) => activity({ creation_time: at('12:30:00') + i * 1_000 }));
    // The burst's episode closes at the end, after the second throttle; its detected_at (12:30:02 + 5 min)
    // lies in the first period only.
    const { revisions } = run(config2, [
      throttled(at('12:00:00')),
      ...burst,
      throttled(at('13:00:00')),
      { kind: 'watermark', time: Number.POSITIVE_INFINITY },
    ]);
    const burstRevisions = revisions.filter((r) => r.rule === 'non_owner_burst');
    assert.deepEqual(
      burstRevisions.map((r) => [r.status, r.mailbox_blind_until]),
      [
        ['open', at('12:00:00') + DAY],
        ['closed', at('12:00:00') + DAY],
      ],
    );
  });

  it('a blind period leaves the store once the watermark before the current one is a day and the longest window past its end', () => {
    const config2 = only('bulkMailAccess');
    const until = at('12:00:00') + DAY;
    const tombstone = { kind: 'state', store: BLIND_STORE, key: `mbx-1\n${until}`, value: null };
    const late = until + DAY + 60 * MINUTE; // bulk_mail_access's window: 60 min
    const inputs = (...watermarks: number[]): CoreInput[] => [
      { kind: 'record', record: appRead(1, at('12:00:00'), { is_throttled: true }) },
      ...watermarks.map((time): CoreInput => ({ kind: 'watermark', time })),
    ];
    assert.ok(!states(run(config2, inputs(late, late + 1)).outputs).some((c) => c.value === null));
    assert.deepEqual(states(run(config2, inputs(late, late + 1, late + 2)).outputs).at(-1), tombstone);
  });

  it("restores a store's periods: one per key, and a key of the mailbox alone (before periods were kept apart)", () => {
    const config2 = detection({ rules: { nonOwnerBurst: { threshold: 3, window: '5m' } } });
    const burst = [0, 1, 2].map((i) => activity({ creation_time: at('12:30:00') + i * 1_000 }));
    const marks = (restores: CoreInput[]) =>
      run(config2, [...restores, ...burst]).alerts.map((a) => a.mailbox_blind_until);
    const first = at('12:00:00') + DAY;
    const second = at('13:00:00') + DAY;
    assert.deepEqual(
      marks([
        { kind: 'restore', store: BLIND_STORE, key: `mbx-ceo\n${first}`, value: first },
        { kind: 'restore', store: BLIND_STORE, key: `mbx-ceo\n${second}`, value: second },
      ]),
      [first],
    );
    assert.deepEqual(
      marks([
        { kind: 'restore', store: BLIND_STORE, key: `mbx-ceo\n${first}`, value: first },
        { kind: 'restore', store: BLIND_STORE, key: `mbx-ceo\n${first}`, value: null },
      ]),
      [null],
    );
    assert.deepEqual(marks([{ kind: 'restore', store: BLIND_STORE, key: 'mbx-ceo', value: first }]), [first]);
  });

  it('one record with operation_count ≥ 100 fires; 99 does not', () => {
    assert.equal(run(config, [appRead(1, at('12:00:00'), { operation_count: 99 })]).alerts.length, 0);
    const { alerts } = run(config, [appRead(1, at('12:00:00'), { operation_count: 250 })]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.threshold, 100);
    assert.equal(alerts[0]?.mailbox_blind_until, null);
  });

  it('10 distinct Sync folders within 60 min from one session fire, unless it is desktop Outlook', () => {
    const syncs = (overrides: Partial<ExchangeMailboxActivity>) =>
      Array.from({ length: 5 }, (_, i) =>
        activity({
          creation_time: at('12:00:00') + i * 10 * MINUTE,
          logon_type: 0,
          logon_user_sid: 'S-1-5-21-100', // the owner
          mail_access_type: 'Sync',
          session_id: 'session-1',
          folder_paths: [`\\Folder ${2 * i}`, `\\Folder ${2 * i + 1}`],
          ...overrides,
        }),
      );
    const { alerts } = run(config, syncs({ client_info_string: 'Client=REST;;' }));
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.detected_at, at('12:40:00'));
    assert.equal(alerts[0]?.event_count, 5);
    assert.match(alerts[0]?.reason ?? '', /10 folders/);
    assert.equal(run(config, syncs({ client_info_string: 'Client=MSExchangeRPC' })).alerts.length, 0);
    assert.equal(run(config, syncs({ client_info_string: 'Client=REST;;' }).slice(0, 4)).alerts.length, 0);
  });

  it('an app Sync counts even as desktop Outlook; another session is another context', () => {
    const app = Array.from({ length: 10 }, (_, i) =>
      appRead(1, at('12:00:00') + i * MINUTE, {
        mail_access_type: 'Sync',
        client_info_string: 'Client=MSExchangeRPC',
        session_id: i < 5 ? 's-1' : 's-2',
        folder_paths: [`\\F${i}`],
      }),
    );
    assert.equal(run(config, app).alerts.length, 0); // 5 + 5 folders in two sessions
    const one = app.map((r) => ({ ...r, session_id: 's-1' }));
    assert.equal(run(config, one).alerts.length, 1);
  });
});

describe('first_app_access', () => {
  const config = only('firstAppAccess'); // lookback 14 d, learning 14 d
  const start = at('12:00:00');
  const read = (day: number, app = APP, n = 1) =>
    appRead(n, start + day * DAY, { client_app_id: app, user_key: app });
  /** Watermarks from the records (replay), a day apart at most. */

  it('is silent while learning, then alerts for a new app', () => {
    const { alerts } = run(config, [read(0), read(1, 'app-b'), read(15, 'app-c')]);
    assert.deepEqual(
      alerts.map((a) => [a.rule, a.actor_user_id]),
      [['first_app_access', 'app-c']],
    );
    assert.equal(alerts[0]?.window_ms, 14 * DAY);
    assert.equal(alerts[0]?.mailbox_guid, 'mbx-1');
  });

  it('is silent for an app seen 10 days ago, alerts for one last seen 15 days ago', () => {
    const { alerts } = run(config, [read(0), read(0, 'app-b'), read(20), read(25), read(40, 'app-b')]);
    // APP: day 20 is 20 d after day 0 → new again (after learning); day 25 is 5 d after → silent.
    // app-b: day 40 is 40 d after → new.
    assert.deepEqual(
      alerts.map((a) => [a.actor_user_id, a.first_seen]),
      [
        [APP, start + 20 * DAY],
        ['app-b', start + 40 * DAY],
      ],
    );
    const tenDays = run(config, [read(0), read(16, 'app-b'), read(26, 'app-b')]).alerts;
    assert.deepEqual(
      tenDays.map((a) => [a.actor_user_id, a.first_seen]),
      [['app-b', start + 16 * DAY]], // day 26: seen 10 days before, silent
    );
    const fifteen = run(config, [read(0), read(16, 'app-b'), read(31, 'app-b')]).alerts;
    assert.equal(fifteen.length, 2); // day 31: 15 days after day 16
  });

  it('learns from the earliest event time it sees, not from the first record to arrive', () => {
    // Behind the repartition, which partition's records reach the rule first depends on the fetches.
    const late = (app: string, ms: number) => appRead(1, start + ms, { client_app_id: app, user_key: app });
    const { alerts, outputs } = run(config, [
      late('app-a', 10 * MINUTE),
      late('app-b', 0),
      late('app-c', 14 * DAY + 5 * MINUTE),
    ]);
    assert.deepEqual(
      alerts.map((a) => a.actor_user_id),
      ['app-c'],
      'learning ended 14 days after app-b, the earliest',
    );
    assert.deepEqual(
      states(outputs)
        .filter((s) => s.store === LEARNING_STORE)
        .map((s) => s.value),
      [start + 10 * MINUTE, start],
    );
  });

  it('a read found new while learning is alerted on once an earlier record ends the learning before it', () => {
    // app-x's read reaches the rule before app-b's earlier one (another repartition partition came first):
    // judged against the learning then (from 12:10), it was learning; from 12:00 it is past it.
    const late = (app: string, ms: number) => appRead(1, start + ms, { client_app_id: app, user_key: app });
    const actorSide = { watermarks: 'external', lateness: 'upstream' } as const;
    const [a, b, x] = [late('app-a', 10 * MINUTE), late('app-b', 0), late('app-x', 14 * DAY + 5 * MINUTE)];
    const inOrder = run(config, [b, x], actorSide);
    const outOfOrder = run(config, [a, x, b], actorSide);
    assert.deepEqual(
      outOfOrder.alerts.map((a) => [a.actor_user_id, a.alert_id, a.first_seen]),
      inOrder.alerts.map((a) => [a.actor_user_id, a.alert_id, a.first_seen]),
    );
    assert.equal(outOfOrder.stats.alerts.first_app_access, 1);
  });

  it('an allow-listed app: nothing', () => {
    const allowed = only('firstAppAccess', {}, { allowlist: { apps: ['APP-C'] } });
    assert.equal(run(allowed, [read(0), read(15, 'app-c')]).alerts.length, 0);
  });

  it('reports its state as few changes: the learning start, each app at most once an hour, expiry', () => {
    const reads = [read(0), ...Array.from({ length: 120 }, (_, i) => appRead(1, start + i * MINUTE))];
    const { outputs } = run(config, reads);
    assert.deepEqual(states(outputs), [
      { kind: 'state', store: LEARNING_STORE, key: LEARNING_KEY, value: start },
      { kind: 'state', store: SEEN_STORE, key: APP, value: start },
      { kind: 'state', store: SEEN_STORE, key: APP, value: start + 60 * MINUTE },
    ]);
    const expired = run(config, [read(0), { kind: 'watermark', time: start + 15 * DAY }]);
    assert.deepEqual(states(expired.outputs).at(-1), {
      kind: 'state',
      store: SEEN_STORE,
      key: APP,
      value: null,
    });
  });

  it('restored from its state changes, it neither re-alerts nor re-learns', () => {
    const first = run(config, [read(0), read(15, 'app-c')]);
    assert.equal(first.alerts.length, 1);
    const restore: CoreInput[] = states(first.outputs).map((s) => ({
      kind: 'restore',
      store: s.store,
      key: s.key,
      value: s.value,
    }));
    // After a restart the core re-reads app-c's record: no second alert.
    const again = run(config, [...restore, read(15, 'app-c')]);
    assert.equal(again.alerts.length, 0);
    // Learning is not restarted: a new app right after the restart is alerted on.
    const fresh = run(config, [...restore, read(15, 'app-d')]);
    assert.deepEqual(
      fresh.alerts.map((a) => a.actor_user_id),
      ['app-d'],
    );
    // Without the restore the same core would be learning again and say nothing.
    assert.equal(run(config, [read(15, 'app-d')]).alerts.length, 0);
  });
});

describe('the app rules in the staged core', () => {
  it('give the same outputs, state changes and restores included', () => {
    const config = detection({ rules: { nonOwnerBurst: { threshold: 3, window: '5m' } } });
    const inputs: CoreInput[] = [
      { kind: 'restore', store: LEARNING_STORE, key: LEARNING_KEY, value: at('00:00:00') - 20 * DAY },
      { kind: 'restore', store: BLIND_STORE, key: 'mbx-ceo', value: at('23:00:00') },
      ...sweep(8).map((record): CoreInput => ({ kind: 'record', record })),
      { kind: 'record', record: appRead(2, at('12:30:00'), { is_throttled: true, client_app_id: 'app-z' }) },
      ...[0, 1, 2].map((i): CoreInput => ({
        kind: 'record',
        record: activity({ creation_time: at('13:00:00') + i }),
      })),
      { kind: 'checkpoint', id: 1 },
    ];
    const outputs = (operator: typeof detect) => {
      const out: CoreOutput[] = [];
      from(inputs)
        .pipe(operator(config))
        .subscribe((o) => out.push(o));
      return out;
    };
    const fused = outputs(detect);
    assert.deepEqual(outputs(detectInStages), fused);
    const rules = fused.flatMap((o) => (o.kind === 'alert' ? [o.alert.rule] : []));
    assert.deepEqual(rules, [
      'first_app_access',
      'app_mailbox_sweep',
      'bulk_mail_access',
      'first_app_access',
      'non_owner_burst',
    ]);
    const burst = fused.find((o) => o.kind === 'alert' && o.alert.rule === 'non_owner_burst');
    assert.equal(burst?.kind === 'alert' ? burst.alert.mailbox_blind_until : undefined, at('23:00:00'));
  });
});
