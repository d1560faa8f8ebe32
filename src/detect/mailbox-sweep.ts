import type { OperatorFunction } from 'rxjs';
import type { MailboxAccessAlert } from '../model/alert.js';
import { buildAlert } from './build-alert.js';
import { absorb, findEpisode, openEpisode, type Episode } from './episode.js';
import { KeyedWindows, type WindowState } from './keyed-windows.js';
import { ruleOperator, type RuleEngine } from './rule-operator.js';
import { insertSorted, lowerBound } from './sorted.js';
import type { Access, AccessFlow, CheckpointMark, RuleConfig, RuleOutput } from './types.js';

interface SweepState extends WindowState {
  /** Mailbox → latest event time this actor accessed it (for the in-order check). */
  readonly latest: Map<string, number>;
  /** Latest event time counted for this actor, held or absorbed. */
  maxTime: number;
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

export function createSweepEngine(config: RuleConfig): RuleEngine {
  const windowMs = config.windowMs;
  const threshold = config.threshold;
  const windows = new KeyedWindows<SweepState>(
    windowMs,
    (key) => ({ key, records: [], episodes: [], due: Infinity, latest: new Map(), maxTime: -Infinity }),
    (state, horizon) => {
      for (const [mailbox, time] of state.latest) if (time < horizon) state.latest.delete(mailbox);
    },
  );
  const counts = new Map<string, number>(); // scratch for the out-of-order scan
  let alerts = 0;

  /** The fullest window holding the record at index `at` (out of order), as [from, to) or null. */
  const scanAround = (records: Access[], at: number, time: number): [number, number] | null => {
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
      const state = windows.get(access.actor);
      const records = state.records;
      const time = access.time;
      const previous = state.latest.get(access.mailbox);
      if (previous === undefined || time > previous) state.latest.set(access.mailbox, time);
      const inOrder = time >= state.maxTime;
      if (time > state.maxTime) state.maxTime = time;

      const inEpisode = findEpisode(state.episodes, time, windowMs);
      if (inEpisode >= 0) {
        const episode = state.episodes[inEpisode] as Episode;
        if (time < episode.start) episode.start = time;
        if (time > episode.end) episode.end = time;
        windows.retained -= absorb(state.episodes, episode, records, windowMs);
        windows.expireAfter(state, episode.end + windowMs);
        return null;
      }

      const at = insertSorted(records, access);
      windows.retained++;
      windows.expireAfter(state, time + windowMs);
      if (state.latest.size < threshold) return null;

      let range: [number, number] | null = null;
      if (inOrder) {
        // Distinct mailboxes with an access in [t − T, t]; absorbed and freed accesses are older than that.
        let distinct = 0;
        const since = time - windowMs;
        for (const latest of state.latest.values()) if (latest >= since && ++distinct >= threshold) break;
        if (distinct >= threshold) range = [lowerBound(records, since), records.length];
      } else {
        range = scanAround(records, at, time);
      }
      if (range === null) return null;

      const window = records.slice(range[0], range[1]);
      const alert = buildAlert('mailbox_sweep', config, state.key, window, thresholdTime(window, threshold));
      alerts++;
      const episode = openEpisode(
        state.episodes,
        (window[0] as Access).time,
        (window[window.length - 1] as Access).time,
      );
      windows.retained -= absorb(state.episodes, episode, records, windowMs);
      windows.expireAfter(state, episode.end + windowMs);
      return alert;
    },

    advance(watermark: number): void {
      windows.advance(watermark);
    },

    report(mark: CheckpointMark): void {
      mark.stats.alerts.mailbox_sweep = alerts;
      mark.stats.openKeys += windows.states.size;
      mark.stats.retainedRecords += windows.retained;
      mark.neededFrom = Math.min(mark.neededFrom, windows.neededFrom());
    },

    clear(): void {
      windows.clear();
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
