import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packageRoot } from '../cli/version.js';
import type { BacktestResult, SettingResult } from './runner.js';
import { formatRate, shortKey, shownRules } from './summary.js';

/**
 * The backtest's HTML report: one self-contained file that opens offline — uPlot's script and styles and
 * the page's own (web/backtest/) are inlined, the numbers embedded as JSON — with the settings table, a
 * chart of alerts per day for each setting, the distribution of peak counts per alert key for each rule,
 * and the actors and mailboxes behind the alerts.
 *
 * Names in audit records are attacker-controlled (a display name or user id may be markup): every value
 * reaches the HTML escaped, the embedded JSON has `<`, `>`, `&`, U+2028 and U+2029 escaped (so neither
 * `</script>` nor `<!--` can end or bend its script element), and the page script writes text only.
 */

export interface ReportInfo {
  /** The input files, as given. */
  inputs: readonly string[];
  /** When the report was made (read at the edge, by the CLI). */
  generatedAt: Date;
  keys: readonly string[];
  /** Rows per top-actor and top-mailbox table. */
  top?: number;
}

export function renderReport(result: BacktestResult, info: ReportInfo): string {
  const top = info.top ?? 15;
  const rules = shownRules(result);
  const data = {
    keys: info.keys.map(shortKey),
    rules,
    settings: result.settings.map((s) => ({ label: label(s, info.keys), isDefault: s.setting.isDefault })),
    days: result.dayList.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000),
    daily: result.settings.map((s) => s.daily),
    // The top names (of the loosest setting) and their alerts under each setting, for the bar charts.
    top: {
      actor: topCounts(result, (s) => s.actors, top),
      mailbox: topCounts(result, (s) => s.mailboxes, top),
    },
    peaks: Object.fromEntries(
      rules.flatMap((rule) => {
        const curve = survival(result.settings.map((s) => s.peaks[rule] ?? []));
        return curve === undefined ? [] : [[rule, curve]];
      }),
    ),
  };
  const assets = loadReportAssets();
  const span =
    result.firstEvent === null || result.lastEvent === null
      ? 'no records'
      : `${result.records.toLocaleString('en-US')} records from ${iso(result.firstEvent)} to ${iso(result.lastEvent)} (${result.days.toFixed(1)} days)`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mailbox-radar backtest</title>
<style>${styleText(assets.uplotCss)}</style>
<style>${styleText(assets.pageCss)}</style>
</head>
<body>
<header>
<h1>mailbox-radar backtest</h1>
<p class="meta">${escapeHtml(span)}; input ${info.inputs.map((input) => `<code>${escapeHtml(input)}</code>`).join(', ')}; made ${escapeHtml(info.generatedAt.toISOString())}</p>
</header>
<main>
<section>
<h2>Settings</h2>
${settingsTable(result, info.keys, rules)}
<p class="note">* the configuration's own settings. Alerts are counted by <code>alert_id</code> (an alert's open, update and closed revisions are one alert); alerts/day over the input's span of event time, one day at least.</p>
</section>
<section>
<h2>Alerts per day</h2>
<p class="note">Alerts opened on each UTC day (event time), one line per setting.</p>
<div id="daily-chart" class="chart"></div>
</section>
<section>
<h2>Peak counts per alert key</h2>
<p class="note">For the rules with a count threshold, each key that alerted (mailbox and actor; the actor for sweeps): the largest count any of its alerts reached — records in the episode, distinct mailboxes for sweeps. A point (x, y): y keys peaked at x or more, so a threshold of x would still catch about y keys.</p>
<div id="peak-charts">${
    Object.keys(data.peaks).length === 0
      ? '<p class="empty">No alert of a rule with a count threshold under any setting.</p>'
      : Object.keys(data.peaks)
          .map(
            (rule) =>
              `<figure><figcaption>${escapeHtml(rule)}</figcaption><div class="chart peak-chart" data-rule="${escapeHtml(rule)}"></div></figure>`,
          )
          .join('\n')
  }</div>
</section>
<section>
<h2>Top actors</h2>
<p class="note">Alerts per actor by rank under the setting that alerts most (the table names them); a bar per setting.</p>
<div class="chart top-chart" data-what="actor"></div>
${countsTable('actor', result, (s) => s.actors, top)}
</section>
<section>
<h2>Top mailboxes</h2>
<p class="note">Mailbox owner (or GUID) of the per-mailbox rules' alerts; sweeps span many mailboxes and are left out.</p>
<div class="chart top-chart" data-what="mailbox"></div>
${countsTable('mailbox', result, (s) => s.mailboxes, top)}
</section>
</main>
<script type="application/json" id="backtest-data">${jsonForScript(data)}</script>
<script>${scriptText(assets.uplotJs)}</script>
<script>${scriptText(assets.pageJs)}</script>
</body>
</html>
`;
}

/** A setting's name in the legend: `#2* nonOwnerBurst.threshold=20 mailboxSweep.window=10m`. */
function label(s: SettingResult, keys: readonly string[]): string {
  const values = keys.map((key) => `${shortKey(key)}=${s.setting.values[key] ?? ''}`).join(' ');
  return `#${s.setting.index + 1}${s.setting.isDefault ? '*' : ''}${values === '' ? ' (configured)' : ` ${values}`}`;
}

function settingsTable(result: BacktestResult, keys: readonly string[], rules: readonly string[]): string {
  const head = ['#', ...keys.map(shortKey), ...rules, 'total', 'alerts/day']
    .map((h) => `<th>${escapeHtml(h)}</th>`)
    .join('');
  const rows = result.settings.map((s) => {
    const cells = [
      `<td>${s.setting.index + 1}${s.setting.isDefault ? '*' : ''}</td>`,
      ...keys.map((key) => `<td class="value">${escapeHtml(s.setting.values[key] ?? '')}</td>`),
      ...rules.map((rule) => `<td class="num">${s.alerts[rule as keyof typeof s.alerts]}</td>`),
      `<td class="num">${s.total}</td>`,
      `<td class="num">${formatRate(s.perDay)}</td>`,
    ];
    return `<tr${s.setting.isDefault ? ' class="default"' : ''}>${cells.join('')}</tr>`;
  });
  return `<table id="settings"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/**
 * The names with the most alerts under the setting that alerts most (the loosest), and their alerts under
 * every setting: who drops out as a threshold tightens.
 */
function countsTable(
  what: string,
  result: BacktestResult,
  counts: (s: SettingResult) => Map<string, number>,
  top: number,
): string {
  const { names } = topCounts(result, counts, top);
  if (names.length === 0) return `<p class="empty">No ${what} behind any alert.</p>`;
  const head = [
    'rank',
    what,
    ...result.settings.map((s) => `#${s.setting.index + 1}${s.setting.isDefault ? '*' : ''}`),
  ]
    .map((h) => `<th>${escapeHtml(h)}</th>`)
    .join('');
  const rows = names.map(
    (name, i) =>
      `<tr><td class="num">${i + 1}</td><td class="name">${escapeHtml(name)}</td>${result.settings
        .map((s) => `<td class="num">${counts(s).get(name) ?? 0}</td>`)
        .join('')}</tr>`,
  );
  return `<table class="top" data-what="${escapeHtml(what)}"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/** The names with the most alerts under the loosest setting, and their alerts under each setting. */
function topCounts(
  result: BacktestResult,
  counts: (s: SettingResult) => Map<string, number>,
  top: number,
): { names: string[]; counts: number[][] } {
  const loosest = [...result.settings].sort((a, b) => b.total - a.total)[0];
  const names = loosest === undefined ? [] : [...counts(loosest).keys()].slice(0, top);
  return {
    names,
    counts: result.settings.map((s) => names.map((name) => counts(s).get(name) ?? 0)),
  };
}

/**
 * Peaks per setting → one x axis of 0 and the distinct peak values and, per setting, how many keys peaked
 * at each x or more. Undefined when no setting has a key.
 */
export function survival(
  perSetting: readonly (readonly number[])[],
): { x: number[]; y: number[][] } | undefined {
  const peaks = [...new Set(perSetting.flat())].sort((a, b) => a - b);
  if (peaks.length === 0) return undefined;
  // From 0, where every key is counted, so that a step is drawn even for one peak value.
  const x = peaks[0] === 0 ? peaks : [0, ...peaks];
  const y = perSetting.map((peaks) => {
    // peaks is ascending: walk it once.
    const out: number[] = [];
    let below = 0;
    for (const value of x) {
      while (below < peaks.length && (peaks[below] as number) < value) below++;
      out.push(peaks.length - below);
    }
    return out;
  });
  return { x, y };
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

/**
 * JSON to embed in a `<script type="application/json">`: `<`, `>` and `&` as \u escapes, so no
 * `</script>` or `<!--` can appear, and U+2028/U+2029 escaped too (JSON allows them raw; old script
 * parsers end a line there). JSON.parse reads the escapes back to the same characters.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Inlined code must not end its element early; `<\/script` means the same in a JS string or regex. */
function scriptText(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1');
}

function styleText(css: string): string {
  return css.replace(/<\/(style)/gi, '<\\/$1');
}

function iso(time: number): string {
  return new Date(time).toISOString();
}

interface ReportAssets {
  uplotJs: string;
  uplotCss: string;
  pageJs: string;
  pageCss: string;
}

let cached: ReportAssets | undefined;

/** uPlot's browser build from node_modules and the page's files from web/backtest/ (in the package). */
function loadReportAssets(): ReportAssets {
  if (cached !== undefined) return cached;
  const root = packageRoot();
  if (root === undefined) throw new Error('mailbox-radar: cannot find the package folder (web/backtest/)');
  const require = createRequire(import.meta.url);
  cached = {
    uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    pageJs: readFileSync(new URL('web/backtest/report.js', root), 'utf8'),
    pageCss: readFileSync(new URL('web/backtest/report.css', root), 'utf8'),
  };
  return cached;
}
