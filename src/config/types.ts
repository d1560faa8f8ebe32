import type { Severity } from '../model/alert.js';

/**
 * The validated, frozen configuration (see DESIGN.md "Configuration file"). Durations are already
 * milliseconds here: the file's `window: 5m` is `windowMs: 300000`, `allowedLateness: 2h` is
 * `allowedLatenessMs: 7200000`.
 */
export interface RuleConfig {
  readonly enabled: boolean;
  /** N: records (or distinct mailboxes, for the sweep) that make a burst. */
  readonly threshold: number;
  /** T: the sliding window, event time, milliseconds. */
  readonly windowMs: number;
}

/** bulk_mail_access: one record, or a Sync of many folders, that takes a mailbox's mail in bulk. */
export interface BulkMailAccessConfig {
  readonly enabled: boolean;
  /** A record whose operation_count is at least this fires. */
  readonly operationCount: number;
  /** This many distinct Sync folders within `windowMs` from one (mailbox, session or client IP) fire. */
  readonly syncFolders: number;
  readonly windowMs: number;
  /** How long a throttled mailbox is blind (its Bind reads unlogged), event time. */
  readonly blindForMs: number;
}

/** first_app_access: an app not seen reading mail within the lookback. */
export interface FirstAppAccessConfig {
  readonly enabled: boolean;
  readonly lookbackMs: number;
  /** From the first event time, apps are learned without alerting for this long. */
  readonly learnForMs: number;
}

/** first_access: a non-owner opens a mailbox they have not opened within the lookback. */
export interface FirstAccessConfig {
  readonly enabled: boolean;
  readonly lookbackMs: number;
  /** From the earliest event time, (mailbox, actor) pairs are learned without alerting for this long. */
  readonly learnForMs: number;
}

export interface RulesConfig {
  readonly nonOwnerBurst: RuleConfig;
  readonly crossDomainBurst: RuleConfig;
  readonly mailboxSweep: RuleConfig;
  /** Per app: distinct mailboxes read (the app-only sibling of mailboxSweep). */
  readonly appMailboxSweep: RuleConfig;
  readonly bulkMailAccess: BulkMailAccessConfig;
  readonly firstAppAccess: FirstAppAccessConfig;
  /** Per (mailbox, actor): a first access within the lookback. */
  readonly firstAccess: FirstAccessConfig;
}

export interface AllowlistConfig {
  /** Actors (UPN or SID) never alerted on. */
  readonly actors: readonly string[];
  /** Application ids never alerted on (matched case-insensitively against the app actor). */
  readonly apps: readonly string[];
  /** Owner UPN → actors allowed to read that owner's mailbox. */
  readonly delegates: Readonly<Record<string, readonly string[]>>;
}

/**
 * What a policy changes in one rule for the keys it matches. Windowed rules (the bursts, the sweeps) take
 * all four; the others `enabled` and `severity` only. `severity` replaces the rule's base severity (the
 * usual raises still apply on top); `enabled: false` turns the rule off for those keys.
 */
export interface RuleOverride {
  readonly enabled?: false;
  readonly threshold?: number;
  readonly windowMs?: number;
  readonly severity?: Severity;
}

/**
 * A policy (`detection.policies`, ordered, the first match wins): which keys it matches — mailboxes (their
 * owner UPNs or GUIDs; a file's lines are read into `mailboxes` at load) and/or actors (UPNs, SIDs, app
 * ids), exact or glob, both when both are given — and what it changes per rule.
 */
export interface PolicyConfig {
  readonly name: string;
  readonly match: {
    readonly mailboxes: readonly string[];
    readonly actors: readonly string[];
    /** Where some of `mailboxes` came from. */
    readonly mailboxFile?: string;
  };
  readonly rules: { readonly [R in keyof RulesConfig]?: RuleOverride };
}

export interface DetectionConfig {
  readonly allowedLatenessMs: number;
  /** Records dated more than this ahead of the wall clock are rejected (RECORD_FROM_FUTURE). */
  readonly maxClockSkewMs: number;
  /** Logon types treated as system access (default Transport 3, SystemService 4). */
  readonly ignoreLogonTypes: readonly number[];
  /** When false, system principals are classified like anyone else. */
  readonly ignoreSystem: boolean;
  /** Groups of domains that belong to one organization (e.g. contoso.com with contoso.co.uk). */
  readonly organizationDomains: readonly (readonly string[])[];
  readonly allowlist: AllowlistConfig;
  readonly rules: RulesConfig;
  readonly policies: readonly PolicyConfig[];
}

export interface KafkaSslConfig {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
}

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaSaslConfig {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  /** `false`, or TLS options (`ssl: true` in the file means TLS with the system CAs). */
  readonly ssl: false | KafkaSslConfig;
  readonly sasl: KafkaSaslConfig | null;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Consumer group session timeout: after a crash, how long until another member takes over. */
  readonly sessionTimeoutMs: number;
  /** Partitions and replication factor for the topics the tool creates. */
  readonly topicPartitions: number;
  readonly replicationFactor: number;
}

export interface RegistryConfig {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly retries: number;
  /** How long `run` stays paused for an unavailable or refusing registry before exit 1. */
  readonly maxOutageMs: number;
}

export interface AlertTopicsConfig {
  readonly nonOwnerBurst: string;
  readonly crossDomainBurst: string;
  readonly mailboxSweep: string;
  readonly appMailboxSweep: string;
  readonly bulkMailAccess: string;
  readonly firstAppAccess: string;
  readonly firstAccess: string;
}

export interface TopicsConfig {
  readonly activity: string;
  readonly deadLetter: string;
  readonly alerts: AlertTopicsConfig;
}

export interface HttpConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/** `mailbox-radar dashboard`. */
export interface DashboardConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** On open, alerts published within this many milliseconds before are shown. */
  readonly historyMs: number;
  /** The pipeline instances' /metrics URLs. */
  readonly metrics: readonly string[];
  readonly scrapeIntervalMs: number;
  /** Alerts kept in memory (the newest by detection time). */
  readonly maxAlerts: number;
  /** Basic auth, when both are set. */
  readonly username?: string;
  readonly password?: string;
}

export interface PipelineConfig {
  readonly maxInFlightRecords: number;
  readonly partitionIdleMs: number;
  readonly commitIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  /** Partitions of the repartition topic when `run` creates it; 0: as many as the activity topic. */
  readonly repartitionPartitions: number;
  /** Classify owner and system records on their Avro bytes, decoding only the others (default true). */
  readonly classifyRawBytes: boolean;
  /** Where the instance keeps what it needs across restarts on this host (its group member id). */
  readonly stateDir: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LogConfig {
  readonly level: LogLevel;
  /** auto: pretty when stderr is a terminal, JSON otherwise. */
  readonly format: LogFormat;
}

export interface Config {
  readonly detection: DetectionConfig;
  readonly kafka: KafkaConfig;
  readonly registry: RegistryConfig;
  readonly topics: TopicsConfig;
  readonly http: HttpConfig;
  readonly dashboard: DashboardConfig;
  readonly pipeline: PipelineConfig;
  readonly log: LogConfig;
}
