import type { OperatorFunction } from 'rxjs';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import type { MailboxAccessAlert } from '../model/alert.js';
import { buildAlert, episodeAlert } from './build-alert.js';
import { KeyedWindows, type WindowState } from './keyed-windows.js';
import { normaliseClientIp } from './normalise.js';
import type { PolicyBook } from './policies.js';
import { ruleOperator, type RuleEngine } from './rule-operator.js';
import { lowerBound } from './sorted.js';
import { TimeHeap } from './time-heap.js';
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
 * are state changes for a changelog (BLIND_STORE), one entry per period (see `createBulkMailAccessEngine`).
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
  /** The longest window of the rules whose alerts are marked blind (see `advance`). */
  longestWindowMs = config.windowMs,
): BulkEngine {
  const windowMs = config.windowMs;
  const create = (key: string): WindowState => ({ key, records: [], episodes: [], due: Infinity });
  const single = new KeyedWindows<WindowState>(windowMs, create); // per mailbox: throttled, operation_count
  const sync = new KeyedWindows<WindowState>(windowMs, create); // per (mailbox, context): Sync folders
  // Per mailbox, the end of each throttle's blind period, ascending. Each period is kept on its own (a later
  // throttle does not replace an earlier one) and dropped only once the watermark *before* the current one
  // is past its end by a day and the longest window, so what an alert revision says does not depend on when
  // it was built (a close: when the watermark passed; test/detect/per-key.test.ts) — see `advance`.
  const blind = new Map<string, number[]>();
  const ends = new TimeHeap<string>();
  let previousWatermark = Number.NEGATIVE_INFINITY;
  let alerts = 0;

  const setBlind = (mailbox: string, until: number, announce: boolean): void => {
    let periods = blind.get(mailbox);
    if (periods === undefined) blind.set(mailbox, (periods = []));
    const at = upperBound(periods, until);
    if (periods[at - 1] === until) return; // this period is known already
    periods.splice(at, 0, until);
    ends.push(until, mailbox);
    if (announce)
      changes.push({ kind: 'state', store: BLIND_STORE, key: blindKey(mailbox, until), value: until });
  };

  const dropBlind = (mailbox: string, until: number | null, announce: boolean): void => {
    const periods = blind.get(mailbox);
    if (periods === undefined) return;
    const at = until === null ? -1 : periods.indexOf(until);
    if (until === null)
      periods.length = 0; // an entry of the store before periods were kept apart
    else if (at >= 0) periods.splice(at, 1);
    else return;
    if (periods.length === 0) blind.delete(mailbox);
    if (announce && until !== null)
      changes.push({ kind: 'state', store: BLIND_STORE, key: blindKey(mailbox, until), value: null });
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
        setBlind(access.mailbox, until, true);
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
      // The latest end among the periods [until − blindFor, until] that hold `time`.
      const periods = blind.get(mailbox);
      if (periods === undefined) return null;
      const until = periods[upperBound(periods, time + config.blindForMs) - 1];
      return until !== undefined && until >= time ? until : null;
    },

    advance(watermark: number): void {
      single.advance(watermark);
      sync.advance(watermark);
      // A revision built from now on has a detected_at no earlier than the previous watermark less the
      // longest window (an open or update: a record on time; a close: its episode was still open then), so
      // a period that ended a day and that window before it holds none of them.
      const past = previousWatermark - DAY_MS - longestWindowMs;
      previousWatermark = watermark;
      while (ends.peekTime() < past) {
        const until = ends.peekTime();
        dropBlind(ends.pop() as string, until, true);
      }
    },

    take(): MailboxAccessAlert[] {
      return [...single.take(), ...sync.take()];
    },

    restore(store: string, key: string, value: number | null): void {
      if (store !== BLIND_STORE) return;
      const cut = key.indexOf('\n');
      const mailbox = cut < 0 ? key : key.slice(0, cut);
      if (value !== null) setBlind(mailbox, value, false);
      else dropBlind(mailbox, cut < 0 ? null : Number(key.slice(cut + 1)), false);
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
      ends.clear();
      previousWatermark = Number.NEGATIVE_INFINITY;
    },
  };
}

const DAY_MS = 24 * 3_600_000;

/** A blind period's key in BLIND_STORE: the mailbox and the period's end. */
function blindKey(mailbox: string, until: number): string {
  return `${mailbox}\n${until}`;
}

/** The number of `sorted` (ascending) at or below `value`. */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
