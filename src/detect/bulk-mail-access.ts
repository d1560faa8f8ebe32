import type { OperatorFunction } from 'rxjs';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import type { MailboxAccessAlert } from '../model/alert.js';
import { buildAlert, episodeAlert } from './build-alert.js';
import { KeyedWindows, type WindowState } from './keyed-windows.js';
import { normaliseClientIp } from './normalise.js';
import type { PolicyBook } from './policies.js';
import { ruleOperator, type RuleEngine } from './rule-operator.js';
import { lowerBound } from './sorted.js';
import type {
  Access,
  AccessFlow,
  BulkMailAccessConfig,
  CheckpointMark,
  RuleOutput,
  RuleSettings,
  StateChange,
} from './types.js';

/** The changelog store of blind mailboxes: key = mailbox key, value = blind until (event time, ms). */
export const BLIND_STORE = 'bulk-mail-access-blind';

/**
 * Desktop Outlook (Windows, Mac) talks MAPI to Exchange Online, and its audit records carry
 * `ClientInfoString` "Client=MSExchangeRPC" (Exchange's own name for that client type, shown as
 * "Outlook-MAPI" by Microsoft's calendar log tools). Outlook on the web says "Client=OWA", REST and Graph
 * clients "Client=REST", EWS clients "Client=WebServices". A missing ClientInfoString is not Outlook.
 */
const DESKTOP_OUTLOOK = /^\s*client=msexchangerpc/i;

export function isDesktopOutlook(record: ExchangeMailboxActivity): boolean {
  const info = record.client_info_string;
  return info !== null && DESKTOP_OUTLOOK.test(info);
}

function isSync(record: ExchangeMailboxActivity): boolean {
  const type = record.mail_access_type;
  return type !== null && type !== undefined && type.trim().toLowerCase() === 'sync';
}

/** A Sync of folders that counts: by an app, or by anything but desktop Outlook (whose normal work it is). */
function isBulkSync(record: ExchangeMailboxActivity, app: boolean): boolean {
  const paths = record.folder_paths;
  return (
    isSync(record) &&
    paths !== null &&
    paths !== undefined &&
    paths.length > 0 &&
    (app || !isDesktopOutlook(record))
  );
}

/** Whether a record could count for bulk_mail_access (`app`: it is an app's access). */
export function bulkCandidate(
  record: ExchangeMailboxActivity,
  config: BulkMailAccessConfig,
  app: boolean,
): boolean {
  if (record.is_throttled === true) return true;
  const count = record.operation_count;
  if (count !== null && count !== undefined && count >= config.operationCount) return true;
  return isBulkSync(record, app);
}

const NO_POLICY = {};

/** The bulk rule's engine, which also knows which mailboxes are blind. */
export interface BulkEngine extends RuleEngine {
  /** Until when `mailbox` (a mailbox key) is blind, if event time `time` falls in its blind period; else null. */
  blindUntil(mailbox: string, time: number): number | null;
}

/**
 * `bulk_mail_access`: a mailbox's mail taken in bulk —
 * - a throttled record (`is_throttled`: Exchange stopped auditing MailItemsAccessed for the mailbox after
 *   more than 1,000 records in 24 hours), or one record with `operation_count` ≥ 100 (Elastic's "M365
 *   Exchange Mailbox Items Accessed Excessively"), keyed by mailbox;
 * - or ≥ 10 distinct folders synchronised (`mail_access_type` Sync) within 60 minutes from one context
 *   (mailbox, session id, else client IP) that is an app or not desktop Outlook, keyed by that context.
 * One alert per episode (a gap longer than the window ends it). The owner's own records count too (a stolen
 * session reads as the owner). A throttled mailbox is blind for `blindForMs` (24 h) of event time: every
 * alert about it in that time carries `mailbox_blind_until` (detect.ts asks `blindUntil`); the blind periods
 * are state changes for a changelog (BLIND_STORE), kept per mailbox (not dropped by the watermark).
 *
 * @example
 * accesses$.pipe(bulkMailAccess(config.detection.rules.bulkMailAccess))
 */
export function bulkMailAccess(config: BulkMailAccessConfig): OperatorFunction<AccessFlow, RuleOutput> {
  return ruleOperator((changes) => createBulkMailAccessEngine(config, changes));
}

/**
 * `policies`: the policy of each access (its mailbox and actor) may turn the rule off for it — the access
 * still marks its mailbox blind, which is a fact about the mailbox's auditing — or set the alert's severity;
 * an alert takes the policy of the access that completed it.
 */
export function createBulkMailAccessEngine(
  config: BulkMailAccessConfig,
  changes: StateChange[],
  policies: PolicyBook | null = null,
): BulkEngine {
  const windowMs = config.windowMs;
  const create = (key: string): WindowState => ({ key, records: [], episodes: [], due: Infinity });
  const single = new KeyedWindows<WindowState>(windowMs, create); // per mailbox: throttled, operation_count
  const sync = new KeyedWindows<WindowState>(windowMs, create); // per (mailbox, context): Sync folders
  // One number per mailbox ever throttled, kept: dropping an entry once the watermark passed it made an
  // alert revision's mailbox_blind_until depend on how far other mailboxes had moved the watermark when it
  // was built (test/detect/per-key.test.ts). The tenant's mailboxes bound it (the store is compacted).
  const blind = new Map<string, number>();
  let alerts = 0;

  const setBlind = (mailbox: string, until: number, announce: boolean): void => {
    blind.set(mailbox, until);
    if (announce) changes.push({ kind: 'state', store: BLIND_STORE, key: mailbox, value: until });
  };

  const alertOn = (
    windows: KeyedWindows<WindowState>,
    state: WindowState,
    window: readonly Access[],
    threshold: number,
    detectedAt: number,
    reason: string,
    policy: { severity?: RuleSettings['severity']; policy?: string },
  ): MailboxAccessAlert => {
    const rule: RuleSettings = { enabled: true, threshold, windowMs, ...policy };
    const alert = buildAlert('bulk_mail_access', rule, state.key, window, detectedAt);
    alert.reason = reason;
    alerts++;
    windows.openEpisode(state, window, episodeAlert(alert, rule));
    return alert;
  };

  /** The first window [end − T, end] around the new record at `at` holding N distinct Sync folders. */
  const syncWindow = (
    state: WindowState,
    at: number,
    policy: { severity?: RuleSettings['severity']; policy?: string },
  ): MailboxAccessAlert | null => {
    const records = state.records;
    const time = (records[at] as Access).time;
    const wanted = config.syncFolders;
    for (let j = at; j < records.length && (records[j] as Access).time <= time + windowMs; j++) {
      const from = lowerBound(records, (records[j] as Access).time - windowMs);
      const folders = new Set<string>();
      let reachedAt = -1;
      for (let i = from; i <= j; i++) {
        for (const path of (records[i] as Access).record.folder_paths ?? []) folders.add(path);
        if (reachedAt < 0 && folders.size >= wanted) reachedAt = i;
      }
      if (reachedAt >= 0) {
        const window = records.slice(from, j + 1);
        const reason = `${folders.size} folders synchronised within ${windowMs / 60_000} min`;
        return alertOn(sync, state, window, wanted, (records[reachedAt] as Access).time, reason, policy);
      }
    }
    return null;
  };

  return {
    add(access: Access): MailboxAccessAlert | null {
      const record = access.record;
      if (!bulkCandidate(record, config, access.app)) return null;
      const throttled = record.is_throttled === true;
      if (throttled) {
        const until = access.time + config.blindForMs;
        if ((blind.get(access.mailbox) ?? -Infinity) < until) setBlind(access.mailbox, until, true);
      }
      const decided = policies?.policyOf('bulkMailAccess', access);
      const override = decided?.rules.bulkMailAccess;
      if (override?.enabled === false) return null;
      const policy =
        decided === undefined ? NO_POLICY : { severity: override?.severity, policy: decided.name };
      const count = record.operation_count ?? 0;
      if (throttled || count >= config.operationCount) {
        const state = single.get(access.mailbox);
        if (single.extendOrHold(state, access) >= 0) {
          return throttled
            ? alertOn(
                single,
                state,
                [access],
                1,
                access.time,
                'throttled: MailItemsAccessed auditing stopped',
                policy,
              )
            : alertOn(
                single,
                state,
                [access],
                config.operationCount,
                access.time,
                `operation_count ${count} ≥ ${config.operationCount} in one record`,
                policy,
              );
        }
      }
      if (!isBulkSync(record, access.app)) return null;
      const ip = normaliseClientIp(record.client_ip === '' ? record.client_ip_address : record.client_ip);
      const context = record.session_id?.trim() || ip;
      const state = sync.get(`${access.mailbox}\n${context}`);
      // Owner records skip the dedupe stage: a repeat delivery is dropped here.
      if (state.records.some((held) => held.id === access.id)) return null;
      const at = sync.extendOrHold(state, access);
      return at < 0 ? null : syncWindow(state, at, policy);
    },

    blindUntil(mailbox: string, time: number): number | null {
      const until = blind.get(mailbox);
      return until !== undefined && time <= until && time >= until - config.blindForMs ? until : null;
    },

    advance(watermark: number): void {
      single.advance(watermark);
      sync.advance(watermark);
    },

    take(): MailboxAccessAlert[] {
      return [...single.take(), ...sync.take()];
    },

    restore(store: string, key: string, value: number | null): void {
      if (store !== BLIND_STORE) return;
      if (value === null) blind.delete(key);
      else setBlind(key, value, false);
    },

    report(mark: CheckpointMark): void {
      mark.stats.alerts.bulk_mail_access = alerts;
      mark.stats.openKeys += single.states.size + sync.states.size;
      mark.stats.retainedRecords += single.retained + sync.retained;
      mark.neededFrom = Math.min(mark.neededFrom, single.neededFrom(), sync.neededFrom());
    },

    clear(): void {
      single.clear();
      sync.clear();
      blind.clear();
    },
  };
}
