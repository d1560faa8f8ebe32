import { RULES, type RuleName } from '../model/alert.js';
import type { BacktestResult, SettingResult } from './runner.js';

/**
 * The backtest's numbers for stdout: a table for people (one row per setting: its values, alerts per
 * rule, the total, alerts per day), or one JSON document for programs.
 */

/** A grid key as people read it: `rules.nonOwnerBurst.threshold` → `nonOwnerBurst.threshold`. */
export function shortKey(key: string): string {
  return key.startsWith('rules.') ? key.slice('rules.'.length) : key;
}

/** The rules worth a column: those with an alert under any setting (the three user rules when none has). */
export function shownRules(result: BacktestResult): RuleName[] {
  const some = RULES.filter((rule) => result.settings.some((s) => s.alerts[rule] > 0));
  return some.length > 0 ? some : ['non_owner_burst', 'cross_domain_burst', 'mailbox_sweep'];
}

/** Alerts per day, readable: 2 decimals below 10, 1 below 100, none above. */
export function formatRate(perDay: number): string {
  return perDay.toFixed(perDay < 10 ? 2 : perDay < 100 ? 1 : 0);
}

export function settingsTable(keys: readonly string[], result: BacktestResult): string {
  const rules = shownRules(result);
  const header = ['#', ...keys.map(shortKey), ...rules, 'total', 'alerts/day'];
  const rows = result.settings.map((s) => [
    `${s.setting.index + 1}${s.setting.isDefault ? '*' : ''}`,
    ...keys.map((key) => s.setting.values[key] ?? ''),
    ...rules.map((rule) => String(s.alerts[rule])),
    String(s.total),
    formatRate(s.perDay),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  // Text columns (the values) to the left, numbers to the right.
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) =>
        i >= 1 && i <= keys.length ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
      )
      .join('  ')
      .trimEnd();
  return [
    line(header),
    ...rows.map(line),
    `* the configuration's own settings; alerts counted by alert_id over ${formatSpan(result)}`,
    '',
  ].join('\n');
}

function formatSpan(result: BacktestResult): string {
  if (result.firstEvent === null || result.lastEvent === null) return 'no records';
  const from = new Date(result.firstEvent).toISOString();
  const to = new Date(result.lastEvent).toISOString();
  return `${result.records.toLocaleString('en-US')} records, ${from} to ${to} (${result.days.toFixed(1)} days)`;
}

/** The machine-readable form: the same numbers, plus each day's count and the peak distribution. */
export function settingsJson(keys: readonly string[], result: BacktestResult, top = 20): unknown {
  return {
    records: result.records,
    firstEvent: result.firstEvent === null ? null : new Date(result.firstEvent).toISOString(),
    lastEvent: result.lastEvent === null ? null : new Date(result.lastEvent).toISOString(),
    days: result.days,
    grid: keys,
    settings: result.settings.map((s) => settingJson(s, result, top)),
  };
}

function settingJson(s: SettingResult, result: BacktestResult, top: number): unknown {
  return {
    index: s.setting.index,
    default: s.setting.isDefault,
    values: s.setting.values,
    alerts: s.alerts,
    total: s.total,
    alertsPerDay: s.perDay,
    daily: Object.fromEntries(result.dayList.map((day, i) => [day, s.daily[i] ?? 0])),
    peaks: Object.fromEntries(Object.entries(s.peaks).map(([rule, peaks]) => [rule, histogram(peaks)])),
    topActors: [...s.actors].slice(0, top).map(([actor, alerts]) => ({ actor, alerts })),
    topMailboxes: [...s.mailboxes].slice(0, top).map(([mailbox, alerts]) => ({ mailbox, alerts })),
    duplicates: s.stats.duplicates,
    late: s.stats.late,
  };
}

/** Sorted peaks → `{peak: keys}`. */
export function histogram(peaks: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const peak of peaks) out[peak] = (out[peak] ?? 0) + 1;
  return out;
}
