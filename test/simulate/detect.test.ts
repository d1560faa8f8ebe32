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
 * backup app allow-listed): every injected attack raises exactly its own alert, and the background —
 * owners, SYSTEM, Transport, assistants, helpdesk, partners, the apps and their history, re-deliveries —
 * raises none.
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
  assert.equal(
    new Set(alerts.map((a) => a.alert_id)).size,
    RULES.length * perRule,
    `${label}: exactly one alert (id) per attack`,
  );
  for (const alert of alerts) {
    const attack = manifest.attacks[alert.rule].find((a) => a.key.actor_user_id === alert.actor_user_id)!;
    assert.ok(
      alert.sample_record_ids.every((id) => attack.record_ids.includes(id)),
      'counted records are the attack’s',
    );
    if (alert.rule !== 'mailbox_sweep' && alert.rule !== 'app_mailbox_sweep')
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
});
