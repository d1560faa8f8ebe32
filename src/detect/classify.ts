import { Observable, type OperatorFunction } from 'rxjs';
import { UserType, type ExchangeMailboxActivity } from '../model/activity.js';
import { bulkCandidate } from './bulk-mail-access.js';
import { domainOf, isSid, normaliseSid, normaliseUpn, normaliseUserId, sameText } from './normalise.js';
import type { Access, AccessClass, AccessFlow, CoreStats, DetectionConfig, TimedFlow } from './types.js';
import { StringPool } from './string-pool.js';

/**
 * Classification of one activity, as DESIGN.md "Detection contract" says, in this order:
 * 1. system — logon type in `ignoreLogonTypes`, logon SID S-1-5-18/19/20, or a user id that is one of
 *    those SIDs or starts with `NT AUTHORITY\` (skipped when `ignoreSystem` is false);
 * 1a. app — user type Application (5) or ServicePrincipal (6): an application's access, never the owner's
 *    (an app-only read logs the owner's user id and SID and logon type Owner). The actor is the app:
 *    `client_app_id ?? app_id ?? user_key`, lower-cased (through Microsoft Graph, app_id is Graph's and
 *    client_app_id the caller). Unattributable without a mailbox or an app id; allow-listed when the app is
 *    in `allowlist.apps`; the app rules count it, the user rules do not;
 * 2. owner — logon SID equals the owner SID or the owner's master account SID; when the SIDs to compare
 *    are missing: logon type Owner (0), or user id equal to the owner UPN;
 * 3. unattributable — no mailbox (neither GUID nor owner UPN) or no actor (neither user id nor logon SID);
 * 4. allow-listed — actor in `allowlist.actors` or in `allowlist.delegates[owner UPN]`;
 * 5. otherwise non-owner, cross-domain when the actor's and owner's domains are both known and not in
 *    one organization group, or when external_access is true.
 */
export type Classifier = (record: ExchangeMailboxActivity) => Access | Exclude<AccessClass, 'non_owner'>;

const SYSTEM_SIDS = ['S-1-5-18', 'S-1-5-19', 'S-1-5-20'];
const NT_AUTHORITY = 'NT AUTHORITY\\';

export function createClassifier(config: DetectionConfig): Classifier {
  const ignoreLogonTypes = config.ignoreSystem ? [...config.ignoreLogonTypes] : [];
  const ignoreSystem = config.ignoreSystem;
  const groupOf = new Map<string, number>();
  config.organizationDomains.forEach((group, index) => {
    for (const domain of group) groupOf.set(domain.trim().toLowerCase(), index);
  });
  const allowedActors = new Set(config.allowlist.actors.map((actor) => normaliseUserId(actor)));
  const allowedApps = new Set(config.allowlist.apps.map((app) => app.trim().toLowerCase()));
  const delegates = new Map<string, Set<string | null>>();
  for (const [owner, actors] of Object.entries(config.allowlist.delegates)) {
    const key = normaliseUpn(owner);
    if (key === null) continue;
    const set = delegates.get(key) ?? new Set();
    for (const actor of actors) set.add(normaliseUserId(actor));
    delegates.set(key, set);
  }

  const sameOrganization = (a: string, b: string): boolean => {
    if (a === b) return true;
    const group = groupOf.get(a);
    return group !== undefined && group === groupOf.get(b);
  };

  return (record) => {
    const logonSid = record.logon_user_sid;
    const userId = record.user_id;
    if (ignoreSystem) {
      if (record.logon_type !== null && ignoreLogonTypes.includes(record.logon_type)) return 'system';
      if (isSystemSid(logonSid) || isSystemSid(userId) || isNtAuthority(userId)) return 'system';
    }

    const userType = record.user_type;
    if (userType === UserType.Application || userType === UserType.ServicePrincipal) {
      return appAccess(record, allowedApps);
    }

    const ownerSid = record.mailbox_owner_sid;
    const masterSid = record.mailbox_owner_master_account_sid;
    if (present(logonSid) && (present(ownerSid) || present(masterSid))) {
      if (sameText(logonSid, ownerSid) || sameText(logonSid, masterSid)) return 'owner';
    } else if (record.logon_type === 0 || sameText(userId.trim(), record.mailbox_owner_upn?.trim())) {
      return 'owner';
    }

    const ownerUpn = normaliseUpn(record.mailbox_owner_upn);
    const mailbox = normaliseUpn(record.mailbox_guid) ?? ownerUpn; // = mailboxKey(record)
    const actor = normaliseUserId(userId) ?? normaliseSid(logonSid); // = actorKey(record)
    if (mailbox === null || actor === null) return 'unattributable';

    if (allowedActors.has(actor)) return 'allow_listed';
    if (ownerUpn !== null && delegates.get(ownerUpn)?.has(actor) === true) return 'allow_listed';

    const actorDomain = isSid(actor) ? null : domainOf(actor); // a SID has no domain
    const ownerDomain = domainOf(ownerUpn);
    const crossDomain =
      record.external_access === true ||
      (actorDomain !== null && ownerDomain !== null && !sameOrganization(actorDomain, ownerDomain));
    return {
      kind: 'access',
      record,
      id: record.id,
      time: record.creation_time,
      actor,
      actorDomain,
      mailbox,
      ownerUpn,
      pairKey: `${mailbox}\n${actor}`,
      crossDomain,
      app: false,
      owner: false,
    };
  };
}

/** An application's access (user type 5 or 6): keyed by the app, never the owner's. */
function appAccess(
  record: ExchangeMailboxActivity,
  allowedApps: ReadonlySet<string>,
): Access | Exclude<AccessClass, 'non_owner'> {
  const ownerUpn = normaliseUpn(record.mailbox_owner_upn);
  const mailbox = normaliseUpn(record.mailbox_guid) ?? ownerUpn; // = mailboxKey(record)
  const actor = appActor(record);
  if (mailbox === null || actor === null) return 'unattributable';
  if (allowedApps.has(actor)) return 'allow_listed';
  return {
    kind: 'access',
    record,
    id: record.id,
    time: record.creation_time,
    actor,
    actorDomain: null,
    mailbox,
    ownerUpn,
    pairKey: `${mailbox}\n${actor}`,
    crossDomain: record.external_access === true,
    app: true,
    owner: false,
  };
}

/**
 * The key of the mailbox a record is about, as every per-mailbox rule keys it: its GUID, else its owner's UPN
 * (normalised); null when it has neither.
 */
export function mailboxKey(record: ExchangeMailboxActivity): string | null {
  return normaliseUpn(record.mailbox_guid) ?? normaliseUpn(record.mailbox_owner_upn);
}

/**
 * The actor a non-owner access is keyed by behind the repartition topic (`Access.actor`): the app for an
 * application's access, else the user id (normalised), else the logon SID.
 */
export function actorKey(record: ExchangeMailboxActivity): string | null {
  const userType = record.user_type;
  if (userType === UserType.Application || userType === UserType.ServicePrincipal) return appActor(record);
  return normaliseUserId(record.user_id) ?? normaliseSid(record.logon_user_sid);
}

/** The app behind an access: `client_app_id ?? app_id ?? user_key`, blank counting as absent, lower case. */
export function appActor(record: ExchangeMailboxActivity): string | null {
  for (const id of [record.client_app_id, record.app_id, record.user_key]) {
    if (id !== null && id !== undefined) {
      const trimmed = id.trim();
      if (trimmed !== '') return trimmed.toLowerCase();
    }
  }
  return null;
}

function present(text: string | null): text is string {
  return text !== null && text.length > 0;
}

function isSystemSid(text: string | null): boolean {
  if (text === null || text.length < 8 || text.length > 10) return false;
  return sameText(text, SYSTEM_SIDS[0]) || sameText(text, SYSTEM_SIDS[1]) || sameText(text, SYSTEM_SIDS[2]);
}

function isNtAuthority(userId: string): boolean {
  return (
    userId.length > NT_AUTHORITY.length &&
    (userId.charCodeAt(0) | 0x20) === 110 /* n */ &&
    userId.slice(0, NT_AUTHORITY.length).toUpperCase() === NT_AUTHORITY
  );
}

/**
 * The owner's own access as an `Access` (`owner: true`), for the one rule that looks at owners
 * (bulk_mail_access); null when it has no mailbox key.
 */
export function ownerAccess(record: ExchangeMailboxActivity): Access | null {
  const ownerUpn = normaliseUpn(record.mailbox_owner_upn);
  const mailbox = normaliseUpn(record.mailbox_guid) ?? ownerUpn; // = mailboxKey(record)
  const actor = normaliseUserId(record.user_id) ?? normaliseSid(record.logon_user_sid) ?? ownerUpn;
  if (mailbox === null || actor === null) return null;
  return {
    kind: 'access',
    record,
    id: record.id,
    time: record.creation_time,
    actor,
    actorDomain: isSid(actor) ? null : domainOf(actor),
    mailbox,
    ownerUpn,
    pairKey: `${mailbox}\n${actor}`,
    crossDomain: false,
    app: false,
    owner: true,
  };
}

/**
 * Classifies each record: non-owner accesses go on as `Access`, the rest are counted and dropped.
 * Watermarks pass; checkpoints pass with this stage's counters written into them.
 *
 * @example
 * records$.pipe(watermark(lateness), classify(config.detection)) // → Access | WatermarkMark | CheckpointMark
 */
export function classify(config: DetectionConfig): OperatorFunction<TimedFlow, AccessFlow> {
  return (source) =>
    new Observable<AccessFlow>((subscriber) => {
      const tally = new ClassTally(createClassifier(config), ownerCandidates(config));
      return source.subscribe({
        next(flow) {
          if (flow.kind === 'record') {
            const access = tally.access(flow.record);
            if (access !== null) subscriber.next(access);
          } else if (flow.kind === 'classified') {
            tally.count(flow.class);
          } else {
            if (flow.kind === 'checkpoint') tally.report(flow.stats);
            subscriber.next(flow);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

/**
 * The classify stage's state, without the operator plumbing (the fused core in detect.ts drives it
 * directly): a classifier and the counts of the records it dropped.
 */
export class ClassTally {
  private system = 0;
  private owner = 0;
  private unattributable = 0;
  private allowListed = 0;
  /** One copy of the strings the accesses passed on repeat (they may be held for hours). */
  private readonly pool = new StringPool();

  constructor(
    private readonly classifier: Classifier,
    /** Owner records that still go on (as `owner: true` accesses), for bulk_mail_access. */
    private readonly ownerCandidate: ((record: ExchangeMailboxActivity) => boolean) | null = null,
  ) {}

  /**
   * The access the rules may count, or null when the record is counted here by its class and dropped. An
   * owner record the owner candidate predicate selects is counted as owner and goes on too.
   */
  access(record: ExchangeMailboxActivity): Access | null {
    const result = this.classifier(record);
    if (typeof result === 'object') return this.pool.take(result);
    if (result === 'owner') {
      this.owner++;
      if (this.ownerCandidate !== null && this.ownerCandidate(record)) {
        const access = ownerAccess(record);
        return access === null ? null : this.pool.take(access);
      }
    } else if (result === 'system') this.system++;
    else if (result === 'allow_listed') this.allowListed++;
    else this.unattributable++;
    return null;
  }

  /** Counts a record classified before decoding (its class decided, nothing to pass on). */
  count(kind: 'owner' | 'system'): void {
    if (kind === 'owner') this.owner++;
    else this.system++;
  }

  /** Writes the counts into checkpoint stats. */
  report(stats: CoreStats): void {
    stats.system = this.system;
    stats.owner = this.owner;
    stats.unattributable = this.unattributable;
    stats.allowListed = this.allowListed;
  }
}

/** The owner records bulk_mail_access looks at, when it is enabled. */
export function ownerCandidates(
  config: DetectionConfig,
): ((record: ExchangeMailboxActivity) => boolean) | null {
  const bulk = config.rules.bulkMailAccess;
  return bulk.enabled ? (record) => bulkCandidate(record, bulk, false) : null;
}
