import type { MailboxAccessAlert, RuleName } from '../model/alert.js';
import { buildAlert, episodeAlert } from './build-alert.js';
import { KeyedWindows, windowedEngineParts, type WindowState } from './keyed-windows.js';
import { lowerBound } from './sorted.js';
import type { Access, RuleSettings } from './types.js';
import type { RuleEngine } from './rule-operator.js';

/**
 * The engine behind the per-mailbox rules: per (mailbox, actor), the selected accesses in a sliding
 * event-time window; an alert when any interval of length T holds N of them, wherever it falls and in
 * whatever order they arrive. Records are kept sorted by event time; a new record is checked against
 * the windows that contain it (for a record that arrives in order, just [t − T, t]). Window bounds are
 * inclusive: records at 12:00:00 and 12:05:00 are within 5 minutes of each other.
 */
export function createBurstEngine(
  rule: RuleName,
  config: RuleSettings,
  select: (access: Access) => boolean,
): RuleEngine {
  const windowMs = config.windowMs;
  const threshold = config.threshold;
  const windows = new KeyedWindows<WindowState>(windowMs, (key) => ({
    key,
    records: [],
    episodes: [],
    due: Infinity,
  }));
  let alerts = 0;

  return {
    add(access: Access): MailboxAccessAlert | null {
      if (!select(access)) return null;
      const state = windows.get(access.pairKey);
      const records = state.records;
      const time = access.time;

      // Part of a burst already alerted on: the episode is extended, nothing new.
      const at = windows.extendOrHold(state, access);
      if (at < 0 || records.length < threshold) return null;

      let from = -1;
      let to = -1;
      if (at === records.length - 1) {
        // In order: the only window to look at ends here.
        const start = lowerBound(records, time - windowMs);
        if (records.length - start >= threshold) {
          from = start;
          to = records.length;
        }
      } else {
        // Out of order: every window [a, a + T] with a in [t − T, t]; the fullest one wins.
        let best = threshold - 1;
        let end = at + 1;
        for (let i = lowerBound(records, time - windowMs); i <= at; i++) {
          const limit = (records[i] as Access).time + windowMs;
          while (end < records.length && (records[end] as Access).time <= limit) end++;
          if (end - i > best) {
            best = end - i;
            from = i;
            to = end;
          }
        }
      }
      if (from < 0) return null;

      const window = records.slice(from, to);
      const alert = buildAlert(rule, config, state.key, window, (window[threshold - 1] as Access).time);
      alerts++;
      windows.openEpisode(state, window, episodeAlert(alert, config));
      return alert;
    },

    ...windowedEngineParts(rule, windows, () => alerts),

    clear(): void {
      windows.clear();
    },
  };
}
