import type { ExchangeMailboxActivity } from '../model/activity.js';
import type { RuleConfig } from '../config/types.js';
import type { MailboxAccessAlert, RuleName, Severity } from '../model/alert.js';

export type {
  BulkMailAccessConfig,
  DetectionConfig,
  FirstAccessConfig,
  FirstAppAccessConfig,
  PolicyConfig,
  RuleConfig,
} from '../config/types.js';

/**
 * A rule's settings as one engine applies them: its configuration, and what the policy deciding the
 * engine's keys changed — the base severity, and the policy's name for the alerts.
 */
export interface RuleSettings extends RuleConfig {
  readonly severity?: Severity | undefined;
  readonly policy?: string | undefined;
}
export type { RuleName } from '../model/alert.js';

/** What the detection core consumes. */
export type CoreInput =
  /**
   * Already parsed and validated. `replayed`: processed before a restart, its state changes already in the
   * stores the core was restored from (a restore's replay): never late (it was admitted then), and rules whose
   * whole state is in their stores skip it.
   */
  | { kind: 'record'; record: ExchangeMailboxActivity; replayed?: boolean }
  | ClassifiedInput
  | { kind: 'watermark'; time: number } // external watermark (event-time ms)
  | { kind: 'checkpoint'; id: number } // marker: answer with a checkpoint output
  | RestoreInput;

/**
 * A record classified before decoding (`run` classifies owner and system records on their Avro bytes,
 * src/kafka/raw-classify.ts): only its event time and class, which is all the core does with such a record
 * — the lateness check and the class's count — so counts and watermarks are as if the record had come in.
 */
export interface ClassifiedInput {
  kind: 'classified';
  /** Event time (creation_time), epoch ms. */
  time: number;
  class: 'owner' | 'system';
}

/**
 * A stored state entry fed back before any record (after a restart, from the changelog the `state` outputs
 * were written to): the core takes it as it was, alerting on nothing. `value` null: the key is gone.
 */
export interface RestoreInput {
  readonly kind: 'restore';
  readonly store: string;
  readonly key: string;
  readonly value: number | null;
}

/**
 * A change of a rule's state beyond its windows (e.g. when an app was last seen reading mail), for a
 * compacted changelog: emitted whenever a key's value changes; `value` null when the key is deleted or
 * expired. Feeding the changes back as `restore` inputs gives the same state.
 */
export interface StateChange {
  readonly kind: 'state';
  readonly store: string;
  readonly key: string;
  readonly value: number | null;
}

/** What the detection core produces. */
export type CoreOutput =
  | { kind: 'alert'; alert: MailboxAccessAlert }
  | { kind: 'checkpoint'; id: number; watermark: number; neededFrom: number; stats: CoreStats }
  | StateChange;

/**
 * Counters since the core started (monotonic), and the size of its state (gauges: openKeys, retainedRecords,
 * rememberedIds). Every record lands in exactly one of late, system, owner, unattributable, allowListed,
 * duplicates, nonOwner, app; crossDomain is the part of nonOwner that is also cross-domain.
 */
export interface CoreStats {
  records: number;
  duplicates: number;
  late: number;
  system: number;
  owner: number;
  allowListed: number;
  nonOwner: number;
  crossDomain: number;
  /** App accesses (user type Application or ServicePrincipal), counted apart from nonOwner. */
  app: number;
  /** Non-owner records with neither mailbox_guid nor mailbox_owner_upn: no mailbox to count them against. */
  unattributable: number;
  alerts: Record<RuleName, number>;
  /** Keys with window or episode state, summed over the rules. */
  openKeys: number;
  /** Records held in window state, summed over the rules (a record two rules hold counts twice). */
  retainedRecords: number;
  /** Record ids remembered to drop duplicates. */
  rememberedIds: number;
}

export function emptyStats(): CoreStats {
  return {
    records: 0,
    duplicates: 0,
    late: 0,
    system: 0,
    owner: 0,
    allowListed: 0,
    nonOwner: 0,
    crossDomain: 0,
    app: 0,
    unattributable: 0,
    alerts: {
      non_owner_burst: 0,
      cross_domain_burst: 0,
      mailbox_sweep: 0,
      app_mailbox_sweep: 0,
      bulk_mail_access: 0,
      first_app_access: 0,
      first_access: 0,
    },
    openKeys: 0,
    retainedRecords: 0,
    rememberedIds: 0,
  };
}

/** How one activity was classified (DESIGN.md "Detection contract"). */
export type AccessClass = 'system' | 'owner' | 'unattributable' | 'allow_listed' | 'non_owner';

/**
 * A non-owner (or app) access the rules count: the record with its normalised forms. Internal to the core; the
 * original record stays intact for the alert.
 */
export interface Access {
  readonly kind: 'access';
  readonly record: ExchangeMailboxActivity;
  readonly id: string;
  /** Event time, epoch ms (creation_time). */
  readonly time: number;
  /** The actor: user id lower-cased, or upper-cased when it is a SID. */
  readonly actor: string;
  /** Domain of the actor's UPN, lower case; null for a SID or another form. */
  readonly actorDomain: string | null;
  /** Mailbox key: mailbox_guid lower-cased, or the owner UPN when the GUID is missing. */
  readonly mailbox: string;
  /** Owner UPN, lower case. */
  readonly ownerUpn: string | null;
  /** `mailbox` + actor, the key of the per-mailbox rules. */
  readonly pairKey: string;
  readonly crossDomain: boolean;
  /**
   * An application's access (user type Application 5 or ServicePrincipal 6): `actor` is then the app id,
   * lower-cased (`client_app_id ?? app_id ?? user_key`). App accesses feed the app rules only.
   */
  readonly app: boolean;
  /**
   * The owner's own access, passed on only when it could count for bulk_mail_access (throttled, a large
   * operation_count, or a Sync from outside desktop Outlook); every other rule ignores it.
   */
  readonly owner: boolean;
}

/** Watermark progress inside the core. */
export interface WatermarkMark {
  readonly kind: 'watermark';
  readonly time: number;
}

/**
 * A checkpoint marker on its way through the stages; each stage adds what it knows (its counters, its
 * state's needs) before passing it on. `branches` counts the rule operators that have answered.
 */
export interface CheckpointMark {
  readonly kind: 'checkpoint';
  readonly id: number;
  watermark: number;
  neededFrom: number;
  stats: CoreStats;
  branches: number;
}

/** Input of the watermark stage's successors: records on time, watermarks, checkpoints. */
export type TimedFlow =
  Extract<CoreInput, { kind: 'record' }> | ClassifiedInput | WatermarkMark | CheckpointMark | RestoreInput;
/** Input of the rules. */
export type AccessFlow = Access | WatermarkMark | CheckpointMark | RestoreInput;
/** Output of a rule. */
export type RuleOutput = Extract<CoreOutput, { kind: 'alert' }> | CheckpointMark | StateChange;
