import { LogonType, type ExchangeMailboxActivity } from '../model/activity.js';
import type { RuleName } from '../model/alert.js';
import { MAILBOX_FOLDERS, accessRecord, appRecord } from './records.js';
import type { Random } from './random.js';
import { newApp, outsider, type App, type Person, type Tenant } from './tenant.js';

/**
 * The attacks `simulate` injects, one shape per rule, each built to fire its own rule and no other under
 * the default configuration (non_owner_burst 20 within 5 min, cross_domain_burst 5 within 10 min,
 * mailbox_sweep 10 distinct mailboxes within 10 min):
 *
 * - non_owner_burst: one internal actor reads one mailbox 25–32 times within 2.5 min (same organization,
 *   one mailbox: neither cross-domain nor a sweep);
 * - cross_domain_burst: one fabrikam.com actor reads one mailbox 8 times within 4 min (8 < 20: no
 *   non-owner burst; one mailbox: no sweep);
 * - mailbox_sweep: one internal actor reads 12–15 distinct mailboxes, 1–2 reads each, within 4 min (at
 *   most 2 reads per mailbox: no burst; same organization: not cross-domain).
 *
 * The app rules (app_mailbox_sweep more than 5 mailboxes within 10 min, bulk_mail_access 10 Sync folders
 * within 60 min, first_app_access an app not seen within 14 days), each an app-only access
 * (`appRecord`: UserType Application, LogonType 0, UserId the mailbox owner):
 *
 * - app_mailbox_sweep: an app the tenant knows (a compromised one: Midnight Blizzard abused an existing
 *   OAuth app) reads 8–12 distinct mailboxes over EWS, 1–2 Bind reads each, within 4 min (known: no
 *   first_app_access; Bind: no bulk_mail_access);
 * - bulk_mail_access: a known app synchronises 11–14 distinct folders of one mailbox in one session, 1–2
 *   folders a record, within 10 min (one mailbox: no app sweep);
 * - first_app_access: an app never seen before reads one executive's mailbox 2–4 times within 3 min
 *   (Storm-0558; one mailbox, Bind).
 *
 * And `first_access` (a user opens a mailbox not opened within 30 days, after the 30-day learning the
 * simulation's history covers): an internal user who reads no one else's mail opens one executive's
 * mailbox 1–3 times within 2 min (same organization, far below every threshold). Every other user attack
 * is a first access too — the burst's actor, the outsider, each mailbox of the sweep — and raises a
 * first_access alert beside its own; the comparison (compare.ts) expects those.
 *
 * The known apps are known from the simulation's history (simulation.ts): reads dated before the run.
 *
 * Every attack has its own actor, drawn from people who do nothing else but read their own mail (or an
 * app of its own), so no background record adds to an attack's counts and no two attacks share a key.
 * When the simulated span is shorter than an attack, the attack is squeezed into the span (it still
 * fires: the windows are upper bounds).
 */

export const ATTACK_SHAPES = {
  non_owner_burst: { reads: [25, 32], spanMs: 150_000 },
  cross_domain_burst: { reads: [8, 8], spanMs: 240_000 },
  mailbox_sweep: { mailboxes: [12, 15], readsPerMailbox: [1, 2], spanMs: 240_000 },
  app_mailbox_sweep: { mailboxes: [8, 12], readsPerMailbox: [1, 2], spanMs: 240_000 },
  bulk_mail_access: { folders: [11, 14], foldersPerRecord: [1, 2], spanMs: 600_000 },
  first_app_access: { reads: [2, 4], spanMs: 180_000 },
  first_access: { reads: [1, 3], spanMs: 120_000 },
} as const;

export interface Attack {
  rule: RuleName;
  /** The person acting (the user rules), or null. */
  actor: Person | null;
  /** The app acting (the app rules), or null. */
  app: App | null;
  /** The actor as the alert names it: the person's UPN, or the app's id. */
  actorId: string;
  /** The mailbox read (per-mailbox rules) or null (the sweeps). */
  mailbox: Person | null;
  mailboxes: readonly Person[];
  records: readonly ExchangeMailboxActivity[];
}

export interface AttackPlanOptions {
  /** Attacks per rule. */
  perRule: number;
  /** Offset of the timeline's first instant (epoch ms) and its length. */
  start: number;
  spanMs: number;
  /** Draws a record id (the simulation's id stream). */
  nextId: () => string;
}

/** Plans `perRule` attacks of each rule at random times within the span; records sorted by time. */
export function planAttacks(random: Random, tenant: Tenant, options: AttackPlanOptions): Attack[] {
  const { perRule } = options;
  if (perRule === 0) return [];
  if (3 * perRule > tenant.regular.length)
    throw new RangeError(
      `${perRule} attacks per rule need ${3 * perRule} attackers; the tenant has ${tenant.regular.length}`,
    );
  const insiders = random.sample(tenant.regular, 2 * perRule);
  // Drawn from a stream of their own, so the other attacks of a seed are what they were before this rule.
  const newcomers = random.fork('first-access');
  const taken = new Set(insiders);
  const readers = newcomers.sample(
    tenant.regular.filter((person) => !taken.has(person)),
    perRule,
  );
  const outsiders = new Set<string>();
  const attacks: Attack[] = [];
  for (let i = 0; i < perRule; i++) {
    attacks.push(nonOwnerBurst(random, tenant, options, insiders[2 * i]!));
    const actor = outsider(random, tenant, outsiders);
    outsiders.add(actor.upn.toLowerCase());
    attacks.push(crossDomainBurst(random, tenant, options, actor));
    attacks.push(mailboxSweep(random, tenant, options, insiders[2 * i + 1]!));
    attacks.push(appMailboxSweep(random, tenant, options));
    attacks.push(bulkMailAccess(random, tenant, options));
    attacks.push(firstAppAccess(random, tenant, options));
    attacks.push(firstAccess(newcomers, tenant, options, readers[i]!));
  }
  return attacks;
}

/** The apps of these attacks that the tenant knew before the run: all but the new ones of first_app_access. */
export function knownApps(attacks: readonly Attack[]): App[] {
  return attacks.flatMap((a) => (a.app !== null && a.rule !== 'first_app_access' ? [a.app] : []));
}

function nonOwnerBurst(random: Random, tenant: Tenant, options: AttackPlanOptions, actor: Person): Attack {
  return burstOnOneMailbox('non_owner_burst', random, tenant, options, actor, {
    operation: () => (random.chance(0.9) ? 'MailItemsAccessed' : 'MoveToDeletedItems'),
    externalAccess: false,
  });
}

function crossDomainBurst(random: Random, tenant: Tenant, options: AttackPlanOptions, actor: Person): Attack {
  return burstOnOneMailbox('cross_domain_burst', random, tenant, options, actor, {
    operation: () => 'MailItemsAccessed',
    externalAccess: true,
  });
}

/** One actor's delegated reads of one victim's mailbox, within the rule's span (its shape's reads). */
function burstOnOneMailbox(
  rule: 'non_owner_burst' | 'cross_domain_burst',
  random: Random,
  tenant: Tenant,
  options: AttackPlanOptions,
  actor: Person,
  reads: { operation: () => string; externalAccess: boolean },
): Attack {
  const shape: { reads: readonly [number, number]; spanMs: number } = ATTACK_SHAPES[rule];
  const mailbox = victim(random, tenant, actor);
  const times = timesWithin(random, options, shape.spanMs, random.int(...shape.reads));
  const records = times.map((time) =>
    accessRecord(random, tenant, {
      id: options.nextId(),
      time,
      actor,
      owner: mailbox,
      operation: reads.operation(),
      logonType: LogonType.Delegated,
      externalAccess: reads.externalAccess,
    }),
  );
  return { rule, actor, app: null, actorId: actor.upn, mailbox, mailboxes: [mailbox], records };
}

function mailboxSweep(random: Random, tenant: Tenant, options: AttackPlanOptions, actor: Person): Attack {
  const shape = ATTACK_SHAPES.mailbox_sweep;
  const candidates = tenant.users.filter((u) => u.upn !== actor.upn);
  const mailboxes = random.sample(candidates, random.int(...shape.mailboxes));
  const owners = mailboxes.flatMap((m) => (random.int(...shape.readsPerMailbox) === 2 ? [m, m] : [m]));
  // Readings in random order, so the second read of a mailbox may come much later than the first.
  const order = random.sample(owners, owners.length);
  const times = timesWithin(random, options, shape.spanMs, order.length);
  const records = times.map((time, i) =>
    accessRecord(random, tenant, {
      id: options.nextId(),
      time,
      actor,
      owner: order[i]!,
      operation: 'MailItemsAccessed',
      logonType: LogonType.Admin,
      externalAccess: false,
    }),
  );
  return { rule: 'mailbox_sweep', actor, app: null, actorId: actor.upn, mailbox: null, mailboxes, records };
}

function appMailboxSweep(random: Random, tenant: Tenant, options: AttackPlanOptions): Attack {
  const shape = ATTACK_SHAPES.app_mailbox_sweep;
  const app = newApp(random, 'Legacy Test App', 'ews');
  const mailboxes = random.sample(tenant.users, random.int(...shape.mailboxes));
  const owners = mailboxes.flatMap((m) => (random.int(...shape.readsPerMailbox) === 2 ? [m, m] : [m]));
  const order = random.sample(owners, owners.length);
  const times = timesWithin(random, options, shape.spanMs, order.length);
  const records = times.map((time, i) =>
    appRecord(random, tenant, {
      id: options.nextId(),
      time,
      app,
      owner: order[i]!,
      accessType: 'Bind',
      folders: [random.pick(MAILBOX_FOLDERS)],
      operationCount: random.int(1, 20),
      sessionId: random.uuid(),
    }),
  );
  return { rule: 'app_mailbox_sweep', actor: null, app, actorId: app.id, mailbox: null, mailboxes, records };
}

function bulkMailAccess(random: Random, tenant: Tenant, options: AttackPlanOptions): Attack {
  const shape = ATTACK_SHAPES.bulk_mail_access;
  const app = newApp(random, 'Mail Export Tool', random.chance(0.5) ? 'graph' : 'ews');
  const mailbox = random.pick(tenant.users);
  const folders = random.sample(MAILBOX_FOLDERS, random.int(...shape.folders));
  const batches: string[][] = [];
  for (let at = 0; at < folders.length;) {
    const size = random.int(...shape.foldersPerRecord);
    batches.push(folders.slice(at, at + size));
    at += size;
  }
  const sessionId = random.uuid();
  const times = timesWithin(random, options, shape.spanMs, batches.length);
  const records = times.map((time, i) =>
    appRecord(random, tenant, {
      id: options.nextId(),
      time,
      app,
      owner: mailbox,
      accessType: 'Sync',
      folders: batches[i]!,
      operationCount: random.int(1, 30),
      sessionId,
    }),
  );
  return {
    rule: 'bulk_mail_access',
    actor: null,
    app,
    actorId: app.id,
    mailbox,
    mailboxes: [mailbox],
    records,
  };
}

function firstAppAccess(random: Random, tenant: Tenant, options: AttackPlanOptions): Attack {
  const shape = ATTACK_SHAPES.first_app_access;
  const app = newApp(random, 'Unknown App', 'graph');
  const mailbox = random.pick(tenant.executives);
  const sessionId = random.uuid();
  const times = timesWithin(random, options, shape.spanMs, random.int(...shape.reads));
  const records = times.map((time) =>
    appRecord(random, tenant, {
      id: options.nextId(),
      time,
      app,
      owner: mailbox,
      accessType: 'Bind',
      folders: [random.pick(['\\Inbox', '\\Sent Items', '\\Inbox\\Board'])],
      operationCount: random.int(1, 10),
      sessionId,
    }),
  );
  return {
    rule: 'first_app_access',
    actor: null,
    app,
    actorId: app.id,
    mailbox,
    mailboxes: [mailbox],
    records,
  };
}

function firstAccess(random: Random, tenant: Tenant, options: AttackPlanOptions, actor: Person): Attack {
  const shape = ATTACK_SHAPES.first_access;
  const mailbox = random.pick(tenant.executives);
  const times = timesWithin(random, options, shape.spanMs, random.int(...shape.reads));
  const records = times.map((time) =>
    accessRecord(random, tenant, {
      id: random.uuid(), // its own stream (planAttacks)
      time,
      actor,
      owner: mailbox,
      operation: 'MailItemsAccessed',
      logonType: LogonType.Delegated,
      externalAccess: false,
    }),
  );
  return {
    rule: 'first_access',
    actor,
    app: null,
    actorId: actor.upn,
    mailbox,
    mailboxes: [mailbox],
    records,
  };
}

function victim(random: Random, tenant: Tenant, actor: Person): Person {
  for (;;) {
    const owner = random.chance(0.3) ? random.pick(tenant.executives) : random.pick(tenant.users);
    if (owner.upn !== actor.upn) return owner;
  }
}

/** `count` sorted event times within a stretch of `spanMs` (or the whole timeline, if shorter). */
function timesWithin(random: Random, options: AttackPlanOptions, spanMs: number, count: number): number[] {
  const length = Math.min(spanMs, Math.max(0, options.spanMs - 1));
  const begin = options.start + Math.floor(random.next() * (options.spanMs - length));
  const times = Array.from({ length: count }, () => begin + Math.floor(random.next() * (length + 1)));
  return times.sort((a, b) => a - b);
}
