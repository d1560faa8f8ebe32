import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RULES } from '../../src/model/alert.js';
import { allDetected, compareWithManifest } from '../../src/simulate/compare.js';
import { Simulation, Tally, buildManifest, type SimulationOptions } from '../../src/simulate/simulation.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { BACKUP_APP_ID } from '../../src/simulate/tenant.js';
import { alertsOf, tenantDetection } from './support.js';

/**
 * The simulation against the real detection core (default rules, the tenant's organization domains, its
 * backup app allow-listed, first_access off for its helpdesk): every injected attack raises exactly its own
 * alert — and the user attacks a first_access alert per mailbox they open, each a first access too — and
 * the background — owners, SYSTEM, Transport, assistants, helpdesk, partners, the apps and their history,
 * the delegations' history, re-deliveries — raises none.
 */
const START = Date.UTC(2026, 10, 25, 8, 0, 0);

async function check(options: Omit<SimulationOptions, 'start'>): Promise<void> {
  const simulation = new Simulation({ start: START, ...options });
  const items = [...simulation];
  const tally = new Tally();
  for (const item of items) tally.add(item);
  const manifest = buildManifest(simulation, tally, true);
  const alerts = await alertsOf(items.map((i) => i.record));

  const comparison = compareWithManifest(manifest, alerts);
  const label = `seed ${options.seed}`;
  assert.ok(
    allDetected(comparison),
    `${label}: missed ${JSON.stringify(RULES.map((r) => comparison[r].missed))}`,
  );
  for (const rule of RULES) {
    assert.deepEqual(comparison[rule].unexpected, [], `${label}: ${rule} alerts that match no attack`);
    assert.equal(comparison[rule].repeated, 0, `${label}: ${rule} fired twice for one attack`);
  }
  const perRule = options.attacks ?? 1;
  for (const rule of RULES)
    assert.equal(comparison[rule].injected, perRule, `${label}: ${rule} attacks injected`);
  // One first access per mailbox a user attack opens: the burst's, the outsider's, each of the sweep's.
  const opened = (['non_owner_burst', 'cross_domain_burst', 'mailbox_sweep'] as const).reduce(
    (n, rule) => n + manifest.attacks[rule].reduce((m, attack) => m + attack.mailboxes.length, 0),
    0,
  );
  assert.equal(comparison.first_access.companions, opened, `${label}: first_access beside the user attacks`);
  assert.equal(
    new Set(alerts.map((a) => a.alert_id)).size,
    RULES.length * perRule + opened,
    `${label}: exactly one alert (id) per attack, and per mailbox a user attack opened`,
  );
  for (const alert of alerts) {
    const attack =
      manifest.attacks[alert.rule].find((a) => a.key.actor_user_id === alert.actor_user_id) ??
      Object.values(manifest.attacks)
        .flat()
        .find((a) => a.key.actor_user_id === alert.actor_user_id)!;
    assert.ok(
      alert.sample_record_ids.every((id) => attack.record_ids.includes(id)),
      'counted records are the attack’s',
    );
    if (attack.rule !== alert.rule)
      assert.ok(attack.mailboxes.includes(alert.mailbox_owner_upn!), 'a mailbox the attack opened');
    else if (alert.rule !== 'mailbox_sweep' && alert.rule !== 'app_mailbox_sweep')
      assert.equal(alert.mailbox_guid, attack.key.mailbox_guid);
  }
}

describe('simulated traffic through the detection core', () => {
  for (const seed of ['one', 'two', 'three'])
    it(`seed ${seed}: 25 minutes at 150 records/s, 2 attacks per rule`, () =>
      check({ seed, rate: 150, durationMs: 25 * 60_000, attacks: 2, duplicates: 0.01 }));

  it('a long quiet run: 2 hours at 10 records/s', () =>
    check({ seed: 'quiet', rate: 10, durationMs: 2 * 3_600_000, attacks: 1 }));

  it('attacks squeezed into a short run: 3,000 records at 1,000/s, 3 per rule', () =>
    check({ seed: 'short', rate: 1000, count: 3000, attacks: 3, duplicates: 0.05 }));

  it('the backup app raises nothing only because it is allow-listed: without, it sweeps, downloads and is a new app', async () => {
    const simulation = new Simulation({
      seed: 'backup',
      start: START,
      rate: 50,
      durationMs: 30 * 60_000,
      attacks: 0,
    });
    const records = [...simulation].map((i) => i.record);
    assert.deepEqual(await alertsOf(records), []);
    const config = { ...tenantDetection(), allowlist: { ...tenantDetection().allowlist, apps: [] } };
    const rules = new Set((await alertsOf(records, config)).map((a) => `${a.rule} ${a.actor_user_id}`));
    assert.deepEqual([...rules].sort(), [
      `app_mailbox_sweep ${BACKUP_APP_ID}`,
      `bulk_mail_access ${BACKUP_APP_ID}`,
      `first_app_access ${BACKUP_APP_ID}`,
    ]);
  });

  it('without the apps’ history, the new app falls in the learning period and first_app_access misses it', async () => {
    const simulation = new Simulation({ seed: 'history', start: START, rate: 50, durationMs: 20 * 60_000 });
    const items = [...simulation];
    const rules = async (records: ExchangeMailboxActivity[]) =>
      (await alertsOf(records)).map((a) => a.rule).filter((rule) => rule === 'first_app_access');
    assert.deepEqual(await rules(items.map((i) => i.record)), ['first_app_access']);
    assert.deepEqual(await rules(items.filter((i) => i.kind !== 'history').map((i) => i.record)), []);
  });

  it('the helpdesk raises no first_access only because its policy turns it off: without, each ticket alerts', async () => {
    const simulation = new Simulation({
      seed: 'helpdesk',
      start: START,
      rate: 50,
      durationMs: 60 * 60_000,
      attacks: 0,
    });
    const records = [...simulation].map((i) => i.record);
    assert.deepEqual(await alertsOf(records), []);
    const alerts = await alertsOf(records, { ...tenantDetection(), policies: [] });
    assert.ok(alerts.length > 0, 'tickets opened mailboxes the helpdesk never opened');
    assert.ok(alerts.every((a) => a.rule === 'first_access' && a.actor_user_id.startsWith('adm-')));
    const helpdesk = new Set(simulation.tenant.helpdesk.map((h) => h.upn.toLowerCase()));
    assert.ok(alerts.every((a) => helpdesk.has(a.actor_user_id)));
  });

  it('without the delegations’ history, first_access is still learning and misses its attack', async () => {
    const simulation = new Simulation({ seed: 'delegates', start: START, rate: 50, durationMs: 20 * 60_000 });
    const items = [...simulation];
    const firstAccess = async (records: ExchangeMailboxActivity[]) =>
      (await alertsOf(records)).filter((a) => a.rule === 'first_access');
    const attack = simulation.attacks.find((a) => a.rule === 'first_access')!;
    assert.ok(
      (await firstAccess(items.map((i) => i.record))).some(
        (a) => a.actor_user_id === attack.actorId.toLowerCase(),
      ),
    );
    const withoutHistory = items.filter((i) => i.kind !== 'history' || i.record.user_type === 5);
    assert.deepEqual(await firstAccess(withoutHistory.map((i) => i.record)), []);
  });
});
