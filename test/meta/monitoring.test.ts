/**
 * The compose `monitoring` profile (issue 11): Prometheus scrapes the pipeline replicas and Grafana shows a
 * provisioned dashboard of their metrics. The dashboard must ask only for metrics the pipeline serves: each
 * metric name in its queries is checked against the registry `run` serves on /metrics (createMetrics()).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createMetrics } from '../../src/app/metrics.js';
import { parsePrometheusText, sampleNames } from '../../src/dashboard/prom-text.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const DASHBOARD = join(ROOT, 'monitoring/grafana/dashboards/mailbox-radar.json');

interface Panel {
  title: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

function panels(): Panel[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

function queries(): { panel: string; expr: string }[] {
  return panels().flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are neither functions (followed by a
 * parenthesis), keywords, label names (inside braces or a by/without list) nor durations.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names: string[] = [];
  for (const match of bare.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = bare.slice(match.index + match[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

/** Every sample name the pipeline's registry can serve (a histogram's _bucket, _sum and _count). */
async function servedNames(): Promise<Set<string>> {
  const { types } = parsePrometheusText(await createMetrics().registry.metrics());
  return new Set([...types].flatMap(([family, type]) => sampleNames(family, type)));
}

test('metricNames reads the metrics out of PromQL', () => {
  assert.deepEqual(
    metricNames(
      'sum by (class) (rate(mailbox_radar_records_classified_total{class!="x"}[$__rate_interval]))',
    ),
    ['mailbox_radar_records_classified_total'],
  );
  assert.deepEqual(
    metricNames('histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) / on (job) group_left up'),
    ['h_bucket', 'up'],
  );
  assert.deepEqual(metricNames('time() - min(mailbox_radar_watermark_seconds > 0) offset 5m'), [
    'mailbox_radar_watermark_seconds',
  ]);
});

test('every metric the Grafana dashboard queries exists in what `run` serves on /metrics', async () => {
  const served = await servedNames();
  const all = queries();
  assert.ok(all.length >= 10, 'the dashboard has its queries');
  const missing = all.flatMap(({ panel, expr }) =>
    metricNames(expr)
      .filter((name) => name !== 'up' && !served.has(name)) // up: Prometheus' own, per scrape target
      .map((name) => `${panel}: ${name}`),
  );
  assert.deepEqual(missing, []);
  const used = new Set(all.flatMap(({ expr }) => metricNames(expr)));
  for (const name of [
    'mailbox_radar_records_classified_total',
    'mailbox_radar_late_records_total',
    'mailbox_radar_records_dead_lettered_total',
    'mailbox_radar_alerts_total',
    'mailbox_radar_consumer_fetch_lag',
    'mailbox_radar_consumer_commit_lag',
    'mailbox_radar_partition_stream_time_seconds',
  ])
    assert.ok(used.has(name), `the dashboard charts ${name}`);
});

test('the dashboard uses the provisioned data source, and its job is the one Prometheus scrapes', () => {
  const source = parse(
    readFileSync(join(ROOT, 'monitoring/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
  ) as { datasources: { uid: string; url: string }[] };
  const uid = source.datasources[0]?.uid;
  for (const panel of panels()) {
    assert.equal(panel.datasource?.uid, uid, panel.title);
    for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, uid, panel.title);
  }
  const prometheus = parse(readFileSync(join(ROOT, 'monitoring/prometheus.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
  };
  const job = prometheus.scrape_configs[0]!;
  assert.deepEqual(job.dns_sd_configs?.[0], {
    names: ['pipeline'],
    type: 'A',
    port: 9464,
    refresh_interval: '10s',
  });
  for (const { panel, expr } of queries())
    for (const match of expr.matchAll(/job="([^"]*)"/g)) assert.equal(match[1], job.job_name, panel);
});

test('compose: Prometheus and Grafana only in the monitoring profile, on loopback, their files present', () => {
  const services = (
    parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { profiles?: string[]; volumes?: string[]; ports?: string[] }>;
    }
  ).services;
  for (const name of ['prometheus', 'grafana']) {
    const service = services[name];
    assert.deepEqual(service?.profiles, ['monitoring'], name);
    for (const port of service?.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} on loopback`);
    for (const volume of service?.volumes ?? []) {
      const source = volume.split(':')[0]!;
      assert.ok(existsSync(join(ROOT, source)), `${name}: ${source} exists`);
    }
  }
  for (const name of ['kafka', 'schema-registry', 'pipeline'])
    assert.equal(services[name]?.profiles, undefined, `${name} starts without a profile`);
});
