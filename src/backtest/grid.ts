import { parse as parseYaml } from 'yaml';
import { ConfigError, ErrorCodes, RadarError } from '../errors.js';
import { parseConfig } from '../config/load.js';
import { formatDuration } from '../config/duration.js';
import type { Config, DetectionConfig } from '../config/types.js';

/**
 * `backtest --grid KEY=V1,V2,…`: the settings to try. Each KEY is a path under `detection.` in the
 * configuration (`rules.nonOwnerBurst.threshold`, or short, `nonOwnerBurst.threshold`; a leading
 * `detection.` is accepted too), each value a YAML scalar or flow collection as in a MAILBOX_RADAR_
 * variable (`10`, `5m`, `false`, `[3, 4]`; values are split at the commas outside brackets). Every value is validated by the configuration schema itself, set into the configuration as read
 * (file and environment), so a grid accepts exactly what a configuration file would. The settings are the
 * cartesian product of the keys' values; the configuration's own settings are always one of them, marked
 * `isDefault` (added in front when no combination equals them).
 */

/** One setting of the grid: the values it gives each grid key, and the detection configuration they make. */
export interface GridSetting {
  /** 0-based, in the order of the rows. */
  readonly index: number;
  /** Grid key (as normalised: `rules.nonOwnerBurst.threshold`) → the value, as written or as configured. */
  readonly values: Readonly<Record<string, string>>;
  /** The configuration's own settings (no grid value changes them). */
  readonly isDefault: boolean;
  readonly detection: DetectionConfig;
}

export interface Grid {
  /** The normalised keys, in the order given. */
  readonly keys: readonly string[];
  readonly settings: readonly GridSetting[];
}

/** More settings than this would hold that many detection states in memory at once: refused. */
export const MAX_SETTINGS = 64;

/** Keys that are decided once per record, before the settings part ways: not a grid dimension. */
const NOT_GRIDDABLE: Readonly<Record<string, string>> = {
  maxClockSkew: 'is applied once per record while reading, before the settings part ways',
};

interface Dimension {
  key: string;
  option: string;
  values: { text: string; value: unknown }[];
}

/**
 * The settings for `--grid` options over a configuration as read (`loadConfigInput`). A bad option — no
 * `=`, an empty or repeated value, a key given twice, a key the schema does not know or a value it refuses
 * — is a CONFIG_INVALID RadarError of one line naming the option, the key and the reason (exit 2).
 */
export function parseGrid(
  options: readonly string[],
  input: unknown,
  sources: ReadonlyMap<string, string> = new Map(),
): Grid {
  const base = parseConfig(input, sources);
  const dimensions: Dimension[] = [];
  const ruleNames = new Set(Object.keys(base.detection.rules));
  for (const option of options) {
    const dimension = parseOption(option, ruleNames);
    if (dimensions.some((d) => d.key === dimension.key))
      throw gridError(option, dimension.key, 'this key is given by another --grid already');
    // Each value alone first, so that an error names the value that caused it.
    for (const { text, value } of dimension.values) {
      try {
        withValues(input, sources, [[dimension.key, value]]);
      } catch (error) {
        if (error instanceof ConfigError)
          throw gridError(`${written(option)}=${text}`, error.key, error.reason);
        throw error;
      }
    }
    dimensions.push(dimension);
  }

  const combinations = product(dimensions);
  if (combinations.length > MAX_SETTINGS)
    throw new RadarError(
      ErrorCodes.CONFIG_INVALID,
      `--grid: ${combinations.length} combinations; at most ${MAX_SETTINGS} (each holds its own detection state)`,
    );
  const defaultKey = JSON.stringify(base.detection);
  const settings: Omit<GridSetting, 'index'>[] = [];
  for (const combination of combinations) {
    const config = withValues(
      input,
      sources,
      combination.map((c, i) => [(dimensions[i] as Dimension).key, c.value]),
    );
    settings.push({
      values: Object.fromEntries(combination.map((c, i) => [(dimensions[i] as Dimension).key, c.text])),
      isDefault: JSON.stringify(config.detection) === defaultKey,
      detection: config.detection,
    });
  }
  // The configuration's own settings are one row whatever the grid; the first equal combination is it.
  const firstDefault = settings.findIndex((s) => s.isDefault);
  settings.forEach((s, i) => {
    if (s.isDefault && i !== firstDefault) (s as { isDefault: boolean }).isDefault = false;
  });
  if (firstDefault === -1)
    settings.unshift({
      values: Object.fromEntries(dimensions.map((d) => [d.key, configuredValue(base, d.key)])),
      isDefault: true,
      detection: base.detection,
    });
  return {
    keys: dimensions.map((d) => d.key),
    settings: settings.map((s, index) => ({ ...s, index })),
  };
}

/** `KEY=V1,V2` → the normalised key and the values read as YAML scalars. */
function parseOption(option: string, ruleNames: ReadonlySet<string>): Dimension {
  const at = option.indexOf('=');
  if (at === -1)
    throw gridError(option, option, 'must be KEY=VALUE[,VALUE…], e.g. nonOwnerBurst.threshold=10,20');
  const written = option.slice(0, at).trim();
  let segments = written.split('.').map((s) => s.trim());
  if (segments[0] === 'detection') segments = segments.slice(1);
  if (segments.length === 0 || segments.some((s) => s === ''))
    throw gridError(
      option,
      written === '' ? '(no key)' : written,
      'is not a configuration path under detection.',
    );
  if (ruleNames.has(segments[0] as string)) segments = ['rules', ...segments];
  const key = segments.join('.');
  const reason = NOT_GRIDDABLE[key];
  if (reason !== undefined) throw gridError(option, `detection.${key}`, reason);
  const texts = splitValues(option.slice(at + 1));
  if (texts.some((t) => t === '')) throw gridError(option, `detection.${key}`, 'has an empty value');
  const seen = new Set<string>();
  const values = texts.map((text) => {
    if (seen.has(text)) throw gridError(option, `detection.${key}`, `value ${text} is given twice`);
    seen.add(text);
    let value: unknown;
    try {
      value = parseYaml(text) as unknown;
    } catch {
      value = text;
    }
    return { text, value };
  });
  return { key, option, values };
}

/** Values split at the commas outside brackets: `[3,4],[3]` is two lists. */
function splitValues(text: string): string[] {
  const values: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[' || c === '{') depth++;
    else if ((c === ']' || c === '}') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      values.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  values.push(text.slice(start).trim());
  return values;
}

/** The configuration with grid values set under `detection.`, validated (ConfigError when refused). */
function withValues(
  input: unknown,
  sources: ReadonlyMap<string, string>,
  values: readonly (readonly [key: string, value: unknown])[],
): Config {
  const root = isObject(input) ? structuredClone(input) : {};
  for (const [key, value] of values) setPath(root, ['detection', ...key.split('.')], value);
  return parseConfig(root, sources);
}

function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key]) && !Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/** The configured value of a grid key, as a person would write it (`5m` for a window). */
function configuredValue(config: Config, key: string): string {
  let node: unknown = config.detection;
  const segments = key.split('.');
  for (const [i, segment] of segments.entries()) {
    if (!isObject(node) && !Array.isArray(node)) return '?';
    const record = node as Record<string, unknown>;
    // The schema renames durations: window → windowMs, allowedLateness → allowedLatenessMs.
    if (i === segments.length - 1 && !(segment in record) && `${segment}Ms` in record)
      return formatDuration(record[`${segment}Ms`] as number);
    node = record[segment];
  }
  return typeof node === 'string' ? node : JSON.stringify(node);
}

function product(dimensions: readonly Dimension[]): Dimension['values'][number][][] {
  let rows: Dimension['values'][number][][] = [[]];
  for (const dimension of dimensions)
    rows = rows.flatMap((row) => dimension.values.map((value) => [...row, value]));
  return dimensions.length === 0 ? [] : rows;
}

/** The key as the option wrote it. */
function written(option: string): string {
  return option.slice(0, option.indexOf('=')).trim();
}

function gridError(option: string, key: string, reason: string): RadarError {
  return new RadarError(ErrorCodes.CONFIG_INVALID, `--grid ${option}: ${key} ${reason}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
