import { LogonType, type ExchangeMailboxActivity } from '../model/activity.js';
import {
  DELEGATE_OPERATIONS,
  MAILBOX_FOLDERS,
  OWNER_OPERATIONS,
  accessRecord,
  appRecord,
  systemRecord,
  transportRecord,
} from './records.js';
import type { Random } from './random.js';
import type { Person, Tenant } from './tenant.js';

/**
 * The tenant's everyday traffic: owners in their own mail (the bulk), Exchange's SYSTEM and Transport
 * noise, and a little legitimate non-owner access — assistants in their executives' mailboxes, helpdesk
 * admins opening a mailbox (their admin accounts, which a policy exempts from first_access),
 * fabrikam.com partners in the mailboxes delegated to them (known to first_access from the history) — and a little app
 * traffic: the line-of-business apps reading their one to three mailboxes (Bind: fewer mailboxes than
 * app_mailbox_sweep counts, never a Sync or a large operation count, and known from the simulation's
 * history, so neither bulk_mail_access nor first_app_access), and the backup app synchronising every
 * mailbox in turn, which would sweep and download if it were not allow-listed (BACKUP_APP_ID).
 *
 * The legitimate non-owner access runs at fixed per-person rates in event time (independent of the
 * overall rate) and under hard caps, so it stays far below every rule's default threshold whatever
 * `--rate` is: a draw that would break a cap becomes an owner record instead.
 */

export type BackgroundKind =
  'owner' | 'system' | 'transport' | 'assistant' | 'helpdesk' | 'partner' | 'app' | 'backup';
export const BACKGROUND_KINDS = [
  'owner',
  'system',
  'transport',
  'assistant',
  'helpdesk',
  'partner',
  'app',
  'backup',
] as const;

const MINUTE = 60_000;

/**
 * Caps on legitimate non-owner access, in event time, for any interval of the given length. Compare the
 * defaults: non_owner_burst 20 within 5 min per (mailbox, actor), cross_domain_burst 5 within 10 min,
 * mailbox_sweep 10 distinct mailboxes within 10 min per actor.
 */
export const BENIGN_LIMITS = {
  /** Reads by one assistant of one executive's mailbox. */
  assistantPerPair: { max: 5, windowMs: 5 * MINUTE },
  /** Reads by one helpdesk admin of one mailbox. */
  helpdeskPerPair: { max: 3, windowMs: 5 * MINUTE },
  /** Distinct mailboxes one helpdesk admin opens. */
  helpdeskMailboxes: { max: 3, windowMs: 10 * MINUTE },
  /** Reads by one partner, all their mailboxes together. */
  partnerPerActor: { max: 2, windowMs: 10 * MINUTE },
} as const;

/** Mean time between legitimate non-owner reads per person or app (event time). */
const MEAN_GAP_MS = {
  assistant: 90_000,
  helpdesk: 120_000,
  partner: 10 * MINUTE,
  app: 5 * MINUTE,
  backup: 20_000,
} as const;

/** Shares of the traffic that scale with the rate. */
const SYSTEM_SHARE = 0.05;
const TRANSPORT_SHARE = 0.03;

export interface BackgroundRecord {
  kind: BackgroundKind;
  record: ExchangeMailboxActivity;
}

export class Background {
  private readonly assistantPairs: { actor: Person; owner: Person }[];
  private readonly share: {
    assistant: number;
    helpdesk: number;
    partner: number;
    app: number;
    backup: number;
  };
  /** The backup app's place in its round of the mailboxes, and its session for the current mailbox. */
  private backupAt = 0;
  private backupSession = '';
  private readonly perPair = new SlidingCounts();
  private readonly helpdeskMailboxes = new DistinctWithin();
  /** The mailbox each helpdesk admin has open (a ticket), and since when. */
  private readonly openTicket = new Map<string, { owner: Person; since: number }>();

  /** `rate`: background records per second of event time. */
  constructor(
    private readonly random: Random,
    private readonly tenant: Tenant,
    rate: number,
  ) {
    this.assistantPairs = tenant.assistants.flatMap((d) =>
      d.mailboxes.map((owner) => ({ actor: d.actor, owner })),
    );
    const perSecond = (people: number, gapMs: number) => Math.min(0.15, (people * 1000) / gapMs / rate);
    this.share = {
      assistant: perSecond(tenant.assistants.length, MEAN_GAP_MS.assistant),
      helpdesk: perSecond(tenant.helpdesk.length, MEAN_GAP_MS.helpdesk),
      partner: perSecond(tenant.partners.length, MEAN_GAP_MS.partner),
      app: perSecond(tenant.apps.length, MEAN_GAP_MS.app),
      backup: perSecond(1, MEAN_GAP_MS.backup),
    };
  }

  /** The background record for one slot of the timeline. */
  next(id: string, time: number): BackgroundRecord {
    const roll = this.random.next();
    let edge = SYSTEM_SHARE;
    if (roll < edge)
      return { kind: 'system', record: systemRecord(this.random, this.tenant, id, time, this.anyone()) };
    edge += TRANSPORT_SHARE;
    if (roll < edge) return this.transport(id, time);
    edge += this.share.assistant;
    if (roll < edge) return this.assistant(id, time) ?? this.owner(id, time);
    edge += this.share.helpdesk;
    if (roll < edge) return this.helpdesk(id, time) ?? this.owner(id, time);
    edge += this.share.partner;
    if (roll < edge) return this.partner(id, time) ?? this.owner(id, time);
    edge += this.share.app;
    if (roll < edge) return this.app(id, time);
    edge += this.share.backup;
    if (roll < edge) return this.backup(id, time);
    return this.owner(id, time);
  }

  private app(id: string, time: number): BackgroundRecord {
    const { app, mailboxes } = this.random.pick(this.tenant.apps);
    return {
      kind: 'app',
      record: appRecord(this.random, this.tenant, {
        id,
        time,
        app,
        owner: this.random.pick(mailboxes),
        accessType: 'Bind',
        folders: [this.random.pick(MAILBOX_FOLDERS)],
        operationCount: this.random.int(1, 5),
        sessionId: this.random.uuid(),
      }),
    };
  }

  private backup(id: string, time: number): BackgroundRecord {
    const users = this.tenant.users;
    // Three folders of a mailbox per record, then the next mailbox (a session of its own).
    if (this.backupAt % 3 === 0) this.backupSession = this.random.uuid();
    const owner = users[Math.floor(this.backupAt / 3) % users.length]!;
    const folders = MAILBOX_FOLDERS.slice((this.backupAt % 3) * 5, (this.backupAt % 3) * 5 + 5);
    this.backupAt++;
    return {
      kind: 'backup',
      record: appRecord(this.random, this.tenant, {
        id,
        time,
        app: this.tenant.backup,
        owner,
        accessType: 'Sync',
        folders,
        operationCount: this.random.int(1, 60),
        sessionId: this.backupSession,
      }),
    };
  }

  private anyone(): Person {
    return this.random.pick(this.tenant.users);
  }

  private owner(id: string, time: number): BackgroundRecord {
    const owner = this.anyone();
    // Now and then the log writes the user id in another case than the owner UPN.
    const actor = this.random.chance(0.05) ? { ...owner, upn: owner.upn.toLowerCase() } : owner;
    return {
      kind: 'owner',
      record: accessRecord(this.random, this.tenant, {
        id,
        time,
        actor,
        owner,
        operation: this.random.weighted(OWNER_OPERATIONS),
        logonType: LogonType.Owner,
        externalAccess: false,
      }),
    };
  }

  private transport(id: string, time: number): BackgroundRecord {
    const owner = this.anyone();
    let sender = this.anyone();
    if (sender === owner) sender = this.anyone();
    return { kind: 'transport', record: transportRecord(this.random, this.tenant, id, time, sender, owner) };
  }

  private assistant(id: string, time: number): BackgroundRecord | undefined {
    const { actor, owner } = this.random.pick(this.assistantPairs);
    const limit = BENIGN_LIMITS.assistantPerPair;
    const key = `a|${actor.upn}|${owner.upn}`;
    if (this.perPair.count(key, time, limit.windowMs) >= limit.max) return undefined;
    this.perPair.add(key, time);
    return { kind: 'assistant', record: this.delegate(id, time, actor, owner, LogonType.Delegated, false) };
  }

  private helpdesk(id: string, time: number): BackgroundRecord | undefined {
    const actor = this.random.pick(this.tenant.helpdesk);
    const ticket = this.openTicket.get(actor.upn);
    let owner: Person;
    if (ticket !== undefined && time - ticket.since < 3 * MINUTE && this.random.chance(0.6)) {
      owner = ticket.owner;
    } else {
      owner = this.anyone();
      if (owner.mailboxGuid === actor.mailboxGuid) return undefined; // the admin account's own person
      const limit = BENIGN_LIMITS.helpdeskMailboxes;
      const open = this.helpdeskMailboxes.distinct(actor.upn, time, limit.windowMs);
      if (!open.has(owner.upn) && open.size >= limit.max) return undefined;
      this.openTicket.set(actor.upn, { owner, since: time });
    }
    const limit = BENIGN_LIMITS.helpdeskPerPair;
    const key = `h|${actor.upn}|${owner.upn}`;
    if (this.perPair.count(key, time, limit.windowMs) >= limit.max) return undefined;
    this.perPair.add(key, time);
    this.helpdeskMailboxes.add(actor.upn, owner.upn, time);
    return { kind: 'helpdesk', record: this.delegate(id, time, actor, owner, LogonType.Admin, false) };
  }

  private partner(id: string, time: number): BackgroundRecord | undefined {
    const { actor, mailboxes } = this.random.pick(this.tenant.partners);
    const limit = BENIGN_LIMITS.partnerPerActor;
    const key = `p|${actor.upn}`;
    if (this.perPair.count(key, time, limit.windowMs) >= limit.max) return undefined;
    this.perPair.add(key, time);
    const owner = this.random.pick(mailboxes);
    return { kind: 'partner', record: this.delegate(id, time, actor, owner, LogonType.Delegated, true) };
  }

  private delegate(
    id: string,
    time: number,
    actor: Person,
    owner: Person,
    logonType: number,
    externalAccess: boolean,
  ): ExchangeMailboxActivity {
    return accessRecord(this.random, this.tenant, {
      id,
      time,
      actor,
      owner,
      operation: this.random.weighted(DELEGATE_OPERATIONS),
      logonType,
      externalAccess,
    });
  }
}

/** Event times per key, kept only as long as a window needs them (times arrive in order). */
class SlidingCounts {
  private readonly times = new Map<string, number[]>();

  /** Events of `key` in [now − windowMs, now]. */
  count(key: string, now: number, windowMs: number): number {
    const times = this.times.get(key);
    if (times === undefined) return 0;
    let drop = 0;
    while (drop < times.length && times[drop]! < now - windowMs) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length === 0) this.times.delete(key);
    return times.length;
  }

  add(key: string, time: number): void {
    const times = this.times.get(key);
    if (times === undefined) this.times.set(key, [time]);
    else times.push(time);
  }
}

/** Distinct mailboxes per actor seen in [now − windowMs, now]. */
class DistinctWithin {
  private readonly seen = new Map<string, Map<string, number>>();

  distinct(actor: string, now: number, windowMs: number): Set<string> {
    const mailboxes = this.seen.get(actor);
    if (mailboxes === undefined) return new Set();
    for (const [mailbox, last] of mailboxes) if (last < now - windowMs) mailboxes.delete(mailbox);
    return new Set(mailboxes.keys());
  }

  add(actor: string, mailbox: string, time: number): void {
    let mailboxes = this.seen.get(actor);
    if (mailboxes === undefined) this.seen.set(actor, (mailboxes = new Map()));
    mailboxes.set(mailbox, time);
  }
}
