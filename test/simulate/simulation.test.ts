import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogonType, UserType, type ExchangeMailboxActivity } from '../../src/model/activity.js';
import { RULES } from '../../src/model/alert.js';
import { parseRecord } from '../../src/detect/parse-record.js';
import { toManagementApi } from '../../src/simulate/management-api.js';
import { Simulation, Tally, buildManifest, type SimulatedRecord } from '../../src/simulate/simulation.js';
import { BACKUP_APP_ID } from '../../src/simulate/tenant.js';

const START = Date.UTC(2026, 10, 25, 9, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The app behind an app-only record, by docs/detection.md: client_app_id, else app_id. */
const appOf = (r: ExchangeMailboxActivity) => r.client_app_id ?? r.app_id;

function run(options: Partial<ConstructorParameters<typeof Simulation>[0]> = {}) {
  const simulation = new Simulation({
    seed: 'unit',
    start: START,
    rate: 200,
    durationMs: 20 * MINUTE,
    attacks: 2,
    ...options,
  });
  const items = [...simulation];
  const tally = new Tally();
  for (const item of items) tally.add(item);
  return { simulation, items, manifest: buildManifest(simulation, tally, true) };
}

const domainOf = (upn: string | null) => upn?.slice(upn.indexOf('@') + 1).toLowerCase() ?? null;
const ORG = new Set(['contoso.com', 'contoso.co.uk']);

/** A record someone other than the owner made, by the design's rules (independent of the core's code). */
function nonOwner(r: ExchangeMailboxActivity): boolean {
  if (r.logon_type === LogonType.Transport || r.logon_type === LogonType.SystemService) return false;
  if (r.logon_user_sid === 'S-1-5-18' || r.user_id.toUpperCase().startsWith('NT AUTHORITY\\')) return false;
  return r.logon_user_sid !== r.mailbox_owner_sid;
}

/** The largest number of items in any interval of `windowMs` (times sorted). */
function maxWithin(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! > windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('Simulation', () => {
  it('is deterministic: the same seed and start give the same records, ids and manifest', () => {
    const a = run({ durationMs: MINUTE });
    const b = run({ durationMs: MINUTE });
    assert.equal(a.items.length, b.items.length);
    assert.deepEqual(a.items, b.items);
    assert.deepEqual(a.manifest, b.manifest);
    // Iterating the same simulation twice gives the same records too.
    assert.deepEqual([...a.simulation], a.items);
    const c = run({ durationMs: MINUTE, seed: 'other' });
    assert.notEqual(c.items[0]!.record.id, a.items[0]!.record.id);
  });

  it('with another start, shifts the times and keeps the ids', () => {
    const a = run({ durationMs: 2 * MINUTE });
    const b = run({ durationMs: 2 * MINUTE, start: START + 3_600_000 });
    assert.deepEqual(
      b.items.map((i) => i.record.id),
      a.items.map((i) => i.record.id),
    );
    assert.equal(b.items[10]!.record.creation_time - a.items[10]!.record.creation_time, 3_600_000);
  });

  it('writes --count distinct records, plus re-deliveries of earlier ones, in delivery order within the span', () => {
    const { simulation, items, manifest } = run({
      count: 30_000,
      durationMs: undefined,
      rate: 500,
      duplicates: 0.01,
    });
    const originals = items.filter((i) => !i.duplicate);
    const duplicates = items.filter((i) => i.duplicate);
    assert.equal(originals.length, 30_000);
    assert.equal(new Set(originals.map((i) => i.record.id)).size, 30_000, 'ids are unique');
    assert.ok(
      duplicates.length > 150 && duplicates.length < 450,
      `about 1% duplicates, got ${duplicates.length}`,
    );
    const seenAt = new Map(originals.map((i, n) => [i.record.id, n]));
    items.forEach((item, n) => {
      if (item.duplicate) {
        assert.ok(seenAt.get(item.record.id)! < n, 'a duplicate comes after its original');
        assert.ok(item.deliverAt >= item.record.creation_time);
      }
      if (n > 0) assert.ok(item.deliverAt >= items[n - 1]!.deliverAt, 'delivery order');
      // The apps' history comes first, dated before the start; the rest lies within the span.
      if (item.kind === 'history') assert.ok(item.record.creation_time < simulation.start, 'history');
      else
        assert.ok(
          item.record.creation_time >= simulation.start && item.record.creation_time < simulation.end,
          'within the span',
        );
    });
    assert.equal(simulation.spanMs, 60_000, '30,000 records at 500/s is a minute');
    assert.equal(manifest.totals.records, 30_000);
    assert.equal(manifest.totals.duplicates, duplicates.length);
    assert.equal(manifest.totals.messages, items.length);
  });

  it('makes the traffic the tenant lives on: owners mostly, SYSTEM and Transport noise, a little delegation', () => {
    const { manifest, items } = run({ durationMs: 30 * MINUTE, rate: 100 });
    const k = manifest.totals.by_kind;
    const total = manifest.totals.records;
    assert.ok(k.owner / total > 0.8, JSON.stringify(k));
    assert.ok(k.system / total > 0.03 && k.transport / total > 0.015, JSON.stringify(k));
    assert.ok(k.assistant > 0 && k.helpdesk > 0 && k.partner > 0, JSON.stringify(k));
    assert.ok(k.app > 0 && k.backup > 0 && k.history > 0, JSON.stringify(k));
    const backup = items.find((i) => i.kind === 'backup')!.record;
    assert.equal(backup.client_app_id, BACKUP_APP_ID);
    assert.equal(backup.mail_access_type, 'Sync');
    const system = items.find((i) => i.kind === 'system')!.record;
    assert.equal(system.logon_user_sid, 'S-1-5-18');
    assert.ok(system.user_id.startsWith('NT AUTHORITY\\SYSTEM'));
    assert.equal(system.logon_type, LogonType.SystemService);
    assert.equal(system.external_access, true);
    assert.equal(items.find((i) => i.kind === 'transport')!.record.logon_type, LogonType.Transport);
    const partner = items.find((i) => i.kind === 'partner')!.record;
    assert.equal(domainOf(partner.user_id), 'fabrikam.com');
    assert.equal(partner.external_access, true);
    // Client IPs in the audit log's shapes: IPv4 with or without port, IPv6 bare or [bracketed]:port.
    const shapes = new Set(
      items
        .slice(0, 5000)
        .map(({ record: { client_ip: ip } }) =>
          /^\d+\.\d+\.\d+\.\d+$/.test(ip)
            ? 'v4'
            : /^\d+\.\d+\.\d+\.\d+:\d+$/.test(ip)
              ? 'v4:port'
              : ip.startsWith('[')
                ? '[v6]:port'
                : 'v6',
        ),
    );
    assert.deepEqual([...shapes].sort(), ['[v6]:port', 'v4', 'v4:port', 'v6']);
    // Every record is valid for the core, in both shapes the tools write.
    for (const { record } of items.slice(0, 2000)) {
      assert.deepEqual(
        parseRecord(
          JSON.parse(
            JSON.stringify({ ...record, creation_time: new Date(record.creation_time).toISOString() }),
          ),
        ),
        record,
      );
      const api = parseRecord(JSON.parse(JSON.stringify(toManagementApi(record))));
      assert.equal(api.creation_time, Math.floor(record.creation_time / 1000) * 1000);
      assert.deepEqual({ ...api, creation_time: 0 }, { ...record, creation_time: 0 });
    }
  });

  it('shapes each attack to fire its own rule only', () => {
    const simulation = new Simulation({
      seed: 'unit',
      start: START,
      rate: 200,
      durationMs: 30 * MINUTE,
      attacks: 3,
    });
    const manifest = buildManifest(simulation, new Tally(), true);
    // Every rule, the app rules included (issue 14), has its attacks.
    for (const rule of RULES) assert.equal(manifest.attacks[rule].length, 3, rule);
    assert.equal(simulation.attacks.length, 21);
    const actors = new Set(simulation.attacks.map((a) => a.actorId.toLowerCase()));
    assert.equal(actors.size, 21, 'every attack has its own actor');
    const historyApps = new Set(simulation.history.map((h) => appOf(h.record)));
    const backgroundApps = new Set(simulation.tenant.apps.map((a) => a.app.id));
    for (const attack of simulation.attacks) {
      const times = attack.records.map((r) => r.creation_time);
      const span = Math.max(...times) - Math.min(...times);
      const owners = new Set(attack.records.map((r) => r.mailbox_guid));
      if (attack.app !== null) {
        // App-only reads: the owner's UserId and SID, LogonType 0, UserType Application, the app's ids.
        for (const r of attack.records) {
          assert.equal(r.user_type, UserType.Application);
          assert.equal(r.logon_type, LogonType.Owner);
          assert.equal(r.user_id, r.mailbox_owner_upn);
          assert.equal(r.logon_user_sid, r.mailbox_owner_sid);
          assert.equal(r.user_key, attack.app.id);
          assert.equal(appOf(r), attack.actorId);
          assert.equal(r.is_throttled, false);
          assert.ok(r.operation_count! < 100);
        }
        assert.equal(backgroundApps.has(attack.app.id), false, 'no background traffic of an attack app');
        const sync = attack.records.filter((r) => r.mail_access_type === 'Sync');
        if (attack.rule === 'app_mailbox_sweep') {
          assert.ok(owners.size >= 8 && owners.size <= 12, `${owners.size} mailboxes`);
          assert.ok(span <= 5 * MINUTE);
          assert.equal(sync.length, 0);
          assert.ok(historyApps.has(attack.app.id), 'a known app');
        } else if (attack.rule === 'bulk_mail_access') {
          assert.equal(owners.size, 1);
          assert.equal(sync.length, attack.records.length);
          const folders = new Set(attack.records.flatMap((r) => r.folder_paths!));
          assert.ok(folders.size >= 11 && folders.size <= 14, `${folders.size} folders`);
          assert.equal(new Set(attack.records.map((r) => r.session_id)).size, 1);
          assert.ok(span <= 10 * MINUTE);
          assert.ok(historyApps.has(attack.app.id), 'a known app');
        } else {
          assert.equal(attack.rule, 'first_app_access');
          assert.equal(owners.size, 1);
          assert.ok(simulation.tenant.executives.includes(attack.mailbox!));
          assert.equal(sync.length, 0);
          assert.equal(historyApps.has(attack.app.id), false, 'a new app');
        }
        continue;
      }
      const actor = attack.actor!;
      for (const r of attack.records) {
        assert.ok(nonOwner(r), 'non-owner');
        assert.equal(r.user_id, actor.upn);
      }
      if (attack.rule === 'non_owner_burst') {
        assert.ok(
          attack.records.length >= 25 && span <= 3 * MINUTE,
          `${attack.records.length} reads in ${span}ms`,
        );
        assert.equal(owners.size, 1);
        assert.ok(ORG.has(domainOf(actor.upn)!) && ORG.has(domainOf(attack.mailbox!.upn)!));
        assert.ok(attack.records.every((r) => r.external_access === false));
      } else if (attack.rule === 'first_access') {
        // A colleague who reads no one else's mail opens an executive's mailbox: once to three times.
        assert.ok(attack.records.length >= 1 && attack.records.length <= 3 && span <= 2 * MINUTE);
        assert.equal(owners.size, 1);
        assert.ok(simulation.tenant.executives.includes(attack.mailbox!));
        assert.ok(simulation.tenant.regular.includes(actor));
        assert.ok(ORG.has(domainOf(actor.upn)!) && attack.records.every((r) => r.external_access === false));
      } else if (attack.rule === 'cross_domain_burst') {
        assert.equal(attack.records.length, 8);
        assert.ok(span <= 5 * MINUTE);
        assert.equal(owners.size, 1);
        assert.equal(domainOf(actor.upn), 'fabrikam.com');
      } else {
        assert.equal(attack.rule, 'mailbox_sweep');
        assert.ok(owners.size >= 12 && owners.size <= 15, `${owners.size} mailboxes`);
        assert.ok(span <= 5 * MINUTE);
        const perMailbox = new Map<string | null, number>();
        for (const r of attack.records)
          perMailbox.set(r.mailbox_guid, (perMailbox.get(r.mailbox_guid) ?? 0) + 1);
        assert.ok([...perMailbox.values()].every((n) => n === 1 || n === 2));
        assert.ok(
          attack.records.every((r) => ORG.has(domainOf(r.mailbox_owner_upn)!) && r.external_access === false),
        );
      }
    }
  });

  it('starts with the history: each known app reads 14 days and 1 hour, and 1 day, before the start; each delegation 30 days and 1 hour, and 1 day', () => {
    const { simulation, items, manifest } = run({ durationMs: 5 * MINUTE });
    const known = [
      ...simulation.tenant.apps.map((a) => a.app.id),
      ...simulation.attacks
        .filter((a) => a.rule !== 'first_app_access' && a.app !== null)
        .map((a) => a.actorId),
    ];
    const delegations = [...simulation.tenant.assistants, ...simulation.tenant.partners].flatMap((d) =>
      d.mailboxes.map((owner) => `${d.actor.upn} ${owner.upn}`),
    );
    const history = items.slice(0, simulation.history.length);
    assert.ok(history.every((i) => i.kind === 'history' && !i.duplicate));
    assert.equal(history.length, 2 * known.length + 2 * delegations.length);
    assert.equal(manifest.totals.by_kind.history, history.length);
    const times = history.map((h) => h.record.creation_time);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'in event-time order',
    );
    assert.equal(times[0], START - 30 * DAY - HOUR, "first_access's learning starts here");
    const apps = history.filter((h) => h.record.user_type === UserType.Application);
    assert.equal(
      apps[0]!.record.creation_time,
      START - 14 * DAY - HOUR,
      "first_app_access's learning starts here",
    );
    for (const pair of delegations) {
      const reads = history.filter((h) => `${h.record.user_id} ${h.record.mailbox_owner_upn}` === pair);
      assert.equal(reads.length, 2, pair);
      assert.ok(nonOwner(reads[0]!.record));
      assert.ok(
        reads[0]!.record.creation_time < START - 30 * DAY && reads[1]!.record.creation_time >= START - DAY,
      );
    }
    for (const id of known) {
      const times = history.filter((h) => appOf(h.record) === id).map((h) => h.record.creation_time);
      assert.equal(times.length, 2, id);
      assert.ok(times[0]! < START - 14 * DAY && times[1]! >= START - DAY && times[1]! < START - DAY + MINUTE);
    }
    // The rest is the run itself.
    assert.ok(items.slice(history.length).every((i) => i.record.creation_time >= START));
  });

  it('keeps legitimate non-owner access far below every threshold, at low and high rates', () => {
    for (const [rate, minutes] of [
      [5, 120],
      [1000, 11],
    ] as const) {
      const { items } = run({ rate, durationMs: minutes * MINUTE, attacks: 0, duplicates: 0 });
      const pairs = new Map<string, number[]>();
      const actors = new Map<string, { time: number; mailbox: string }[]>();
      const crossPairs = new Map<string, number[]>();
      for (const { record: r } of items) {
        if (!nonOwner(r)) continue;
        const actor = r.user_id.toLowerCase();
        const pair = `${r.mailbox_guid}|${actor}`;
        pairs.set(pair, [...(pairs.get(pair) ?? []), r.creation_time]);
        actors.set(actor, [
          ...(actors.get(actor) ?? []),
          { time: r.creation_time, mailbox: r.mailbox_guid! },
        ]);
        const cross = r.external_access === true || !ORG.has(domainOf(actor)!);
        if (cross) crossPairs.set(pair, [...(crossPairs.get(pair) ?? []), r.creation_time]);
      }
      assert.ok(pairs.size > 10, `some delegation at rate ${rate}`);
      const worstPair = Math.max(...[...pairs.values()].map((t) => maxWithin(t, 5 * MINUTE)));
      assert.ok(worstPair <= 5, `rate ${rate}: a pair read ${worstPair} times within 5 min`);
      const worstCross = Math.max(0, ...[...crossPairs.values()].map((t) => maxWithin(t, 10 * MINUTE)));
      assert.ok(worstCross <= 2, `rate ${rate}: a cross-domain pair read ${worstCross} times within 10 min`);
      let worstSweep = 0;
      for (const accesses of actors.values()) {
        for (let i = 0; i < accesses.length; i++) {
          const within = new Set(
            accesses
              .filter((a) => a.time <= accesses[i]!.time && a.time >= accesses[i]!.time - 10 * MINUTE)
              .map((a) => a.mailbox),
          );
          worstSweep = Math.max(worstSweep, within.size);
        }
      }
      assert.ok(worstSweep <= 3, `rate ${rate}: an actor read ${worstSweep} mailboxes within 10 min`);
      // The line-of-business apps: Bind only, small counts, at most 3 mailboxes each, all known from the
      // history (the backup app is allow-listed).
      const lob = items.filter((i) => i.kind === 'app').map((i) => i.record);
      assert.ok(lob.length > 0, `some app traffic at rate ${rate}`);
      const known = new Set(items.filter((i) => i.kind === 'history').map((i) => appOf(i.record)));
      const mailboxesOf = new Map<string, Set<string | null>>();
      for (const r of lob) {
        assert.ok(r.mail_access_type === 'Bind' && r.operation_count! < 100 && r.is_throttled === false);
        assert.ok(known.has(appOf(r)), 'a known app');
        mailboxesOf.set(appOf(r)!, (mailboxesOf.get(appOf(r)!) ?? new Set()).add(r.mailbox_guid));
      }
      assert.ok(Math.max(...[...mailboxesOf.values()].map((m) => m.size)) <= 3);
    }
  });

  it('writes a manifest of the attacks: key, first/last event time, record count and ids', () => {
    const { simulation, items, manifest } = run({ durationMs: 10 * MINUTE });
    assert.equal(manifest.seed, 'unit');
    assert.equal(manifest.start, new Date(START).toISOString());
    assert.equal(manifest.complete, true);
    const byId = new Map<string, SimulatedRecord>(items.map((i) => [i.record.id, i]));
    let attackRecords = 0;
    for (const rule of RULES) {
      for (const entry of manifest.attacks[rule]) {
        assert.equal(entry.rule, rule);
        assert.equal(entry.record_ids.length, entry.record_count);
        attackRecords += entry.record_count;
        const records = entry.record_ids.map((id) => byId.get(id)!.record);
        // The actor: the person's UPN, or the app's id (an app-only record's user_id is the owner's).
        const actorOf = (r: ExchangeMailboxActivity) =>
          r.user_type === UserType.Application ? appOf(r)! : r.user_id;
        assert.ok(
          records.every((r) => actorOf(r).toLowerCase() === entry.key.actor_user_id),
          'the actor',
        );
        if (rule === 'mailbox_sweep' || rule === 'app_mailbox_sweep') {
          assert.equal(entry.key.mailbox_guid, null);
          assert.equal(entry.distinct_mailbox_count, new Set(records.map((r) => r.mailbox_guid)).size);
        } else {
          assert.ok(records.every((r) => r.mailbox_guid === entry.key.mailbox_guid));
          assert.equal(entry.key.mailbox_owner_upn, records[0]!.mailbox_owner_upn!.toLowerCase());
        }
        const times = records.map((r) => r.creation_time);
        assert.equal(entry.first_event_time, new Date(Math.min(...times)).toISOString());
        assert.equal(entry.last_event_time, new Date(Math.max(...times)).toISOString());
      }
    }
    assert.equal(manifest.totals.attack_records, attackRecords);
    assert.deepEqual(manifest.totals.attacks, {
      non_owner_burst: 2,
      cross_domain_burst: 2,
      mailbox_sweep: 2,
      app_mailbox_sweep: 2,
      bulk_mail_access: 2,
      first_app_access: 2,
      first_access: 2,
    });
    assert.equal(manifest.tenant.users, simulation.tenant.users.length);
  });

  it('refuses impossible plans with a reason', () => {
    assert.throws(
      () => new Simulation({ seed: 's', start: START, rate: 10, count: 20, attacks: 1 }),
      /cannot hold/,
    );
    assert.throws(() => new Simulation({ seed: 's', start: START, rate: 0, count: 20 }), /rate/);
    assert.throws(
      () => new Simulation({ seed: 's', start: START, rate: 1, count: 20, durationMs: 5 }),
      /exactly one/,
    );
    assert.throws(
      () => new Simulation({ seed: 's', start: START, rate: 10, count: 20, attacks: 0 }),
      /20 records cannot hold .* the \d+ of the history \(the apps' and the delegations'\)/,
    );
    assert.doesNotThrow(() => new Simulation({ seed: 's', start: START, rate: 10, count: 200, attacks: 0 }));
  });
});
