import { LogonType, type ExchangeMailboxActivity } from '../model/activity.js';
import { RULES, type RuleName } from '../model/alert.js';
import { knownApps, planAttacks, type Attack } from './attacks.js';
import { BACKGROUND_KINDS, Background, type BackgroundKind } from './background.js';
import { MAILBOX_FOLDERS, accessRecord, appRecord } from './records.js';
import { Random } from './random.js';
import {
  ORGANIZATION_DOMAINS,
  PARTNER_DOMAIN,
  TENANT_DEFAULTS,
  buildTenant,
  type App,
  type Person,
  type Tenant,
} from './tenant.js';

/**
 * One simulated run: a tenant, its apps' history, a timeline of `count` records (or `rate` × duration)
 * with injected attacks, and re-deliveries of some records. Iterating it yields records in delivery
 * order; the record's creation_time is its place on the simulation clock (`start` + offset). Iterating
 * twice yields the same records: every draw comes from generators seeded from `seed`. Pure: no I/O, no
 * clock.
 *
 * **History.** first_app_access learns for 14 days (`learnFor`) from the first app access it sees, and
 * calls an app new when it was not seen within 14 days (`lookback`). A simulated run lasts minutes, so
 * without a past every app would fall in the learning period and the new app of a first_app_access
 * attack would never fire. Rather than a shorter learning period in every configuration that reads
 * simulated traffic (the demo's, the tests', a user's), the run starts with the tenant's history under the
 * default configuration: every app the tenant knows (its line-of-business apps and the compromised apps
 * of the other app attacks) reads one mailbox 14 days and 1 hour before `start` — learning starts there
 * and ends 1 hour before `start` — and again 1 day before `start`, so each is seen within the lookback
 * for any run shorter than 13 days. These records come first, dated in the past; the pacer delivers them
 * at once. The backup app needs no history: allow-listed, it never reaches the rules.
 *
 * first_access learns (mailbox, actor) pairs for 30 days from the earliest one it sees, and calls a pair new
 * when it was not seen within 30 days: so every delegation — each assistant in each of their executives'
 * mailboxes, each partner in each mailbox delegated to them — is read 30 days and 1 hour before `start`
 * (learning starts there and ends 1 hour before `start`) and again 1 day before. The helpdesk opens any
 * mailbox: no history covers that; a policy turns first_access off for its admin accounts
 * (`tenantDetectionSettings`). The history is in event-time order.
 */

export type RecordKind = BackgroundKind | 'history' | 'attack';
export const RECORD_KINDS = [...BACKGROUND_KINDS, 'history', 'attack'] as const;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The history's two reads per known app, before `start` (see above). */
export const HISTORY_OFFSETS_MS = [14 * DAY + HOUR, DAY] as const;
/** The history's two reads per delegation (assistant or partner, and mailbox), before `start`. */
export const DELEGATE_HISTORY_OFFSETS_MS = [30 * DAY + HOUR, DAY] as const;

export interface SimulationOptions {
  seed: string;
  /** Epoch ms of the timeline's first instant. */
  start: number;
  /** Records per second of simulated time. */
  rate: number;
  /** Distinct records in all (background + attacks); or give durationMs. */
  count?: number | undefined;
  durationMs?: number | undefined;
  /** Attacks per rule (default 1). */
  attacks?: number | undefined;
  users?: number | undefined;
  /** Share of records delivered twice (default 0.005). */
  duplicates?: number | undefined;
}

export interface SimulatedRecord {
  record: ExchangeMailboxActivity;
  kind: RecordKind;
  /** When the record is due on the simulation clock: creation_time, later for a re-delivery. */
  deliverAt: number;
  duplicate: boolean;
}

/** Re-deliveries come this long after the original (simulated time), within the timeline. */
const REDELIVERY_DELAY_MS = { min: 1_000, max: 60_000 };

export class Simulation implements Iterable<SimulatedRecord> {
  readonly seed: string;
  readonly start: number;
  readonly rate: number;
  readonly spanMs: number;
  /** Distinct records of the timeline (background + attacks), duplicates excluded. */
  readonly count: number;
  readonly tenant: Tenant;
  readonly attacks: readonly Attack[];
  readonly duplicateShare: number;
  /** The apps' history, before `start`: delivered first, never twice. */
  readonly history: readonly SimulatedRecord[];
  private readonly backgroundCount: number;
  private readonly attackRecords: readonly SimulatedRecord[];

  constructor(options: SimulationOptions) {
    const { seed, start, rate } = options;
    if (!(rate > 0) || !Number.isFinite(rate))
      throw new RangeError(`rate must be a positive number, got ${rate}`);
    if ((options.count === undefined) === (options.durationMs === undefined))
      throw new RangeError('give exactly one of count and durationMs');
    const perRule = options.attacks ?? 1;
    if (!Number.isInteger(perRule) || perRule < 0)
      throw new RangeError(`attacks must be a whole number ≥ 0, got ${perRule}`);
    this.duplicateShare = options.duplicates ?? 0.005;
    if (!(this.duplicateShare >= 0 && this.duplicateShare <= 0.5))
      throw new RangeError(`duplicates must be a share between 0 and 0.5, got ${this.duplicateShare}`);

    this.seed = seed;
    this.start = start;
    this.rate = rate;
    const count = options.count ?? Math.round((rate * options.durationMs!) / 1000);
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`the simulation needs at least one record, got ${count}`);
    this.count = count;
    this.spanMs = Math.max(1, options.durationMs ?? Math.ceil((count * 1000) / rate));

    const root = new Random(seed);
    this.tenant = buildTenant(root.fork('tenant'), { users: options.users ?? TENANT_DEFAULTS.users });
    const ids = root.fork('attack-ids');
    this.attacks = planAttacks(root.fork('attacks'), this.tenant, {
      perRule,
      start,
      spanMs: this.spanMs,
      nextId: () => ids.uuid(),
    });
    this.attackRecords = this.attacks
      .flatMap((a) => a.records)
      .map((record) => ({
        record,
        kind: 'attack' as const,
        deliverAt: record.creation_time,
        duplicate: false,
      }))
      .sort((a, b) => a.deliverAt - b.deliverAt);
    this.history = buildHistory(root.fork('history'), this.tenant, this.attacks, start);
    this.backgroundCount = count - this.attackRecords.length - this.history.length;
    if (this.backgroundCount < 0)
      throw new RangeError(
        `${count} records cannot hold the ${this.attackRecords.length} records of ${perRule} attack(s) per rule ` +
          `and the ${this.history.length} of the history (the apps' and the delegations'); ask for more records or fewer attacks`,
      );
  }

  get end(): number {
    return this.start + this.spanMs;
  }

  *[Symbol.iterator](): Iterator<SimulatedRecord> {
    const root = new Random(this.seed);
    const ids = root.fork('background-ids');
    const redelivery = root.fork('duplicates');
    const background = new Background(
      root.fork('background'),
      this.tenant,
      Math.max(this.backgroundCount, 1) / (this.spanMs / 1000),
    );
    // Pending re-deliveries, kept sorted by due time (a few hundred at most).
    const pending: SimulatedRecord[] = [];
    const last = this.end - 1;

    const deliver = function* (item: SimulatedRecord, share: number): Generator<SimulatedRecord> {
      while (pending.length > 0 && pending[0]!.deliverAt <= item.deliverAt) yield pending.shift()!;
      yield item;
      if (share > 0 && redelivery.chance(share)) {
        const due = Math.min(
          last,
          item.deliverAt + redelivery.int(REDELIVERY_DELAY_MS.min, REDELIVERY_DELAY_MS.max),
        );
        const copy: SimulatedRecord = { ...item, deliverAt: Math.max(due, item.deliverAt), duplicate: true };
        let at = pending.length;
        while (at > 0 && pending[at - 1]!.deliverAt > copy.deliverAt) at--;
        pending.splice(at, 0, copy);
      }
    };

    yield* this.history;
    let a = 0;
    for (let i = 0; i < this.backgroundCount; i++) {
      const time = this.start + Math.floor((i * this.spanMs) / this.backgroundCount);
      while (a < this.attackRecords.length && this.attackRecords[a]!.deliverAt < time)
        yield* deliver(this.attackRecords[a++]!, this.duplicateShare);
      const { kind, record } = background.next(ids.uuid(), time);
      yield* deliver({ record, kind, deliverAt: time, duplicate: false }, this.duplicateShare);
    }
    while (a < this.attackRecords.length) yield* deliver(this.attackRecords[a++]!, this.duplicateShare);
    yield* pending;
  }
}

/**
 * Two reads of one mailbox by every app the tenant knows, and two reads of each delegated mailbox by its
 * delegate, before `start` (see the class comment), in event-time order.
 */
function buildHistory(
  random: Random,
  tenant: Tenant,
  attacks: readonly Attack[],
  start: number,
): SimulatedRecord[] {
  const ids = random.fork('ids');
  const known: { app: App; mailbox: Person }[] = [
    ...tenant.apps.map(({ app, mailboxes }) => ({ app, mailbox: random.pick(mailboxes) })),
    ...knownApps(attacks).map((app) => ({ app, mailbox: random.pick(tenant.users) })),
  ];
  const apps = HISTORY_OFFSETS_MS.flatMap((offset) =>
    known.map(({ app, mailbox }, i) => {
      const record = appRecord(random, tenant, {
        id: ids.uuid(),
        time: start - offset + i * 1000,
        app,
        owner: mailbox,
        accessType: 'Bind',
        folders: [random.pick(MAILBOX_FOLDERS)],
        operationCount: random.int(1, 5),
        sessionId: random.uuid(),
      });
      return { record, kind: 'history' as const, deliverAt: record.creation_time, duplicate: false };
    }),
  );
  // Drawn from a stream of their own, so the apps' history of a seed is what it was before.
  const delegates = random.fork('delegates');
  const delegateIds = delegates.fork('ids');
  const delegations = [
    ...tenant.assistants.flatMap(({ actor, mailboxes }) =>
      mailboxes.map((owner) => ({ actor, owner, external: false })),
    ),
    ...tenant.partners.flatMap(({ actor, mailboxes }) =>
      mailboxes.map((owner) => ({ actor, owner, external: true })),
    ),
  ];
  const reads = DELEGATE_HISTORY_OFFSETS_MS.flatMap((offset) =>
    delegations.map(({ actor, owner, external }, i) => {
      const record = accessRecord(delegates, tenant, {
        id: delegateIds.uuid(),
        time: start - offset + i * 1000,
        actor,
        owner,
        operation: 'MailItemsAccessed',
        logonType: LogonType.Delegated,
        externalAccess: external,
      });
      return { record, kind: 'history' as const, deliverAt: record.creation_time, duplicate: false };
    }),
  );
  return [...reads, ...apps].sort((a, b) => a.deliverAt - b.deliverAt);
}

/** What a run injected, for comparing with the alerts it raised (written by `simulate --manifest`). */
export interface ManifestAttack {
  rule: RuleName;
  /**
   * As the alert will carry it: UPNs and app ids lower case; mailbox fields null for the sweeps
   * (mailbox_sweep, app_mailbox_sweep).
   */
  key: { mailbox_guid: string | null; mailbox_owner_upn: string | null; actor_user_id: string };
  first_event_time: string;
  last_event_time: string;
  record_count: number;
  distinct_mailbox_count: number;
  mailboxes: string[];
  record_ids: string[];
}

export interface Manifest {
  generator: 'mailbox-radar simulate';
  seed: string;
  start: string;
  end: string;
  rate: number;
  /** False when the run was stopped before every record was delivered. */
  complete: boolean;
  tenant: {
    organization_id: string;
    organization_name: string;
    users: number;
    organization_domains: string[];
    partner_domain: string;
  };
  attacks: Record<RuleName, ManifestAttack[]>;
  totals: {
    /** Distinct records delivered. */
    records: number;
    /** Re-deliveries of a record already delivered (same id). */
    duplicates: number;
    /** records + duplicates: the messages written. */
    messages: number;
    attack_records: number;
    by_kind: Record<RecordKind, number>;
    attacks: Record<RuleName, number>;
  };
}

/** Counts what was delivered, for the manifest's totals. */
export class Tally {
  records = 0;
  duplicates = 0;
  readonly byKind = Object.fromEntries(RECORD_KINDS.map((k) => [k, 0])) as Record<RecordKind, number>;

  add(item: SimulatedRecord): void {
    if (item.duplicate) {
      this.duplicates++;
      return;
    }
    this.records++;
    this.byKind[item.kind]++;
  }
}

export function buildManifest(simulation: Simulation, tally: Tally, complete: boolean): Manifest {
  const attacks = Object.fromEntries(RULES.map((rule) => [rule, [] as ManifestAttack[]])) as Record<
    RuleName,
    ManifestAttack[]
  >;
  for (const attack of simulation.attacks) {
    const times = attack.records.map((r) => r.creation_time);
    attacks[attack.rule].push({
      rule: attack.rule,
      key: {
        mailbox_guid: attack.mailbox?.mailboxGuid ?? null,
        mailbox_owner_upn: attack.mailbox?.upn.toLowerCase() ?? null,
        actor_user_id: attack.actorId.toLowerCase(),
      },
      first_event_time: new Date(Math.min(...times)).toISOString(),
      last_event_time: new Date(Math.max(...times)).toISOString(),
      record_count: attack.records.length,
      distinct_mailbox_count: attack.mailboxes.length,
      mailboxes: attack.mailboxes.map((m) => m.upn.toLowerCase()),
      record_ids: attack.records.map((r) => r.id),
    });
  }
  return {
    generator: 'mailbox-radar simulate',
    seed: simulation.seed,
    start: new Date(simulation.start).toISOString(),
    end: new Date(simulation.end).toISOString(),
    rate: simulation.rate,
    complete,
    tenant: {
      organization_id: simulation.tenant.organizationId,
      organization_name: simulation.tenant.organizationName,
      users: simulation.tenant.users.length,
      organization_domains: [...ORGANIZATION_DOMAINS],
      partner_domain: PARTNER_DOMAIN,
    },
    attacks,
    totals: {
      records: tally.records,
      duplicates: tally.duplicates,
      messages: tally.records + tally.duplicates,
      attack_records: tally.byKind.attack,
      by_kind: { ...tally.byKind },
      attacks: Object.fromEntries(RULES.map((rule) => [rule, attacks[rule].length])) as Record<
        RuleName,
        number
      >,
    },
  };
}
