/**
 * Reads the Prometheus text exposition format (version 0.0.4, what prom-client serves on /metrics): the
 * samples with their labels, and the type each `# TYPE` line declares. Enough for the dashboard's charts
 * and for checking that a Grafana dashboard asks only for metrics that exist; not a full client.
 */

export interface Sample {
  /** The sample's name as written: `…_total`, `…_bucket`, `…_sum`. */
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family → counter, gauge, histogram, summary or untyped. */
  types: Map<string, string>;
}

export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = parseSample(line);
    if (sample !== undefined) samples.push(sample);
  }
  return { samples, types };
}

/** `name{label="value",…} value [timestamp]`; undefined for a line that is not one. */
function parseSample(line: string): Sample | undefined {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (name === undefined) return undefined;
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    for (;;) {
      while (line[at] === ' ' || line[at] === ',') at++;
      if (line[at] === '}') {
        at++;
        break;
      }
      const label = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at))?.[0];
      if (label === undefined || line[at + label.length] !== '=' || line[at + label.length + 1] !== '"')
        return undefined;
      at += label.length + 2;
      let value = '';
      for (; at < line.length && line[at] !== '"'; at++) {
        if (line[at] === '\\') {
          at++;
          value += line[at] === 'n' ? '\n' : (line[at] ?? '');
        } else value += line[at];
      }
      if (at >= line.length) return undefined; // no closing quote
      at++;
      labels[label] = value;
    }
  }
  const [valueText] = line.slice(at).trim().split(/\s+/);
  const value = parseValue(valueText);
  return value === undefined ? undefined : { name, labels, value };
}

function parseValue(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/**
 * The sample names a metric family exposes: a histogram's `_bucket`, `_sum` and `_count`, a summary's
 * `_sum` and `_count` (and the family itself, its quantiles), anything else under its own name.
 */
export function sampleNames(family: string, type: string): string[] {
  if (type === 'histogram') return [`${family}_bucket`, `${family}_sum`, `${family}_count`];
  if (type === 'summary') return [family, `${family}_sum`, `${family}_count`];
  return [family];
}
