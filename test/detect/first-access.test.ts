/** Issue 10.2: first_access — an actor opens a mailbox they have not opened within the lookback. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from } from 'rxjs';
import { detect } from '../../src/detect/detect.js';
import { detectInStages } from '../../src/detect/detect-in-stages.js';
import { LEARNING_KEY, LEARNING_STORE, SEEN_STORE } from '../../src/detect/first-access.js';
import type { CoreInput, CoreOutput, StateChange } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activity, at, detection, run } from './helpers.js';

const DAY = 86_400_000;
const MINUTE = 60_000;
const START = at('09:00:00');

/** first_access alone (lookback 30 d, learning 30 d unless given). */
const only = (settings: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  detection({
    ...extra,
    rules: {
      nonOwnerBurst: { enabled: false },
      crossDomainBurst: { enabled: false },
      mailboxSweep: { enabled: false },
      appMailboxSweep: { enabled: false },
      bulkMailAccess: { enabled: false },
      firstAppAccess: { enabled: false },
      firstAccess: settings,
    },
  });

/** `actor` opens `owner`'s mailbox `day` days (and `minutes` minutes) after START. */
function open(actor: string, owner: string, day: number, overrides: Partial<ExchangeMailboxActivity> = {}) {
  return activity({
    creation_time: START + day * DAY,
    user_id: actor,
    logon_user_sid: `S-1-5-21-${actor.length}${actor.charCodeAt(0)}`,
    mailbox_owner_upn: owner,
    mailbox_guid: `mbx-${owner}`,
    mailbox_owner_sid: `S-1-5-21-9${owner.length}${owner.charCodeAt(0)}`,
    ...overrides,
  });
}

/** Learning starts with this read and ends 30 days later. */
const FIRST = () => open('first@contoso.com', 'someone@contoso.com', 0);

const states = (outputs: readonly CoreOutput[]) =>
  outputs.filter((o): o is StateChange => o.kind === 'state');
/** A core's state changes as the restore inputs a restart would feed back. */
const restoring = (outputs: readonly CoreOutput[]): CoreInput[] =>
  states(outputs).map((s) => ({ kind: 'restore', store: s.store, key: s.key, value: s.value }));
const pairs = (alerts: readonly { actor_user_id: string; mailbox_owner_upn: string | null }[]) =>
  alerts.map((a) => `${a.actor_user_id} → ${a.mailbox_owner_upn}`);

describe('first_access', () => {
  it('a pair seen 10 days ago stays silent; one last seen 31 days ago alerts', () => {
    const { alerts } = run(only(), [
      FIRST(),
      open('bob@contoso.com', 'cfo@contoso.com', 20),
      open('eve@contoso.com', 'ceo@contoso.com', 25),
      open('eve@contoso.com', 'ceo@contoso.com', 35), // 10 days after: silent
      open('bob@contoso.com', 'cfo@contoso.com', 51), // 31 days after: alerts
    ]);
    assert.deepEqual(pairs(alerts), ['bob@contoso.com → cfo@contoso.com']);
    const [alert] = alerts;
    assert.equal(alert?.rule, 'first_access');
    assert.equal(
      alert?.reason,
      `last access by this actor ${new Date(START + 20 * DAY).toISOString()}, 31 days before`,
    );
    assert.equal(alert?.first_seen, START + 51 * DAY);
  });

  it('alerts once on a pair never seen, as one closed message; severity low, raised by external access', () => {
    const reads = [
      FIRST(),
      ...[0, 1, 2].map((i) =>
        open('eve@contoso.com', 'ceo@contoso.com', 40, { creation_time: START + 40 * DAY + i * MINUTE }),
      ),
    ];
    const { revisions, stats } = run(only(), [
      ...reads,
      { kind: 'watermark', time: Number.POSITIVE_INFINITY },
    ]);
    assert.equal(revisions.length, 1, 'one alert, one message: the next reads are within the lookback');
    const [alert] = revisions;
    assert.equal(alert?.status, 'closed');
    assert.equal(alert?.revision, 0);
    assert.equal(alert?.duration_ms, 0);
    assert.equal(alert?.severity, 'low');
    assert.equal(alert?.threshold, 1);
    assert.equal(alert?.window_ms, 30 * DAY);
    assert.equal(alert?.event_count, 1);
    assert.equal(alert?.mailbox_guid, 'mbx-ceo@contoso.com');
    assert.equal(alert?.policy, null);
    assert.equal(alert?.reason, 'first access by this actor to this mailbox in the 30 days before');
    assert.equal(stats.alerts.first_access, 1);
    const external = run(only(), [
      FIRST(),
      open('mallory@fabrikam.com', 'ceo@contoso.com', 40, { external_access: true }),
    ]);
    assert.equal(external.alerts[0]?.severity, 'medium');
  });

  it('the learning period alerts on nothing; it runs from the earliest event time seen', () => {
    const delegates = Array.from({ length: 40 }, (_, i) =>
      open(`d${i}@contoso.com`, `m${i % 7}@contoso.com`, i % 29),
    );
    assert.deepEqual(
      run(only(), [FIRST(), ...delegates]).alerts,
      [],
      '40 first accesses within 30 days: learning',
    );
    // After learning, a delegate learned in it is known; a new one alerts.
    const after = [
      open('d3@contoso.com', 'm3@contoso.com', 31),
      open('new@contoso.com', 'm3@contoso.com', 31),
    ];
    assert.deepEqual(pairs(run(only(), [FIRST(), ...delegates, ...after]).alerts), [
      'new@contoso.com → m3@contoso.com',
    ]);
    // A record 90 minutes older than the first (within the lateness) moves the start back: day 30 minus an hour is then out of learning.
    const late = open('late@contoso.com', 'm1@contoso.com', 0, { creation_time: START - 90 * MINUTE });
    const edge = open('edge@contoso.com', 'm1@contoso.com', 30, {
      creation_time: START + 30 * DAY - 60 * MINUTE,
    });
    assert.deepEqual(run(only(), [FIRST(), edge]).alerts, [], 'in learning, counted from the first record');
    assert.deepEqual(pairs(run(only(), [FIRST(), late, edge]).alerts), ['edge@contoso.com → m1@contoso.com']);
    // learnFor is configurable; 0 learns nothing.
    assert.equal(
      run(only({ learnFor: 0 }), [FIRST(), open('eve@contoso.com', 'ceo@contoso.com', 1)]).alerts.length,
      2,
    );
    assert.equal(
      run(only({ learnFor: '1d' }), [FIRST(), open('eve@contoso.com', 'ceo@contoso.com', 1)]).alerts.length,
      1,
    );
  });

  it('counts user accesses only: owners, apps, system and allow-listed actors never alert', () => {
    const config = only({ learnFor: 0 }, { allowlist: { actors: ['assistant@contoso.com'] } });
    const { alerts, stats } = run(config, [
      open('ceo@contoso.com', 'ceo@contoso.com', 1, {
        logon_user_sid: 'S-1-5-21-100',
        mailbox_owner_sid: 'S-1-5-21-100',
      }),
      open('app', 'ceo@contoso.com', 1, { user_type: 5, client_app_id: 'app-1', logon_type: 0 }),
      open('NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)', 'ceo@contoso.com', 1, {
        logon_user_sid: 'S-1-5-18',
      }),
      open('assistant@contoso.com', 'ceo@contoso.com', 1),
    ]);
    assert.deepEqual(alerts, []);
    assert.equal(stats.owner + stats.app + stats.system + stats.allowListed, 4);
  });

  it('reports its state as few changes: the learning start, each pair at most once an hour, expiry', () => {
    const config = only({ learnFor: 0 });
    const morning = Array.from({ length: 120 }, (_, i) =>
      open('eve@contoso.com', 'ceo@contoso.com', 0, { creation_time: START + i * MINUTE }),
    );
    const { outputs } = run(config, morning);
    assert.deepEqual(states(outputs), [
      { kind: 'state', store: LEARNING_STORE, key: LEARNING_KEY, value: START },
      { kind: 'state', store: SEEN_STORE, key: 'mbx-ceo@contoso.com\neve@contoso.com', value: START },
      {
        kind: 'state',
        store: SEEN_STORE,
        key: 'mbx-ceo@contoso.com\neve@contoso.com',
        value: START + 60 * MINUTE,
      },
    ]);
    // Out of the lookback, the pair is forgotten (swept once a day of event time).
    const expired = run(config, [...morning, { kind: 'watermark', time: START + 32 * DAY }]);
    assert.deepEqual(states(expired.outputs).at(-1), {
      kind: 'state',
      store: SEEN_STORE,
      key: 'mbx-ceo@contoso.com\neve@contoso.com',
      value: null,
    });
    assert.equal(expired.stats.openKeys, 0, 'remembered pairs are no open window keys');
  });

  it('restored from its state changes, it neither re-alerts a known pair nor learns again', () => {
    const config = only();
    const history = [
      FIRST(),
      open('eve@contoso.com', 'ceo@contoso.com', 10),
      open('bob@contoso.com', 'cfo@contoso.com', 40),
    ];
    const first = run(config, history);
    assert.deepEqual(pairs(first.alerts), ['bob@contoso.com → cfo@contoso.com']);
    const restore = restoring(first.outputs);
    // After a restart (kill -9) the core re-reads bob's record: no second alert. eve is still known.
    const again = run(config, [
      ...restore,
      open('bob@contoso.com', 'cfo@contoso.com', 40),
      open('eve@contoso.com', 'ceo@contoso.com', 39),
    ]);
    assert.deepEqual(again.alerts, []);
    // Learning is not restarted: a new pair right after the restart alerts.
    const fresh = run(config, [...restore, open('kim@contoso.com', 'cfo@contoso.com', 41)]);
    assert.deepEqual(pairs(fresh.alerts), ['kim@contoso.com → cfo@contoso.com']);
    // Without the restore, the same core would be learning again and say nothing.
    assert.deepEqual(run(config, [open('kim@contoso.com', 'cfo@contoso.com', 41)]).alerts, []);
    // A tombstone forgets the pair: then it is new again.
    const forgotten = run(config, [
      ...restore,
      { kind: 'restore', store: SEEN_STORE, key: 'mbx-ceo@contoso.com\neve@contoso.com', value: null },
      open('eve@contoso.com', 'ceo@contoso.com', 39),
    ]);
    assert.deepEqual(pairs(forgotten.alerts), ['eve@contoso.com → ceo@contoso.com']);
  });

  it("skips a restore's replayed records, whose changes its stores already hold; live ones as before", () => {
    const config = only({ learnFor: 0 });
    const record = open('bob@contoso.com', 'cfo@contoso.com', 1);
    const live = run(config, [{ kind: 'record', record }]);
    assert.equal(states(live.outputs).length, 2, 'learning starts, the pair is remembered');
    assert.equal(live.alerts.length, 1);
    // Replayed: processed before the commit the stores were read back at — nothing to learn again.
    const replayed = run(config, [{ kind: 'record', record, replayed: true }]);
    assert.deepEqual(states(replayed.outputs), [], 'a replayed record changes no store');
    assert.deepEqual(replayed.alerts, []);

    // A restart: the stores restored, the records before the commit replayed, then the same live records
    // as the core that never stopped — the same alerts and changes.
    const before = [
      FIRST(),
      open('eve@contoso.com', 'ceo@contoso.com', 10),
      open('bob@contoso.com', 'cfo@contoso.com', 40),
    ];
    const after = [
      open('bob@contoso.com', 'cfo@contoso.com', 40.5),
      open('eve@contoso.com', 'ceo@contoso.com', 45),
      open('kim@contoso.com', 'cfo@contoso.com', 46),
    ];
    const learning = only();
    const through = run(learning, [...before, ...after]);
    const stopped = run(learning, before);
    const restore = restoring(stopped.outputs);
    const restarted = run(learning, [
      ...restore,
      ...before.map((r): CoreInput => ({ kind: 'record', record: r, replayed: true })),
    ]);
    assert.deepEqual(states(restarted.outputs), [], 'the replay changes nothing');
    const resumed = run(learning, [
      ...restore,
      ...before.map((r): CoreInput => ({ kind: 'record', record: r, replayed: true })),
      ...after,
    ]);
    assert.deepEqual(pairs(resumed.alerts), pairs(through.alerts.slice(stopped.alerts.length)));
    assert.deepEqual(states(resumed.outputs), states(through.outputs).slice(states(stopped.outputs).length));
  });

  it('takes its policy: severity high on executives, off for the helpdesk (not even remembered)', () => {
    const config = only(
      { learnFor: 0 },
      {
        policies: [
          {
            name: 'helpdesk',
            match: { actors: ['adm-*@contoso.com'] },
            rules: { firstAccess: { enabled: false } },
          },
          {
            name: 'executives',
            match: { mailboxes: ['ceo@contoso.com'] },
            rules: { firstAccess: { severity: 'high' } },
          },
        ],
      },
    );
    const { alerts, stats, outputs } = run(config, [
      open('eve@contoso.com', 'ceo@contoso.com', 1),
      open('eve@contoso.com', 'kim@contoso.com', 1),
      open('adm-joe@contoso.com', 'ceo@contoso.com', 1),
    ]);
    assert.deepEqual(
      alerts.map((a) => `${a.actor_user_id} ${a.mailbox_owner_upn} ${a.severity} ${a.policy}`),
      ['eve@contoso.com ceo@contoso.com high executives', 'eve@contoso.com kim@contoso.com low null'],
    );
    assert.equal(stats.allowListed, 0, 'a policy is no allow list: the access counts as non-owner');
    assert.deepEqual(
      states(outputs).flatMap((s) => (s.store === SEEN_STORE ? [s.key] : [])),
      ['mbx-ceo@contoso.com\neve@contoso.com', 'mbx-kim@contoso.com\neve@contoso.com'],
      "the helpdesk's pair is not remembered",
    );
  });

  it('gives the same outputs in the staged core, state changes and restores included', () => {
    const config = detection({ rules: { firstAccess: { learnFor: '1d' } } });
    const inputs: CoreInput[] = [
      { kind: 'restore', store: SEEN_STORE, key: 'mbx-cfo@contoso.com\nbob@contoso.com', value: START },
      ...[
        FIRST(),
        open('bob@contoso.com', 'cfo@contoso.com', 2),
        open('eve@contoso.com', 'ceo@contoso.com', 2),
      ].map((record): CoreInput => ({ kind: 'record', record })),
      { kind: 'watermark', time: START + 40 * DAY },
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
    assert.deepEqual(
      fused.flatMap((o) => (o.kind === 'alert' ? [`${o.alert.rule} ${o.alert.actor_user_id}`] : [])),
      ['first_access eve@contoso.com'],
    );
  });
});
