import type { OperatorFunction } from 'rxjs';
import type { MailboxAccessAlert } from '../model/alert.js';
import { buildAlert, episodeAlert } from './build-alert.js';
import { KeyedWindows, windowedEngineParts, type WindowState } from './keyed-windows.js';
import { ruleOperator, type RuleEngine } from './rule-operator.js';
import { lowerBound } from './sorted.js';
import type { Access, AccessFlow, RuleConfig, RuleOutput, RuleSettings } from './types.js';

/**
 * A sweep key's window state. `bound`, when set: every held record at or after `from` is a read of one of
 * `mailboxes`, fewer than the threshold — so a record of one of them whose windows all lie after `from`
 * cannot complete a sweep, and is held without a scan. Without it, an actor who reads a few mailboxes all
 * day (a delegate, a service) made every record scan its whole window: quadratic in its reads per window.
 * Set when a scan of an in-order record finds too few mailboxes; dropped when a record of another mailbox
 * is held or a sweep opens. Records leaving (expiry, episodes) keep it true.
 */
interface SweepState extends WindowState {
  bound: { from: number; mailboxes: Set<string> } | undefined;
}

/**
 * `mailbox_sweep`: one actor reads N distinct mailboxes as non-owner within T (default 10 within 10
 * minutes) — 15 reads of one mailbox are not a sweep. Keyed by actor only, so it can run on its own
 * behind an actor-keyed repartition; severity high, critical when external access was seen or the
 * window holds twice the threshold in records. Sliding windows and episodes as the burst rules.
 *
 * @example
 * accesses$.pipe(mailboxSweep({ enabled: true, threshold: 10, windowMs: 600_000 }))
 */
export function mailboxSweep(config: RuleConfig): OperatorFunction<AccessFlow, RuleOutput> {
  return ruleOperator(() => createSweepEngine(config));
}

/** The rule's state machine, for running it without the operator (the fused core in detect.ts). */
export function createSweepEngine(
  config: RuleSettings,
  rule: 'mailbox_sweep' | 'app_mailbox_sweep' = 'mailbox_sweep',
  /** `bound: false` scans every record (the tests hold the shortcut to that). */
  options: { bound?: boolean } = {},
): RuleEngine {
  const useBound = options.bound !== false;
  const apps = rule === 'app_mailbox_sweep'; // users' non-owner reads, or apps' reads
  const windowMs = config.windowMs;
  const threshold = config.threshold;
  const windows = new KeyedWindows<SweepState>(windowMs, (key) => ({
    key,
    records: [],
    episodes: [],
    due: Infinity,
    bound: undefined,
  }));
  let seen = new Set<string>(); // scratch for distinct counts
  const counts = new Map<string, number>(); // scratch for the out-of-order scan
  let alerts = 0;

  /**
   * The window [t − T, t] of a record that arrived in order, as [from, to), if it holds N mailboxes.
   * When it does not, the mailboxes it holds become the key's bound (see SweepState).
   */
  const windowEndingAt = (state: SweepState, time: number): [number, number] | null => {
    const records = state.records;
    const since = time - windowMs;
    let i = records.length - 1;
    let previous = '';
    for (; i >= 0; i--) {
      const access = records[i] as Access;
      if (access.time < since) break;
      if (access.mailbox === previous) continue; // runs of one mailbox are common
      previous = access.mailbox;
      seen.add(previous);
      if (seen.size >= threshold) break;
    }
    if (seen.size < threshold) {
      if (!useBound) {
        seen.clear();
        return null;
      }
      // Every held record from `since` on is of these mailboxes: the scratch set becomes the bound.
      state.bound = { from: since, mailboxes: seen };
      seen = new Set();
      return null;
    }
    seen.clear();
    return [lowerBound(records, since), records.length];
  };

  /** The window holding the record at `at` (out of order) with the most mailboxes, if it holds N. */
  const fullestAround = (records: readonly Access[], at: number, time: number): [number, number] | null => {
    let best = threshold - 1;
    let bestFrom = -1;
    let bestTo = -1;
    const first = lowerBound(records, time - windowMs);
    let end = first;
    for (let i = first; i <= at; i++) {
      const limit = (records[i] as Access).time + windowMs;
      while (end < records.length && (records[end] as Access).time <= limit) {
        const mailbox = (records[end] as Access).mailbox;
        counts.set(mailbox, (counts.get(mailbox) ?? 0) + 1);
        end++;
      }
      if (counts.size > best) {
        best = counts.size;
        bestFrom = i;
        bestTo = end;
      }
      const leaving = (records[i] as Access).mailbox;
      const left = (counts.get(leaving) as number) - 1;
      if (left === 0) counts.delete(leaving);
      else counts.set(leaving, left);
    }
    counts.clear();
    return bestFrom < 0 ? null : [bestFrom, bestTo];
  };

  return {
    add(access: Access): MailboxAccessAlert | null {
      if (access.app !== apps || access.owner) return null;
      const state = windows.get(access.actor);
      const records = state.records;
      const time = access.time;

      const at = windows.extendOrHold(state, access); // -1: inside an episode already alerted on
      if (at < 0) return null;
      const bound = state.bound;
      if (bound !== undefined) {
        if (!bound.mailboxes.has(access.mailbox)) state.bound = undefined;
        // Every window around this record lies after bound.from: fewer than N mailboxes there.
        else if (time - windowMs >= bound.from) return null;
      }
      if (records.length < threshold) return null; // fewer records than mailboxes needed

      // Held records exclude those absorbed into episodes, which no window around this record reaches.
      const range =
        at === records.length - 1 ? windowEndingAt(state, time) : fullestAround(records, at, time);
      if (range === null) return null;
      state.bound = undefined;

      const window = records.slice(range[0], range[1]);
      const alert = buildAlert(rule, config, state.key, window, thresholdTime(window, threshold));
      alerts++;
      windows.openEpisode(state, window, episodeAlert(alert, config));
      return alert;
    },

    ...windowedEngineParts(rule, windows, () => alerts),

    clear(): void {
      windows.clear();
      seen.clear();
      counts.clear();
    },
  };
}

/** The event time at which the window's distinct mailboxes reached the threshold. */
function thresholdTime(window: readonly Access[], threshold: number): number {
  const seen = new Set<string>();
  for (const access of window) {
    seen.add(access.mailbox);
    if (seen.size >= threshold) return access.time;
  }
  return (window[window.length - 1] as Access).time;
}
