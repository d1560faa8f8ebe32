import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSweepEngine } from '../../src/detect/mailbox-sweep.js';
import type { Access } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activity, at, onlyRule, run, shuffled } from './helpers.js';

const config = onlyRule('mailboxSweep', 10, '10m');

/** A read of mailbox number `n` (owner user<n>@contoso.com) by eve. */
function readOf(
  n: number,
  time: number,
  overrides: Partial<ExchangeMailboxActivity> = {},
): ExchangeMailboxActivity {
  return activity({
    creation_time: time,
    mailbox_guid: `mbx-${n}`,
    mailbox_owner_upn: `user${n}@contoso.com`,
    mailbox_owner_sid: `S-1-5-21-${1000 + n}`,
    ...overrides,
  });
}

/** Reads of mailboxes 1..count, one every `stepMs` from `start`. */
function sweep(
  count: number,
  start: number,
  stepMs: number,
  overrides: Partial<ExchangeMailboxActivity> = {},
) {
  return Array.from({ length: count }, (_, i) => readOf(i + 1, start + i * stepMs, overrides));
}

describe('mailbox_sweep', () => {
  it('fires when one actor reads ten distinct mailboxes within ten minutes', () => {
    const { alerts } = run(config, sweep(10, at('12:00:00'), 30_000));
    assert.equal(alerts.length, 1);
    const [alert] = alerts;
    assert.equal(alert?.rule, 'mailbox_sweep');
    assert.equal(alert?.severity, 'high');
    assert.equal(alert?.distinct_mailbox_count, 10);
    assert.equal(alert?.mailbox_guid, null);
    assert.equal(alert?.mailbox_owner_upn, null);
    assert.equal(alert?.actor_user_id, 'eve@contoso.com');
    assert.deepEqual(
      alert?.mailboxes,
      Array.from({ length: 10 }, (_, i) => `user${i + 1}@contoso.com`),
    );
    assert.equal(alert?.detected_at, at('12:04:30'));
  });

  it('counts distinct mailboxes: 15 reads of one mailbox are not a sweep', () => {
    const records = Array.from({ length: 15 }, (_, i) => readOf(1, at('12:00:00') + i * 1_000));
    const { alerts, stats } = run(config, records);
    assert.equal(alerts.length, 0);
    assert.equal(stats.nonOwner, 15);
  });

  it('does not fire for nine mailboxes, however often they are read', () => {
    const records = Array.from({ length: 90 }, (_, i) => readOf((i % 9) + 1, at('12:00:00') + i * 1_000));
    assert.equal(run(config, records).alerts.length, 0);
  });

  it('does not fire when the ten mailboxes are spread over more than ten minutes', () => {
    assert.equal(run(config, sweep(10, at('12:00:00'), 70_000)).alerts.length, 0); // 9 × 70 s = 10.5 min
  });

  it('fires when the reads arrive out of order', () => {
    const records = shuffled(sweep(10, at('12:00:00'), 60_000), 11);
    const { alerts } = run(config, records);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.first_seen, at('12:00:00'));
    assert.equal(alerts[0]?.last_seen, at('12:09:00'));
  });

  it('finds the window around an out-of-order read of a tenth mailbox', () => {
    const nine = sweep(9, at('12:00:00'), 60_000).map((r) => ({
      ...r,
      creation_time: r.creation_time + 60_000,
    }));
    const late = readOf(10, at('12:00:30'));
    const { alerts } = run(config, [...nine, late]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.first_seen, at('12:00:30'));
    assert.equal(alerts[0]?.detected_at, at('12:09:00'));
  });

  it('raises one alert for a sustained sweep and another after T of quiet', () => {
    const first = sweep(40, at('12:00:00'), 20_000); // 40 mailboxes over 13 minutes
    const second = sweep(12, at('13:00:00'), 5_000);
    const { alerts } = run(config, [...first, ...second]);
    assert.equal(alerts.length, 2);
  });

  it('is critical when the window holds twice the threshold in records', () => {
    // Nine mailboxes read three times each, then the tenth: 28 records ≥ 2 × 10.
    const records = [
      ...Array.from({ length: 27 }, (_, i) => readOf((i % 9) + 1, at('12:00:00') + i * 1_000)),
      readOf(10, at('12:01:00')),
    ];
    const { alerts } = run(config, records);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.event_count, 28);
    assert.equal(alerts[0]?.severity, 'critical');
  });

  it("does not count the actor's own mailbox, nor mailboxes the actor is an allowed delegate of", () => {
    const nine = sweep(9, at('12:00:00'), 10_000);
    const own = readOf(10, at('12:02:00'), {
      mailbox_owner_upn: 'eve@contoso.com',
      mailbox_owner_sid: 'S-1-5-21-200',
    });
    const delegate = readOf(11, at('12:02:00'));
    const withOwn = run(config, [...nine, own]);
    assert.equal(withOwn.alerts.length, 0);
    assert.equal(withOwn.stats.owner, 1);
    const allowed = onlyRule('mailboxSweep', 10, '10m', {
      allowlist: { delegates: { 'USER11@contoso.com': ['Eve@contoso.com'] } },
    });
    const withDelegate = run(allowed, [...nine, delegate]);
    assert.equal(withDelegate.alerts.length, 0);
    assert.equal(withDelegate.stats.allowListed, 1);
    // The same tenth read, not allow-listed, completes the sweep.
    assert.equal(run(config, [...nine, delegate]).alerts.length, 1);
  });
});

describe('mailbox_sweep: the bound (a key reading fewer than N mailboxes is not scanned again)', () => {
  it('a delegate who reads three mailboxes all day still sweeps when seven more follow', () => {
    const day = at('08:00:00');
    const delegate = Array.from({ length: 600 }, (_, i) => readOf((i % 3) + 1, day + i * 6_000));
    const last = day + 600 * 6_000;
    const more = Array.from({ length: 7 }, (_, i) => readOf(i + 4, last + (i + 1) * 20_000));
    const { alerts } = run(config, [...delegate, ...more]);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.distinct_mailbox_count, 10);
  });

  it('changes nothing: random streams give the same alert messages with and without it', () => {
    let seed = 12_345;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    for (let round = 0; round < 100; round++) {
      const accesses: Access[] = [];
      let time = at('09:00:00');
      for (let i = 0; i < 400; i++) {
        time += Math.floor(random() * 20_000);
        const actor = `actor${Math.floor(random() * 3)}@contoso.com`;
        // Mostly a few mailboxes per actor, now and then one of many others.
        const n = random() < 0.7 ? Math.floor(random() * 3) : 3 + Math.floor(random() * 12);
        // Some arrive late: up to five minutes behind.
        const jitter = random() < 0.3 ? -Math.floor(random() * 300_000) : 0;
        const record = readOf(n, time + jitter, { id: `r${round}-${i}`, user_id: actor });
        accesses.push({
          kind: 'access',
          record,
          id: record.id,
          time: record.creation_time,
          actor,
          actorDomain: 'contoso.com',
          mailbox: `mbx-${n}`,
          ownerUpn: `user${n}@contoso.com`,
          pairKey: `mbx-${n}|${actor}`,
          crossDomain: false,
          app: false,
          owner: false,
        });
      }
      const settings = { enabled: true, threshold: 2 + (round % 5), windowMs: 120_000 + round * 10_000 };
      const messages = (bound: boolean) => {
        const engine = createSweepEngine(settings, 'mailbox_sweep', { bound });
        const out: unknown[] = [];
        let watermark = Number.NEGATIVE_INFINITY;
        for (const access of accesses) {
          const alert = engine.add(access);
          if (alert) out.push(alert);
          watermark = Math.max(watermark, access.time - 300_000);
          engine.advance(watermark);
          out.push(...(engine.take?.() ?? []));
        }
        engine.advance(Number.POSITIVE_INFINITY);
        out.push(...(engine.take?.() ?? []));
        return out;
      };
      const scanned = messages(false);
      assert.ok(round > 0 || scanned.length > 0, 'the streams raise sweeps');
      assert.deepEqual(messages(true), scanned, `round ${round}`);
    }
  });
});
