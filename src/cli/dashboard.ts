import type { Command } from 'commander';
import type { DashboardConfig } from '../config/types.js';
import { formatDuration } from '../config/duration.js';
import { AlertFeed } from '../dashboard/alert-feed.js';
import { loadAssets } from '../dashboard/assets.js';
import { DashboardState } from '../dashboard/dashboard-state.js';
import { MetricsScraper } from '../dashboard/metrics-scraper.js';
import { DashboardServer, isLoopback } from '../dashboard/server.js';
import { describeAt, openAlertSource } from './alert-source.js';
import {
  configOption,
  loadToolConfig,
  onStopSignal,
  parseDurationOption,
  parsePositiveInt,
  reportFailure,
  usageError,
} from './tooling.js';

export interface DashboardOptions {
  config?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
  metrics?: string[] | undefined;
  history?: string | undefined;
}

export interface DashboardIo {
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** Adds `dashboard` to the program. */
export function registerDashboard(program: Command): void {
  configOption(
    program
      .command('dashboard')
      .description(
        'a web page of the alerts as they arrive (and the last hours of them) and of the pipeline’s health',
      ),
  )
    .option('--host <address>', 'address to listen on (default: dashboard.host, 127.0.0.1)')
    .option('-p, --port <n>', 'port to listen on; 0 picks a free one (default: dashboard.port, 8080)')
    .option(
      '--metrics <url>',
      'a pipeline instance’s /metrics URL, for the charts; repeat for each instance (default: dashboard.metrics)',
      (url: string, urls: string[] = []) => [...urls, url],
    )
    .option('--history <duration>', 'on open, show the alerts of this long before, e.g. 6h (default: 6h)')
    .action(async (options: DashboardOptions) => {
      process.exitCode = await dashboard(options, { stderr: process.stderr, env: process.env });
    });
}

/**
 * Serves the page until SIGINT/SIGTERM (exit 0) or until the alert topics cannot be read any more (exit 1
 * with one line). Prints the page's URL on stderr once it listens.
 */
export async function dashboard(options: DashboardOptions, io: DashboardIo): Promise<number> {
  const config = loadToolConfig(options.config, io.env);
  const settings = withOptions(config.dashboard, options);
  const state = new DashboardState(
    {
      maxAlerts: settings.maxAlerts,
      historyMs: settings.historyMs,
      metrics: settings.metrics.length,
      activityTopic: config.topics.activity,
    },
    (event, data) => server.broadcast(event, data),
  );
  const server = new DashboardServer({
    host: settings.host,
    port: settings.port,
    auth:
      settings.username !== undefined && settings.password !== undefined
        ? { username: settings.username, password: settings.password }
        : undefined,
    assets: loadAssets(),
    snapshot: () => state.snapshot(),
  });
  const scraper = new MetricsScraper(settings.metrics, settings.scrapeIntervalMs, (at, reads) =>
    state.healthRound(at, reads),
  );
  let feed: AlertFeed | undefined;

  let failure: unknown;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const fail = (error: unknown): void => {
    failure ??= error;
    resolveDone();
  };
  const release = onStopSignal(() => resolveDone());
  let listening = false;
  try {
    const source = await openAlertSource(config, io.stderr, '-dashboard');
    const url = await server.listen();
    listening = true;
    io.stderr.write(`dashboard: ${url}\n`);
    describeSettings(settings, source.topics.length, io.stderr);
    scraper.start();
    feed = new AlertFeed(source, config.kafka, settings.historyMs, {
      alert: (alert) => state.alert(alert),
      status: (status) => state.feedStatus(status),
      undecodable: (error, at) => io.stderr.write(`dashboard: ${describeAt(at)}: ${error.message}\n`),
      failed: fail,
    });
    const started = feed;
    started.start().then(() => {
      if (started.status().phase === 'live') io.stderr.write('dashboard: following the alert topics\n');
    }, fail);
    await done;
  } catch (error) {
    failure ??= error;
  } finally {
    release();
    scraper.stop();
    await feed?.stop();
    if (listening) await server.close();
  }
  if (failure !== undefined) return reportFailure('dashboard', failure, io.stderr);
  io.stderr.write('dashboard: stopped\n');
  return 0;
}

/** The configuration's dashboard section with the command line's options laid over it. */
function withOptions(section: DashboardConfig, options: DashboardOptions): DashboardConfig {
  const port = options.port === undefined ? section.port : parsePositiveInt('--port', options.port, 0);
  if (port > 65_535) throw usageError('--port', options.port, 'must be a port number (0-65535)');
  const host = options.host ?? section.host;
  if (host.trim() === '') throw usageError('--host', options.host, 'must not be empty');
  const metrics = options.metrics ?? section.metrics;
  for (const url of metrics) {
    let protocol: string | undefined;
    try {
      protocol = new URL(url).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'http:' && protocol !== 'https:')
      throw usageError('--metrics', url, 'must be an http(s) URL, e.g. http://127.0.0.1:9464/metrics');
  }
  const historyMs =
    options.history === undefined ? section.historyMs : parseDurationOption('--history', options.history);
  return { ...section, host, port, metrics, historyMs };
}

function describeSettings(settings: DashboardConfig, topics: number, stderr: NodeJS.WritableStream): void {
  const metrics =
    settings.metrics.length === 0
      ? 'no pipeline metrics (--metrics URL, or dashboard.metrics, for the charts of records and lag)'
      : `metrics of ${settings.metrics.length} pipeline instance${settings.metrics.length === 1 ? '' : 's'} every ${formatDuration(settings.scrapeIntervalMs)}`;
  stderr.write(
    `dashboard: alerts of the last ${formatDuration(settings.historyMs)} from ${topics} alert topics, then live; ${metrics}\n`,
  );
  if (!isLoopback(settings.host) && settings.username === undefined)
    stderr.write(
      `dashboard: warning: listening on ${settings.host} without authentication: anyone who reaches this ` +
        'address sees the alerts (set dashboard.username and dashboard.password)\n',
    );
}
