/**
 * `mailbox-radar backtest` as a user runs it: the configured settings' row gives what `replay` gives on the
 * same input (the same alert ids, each in the same final state), whatever else the grid holds; the
 * settings part ways (a lower threshold alerts where a higher does not). Bad usage: usage.test.ts.
 */
import assert from 'node:assert/strict';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { RULES } from '../../src/model/alert.js';
import { runCli } from '../simulate/support.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-backtest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const lines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

interface JsonSetting {
  index: number;
  default: boolean;
  values: Record<string, string>;
  alerts: Record<string, number>;
  total: number;
}

describe('mailbox-radar backtest', () => {
  const sim = join(dir, 'sim.ndjson');
  const both = join(dir, 'both.ndjson');

  before(async () => {
    // A simulated tenant with the default settings (no tenant configuration): its traffic raises alerts
    // of every rule with episodes that update and close, beside the injected attacks.
    const simulated = await runCli([
      'simulate',
      ...['--users', '200', '--count', '6000', '--rate', '20', '--attacks', '2', '--seed', 'backtest'],
      ...['--start', '2026-10-01T08:00:00Z', '--speed', 'max', '--output', sim],
    ]);
    assert.equal(simulated.code, 0, simulated.stderr);
    await pipeline(createReadStream(sim), createGzip(), createWriteStream(`${sim}.gz`));
    writeFileSync(both, readFileSync(sim, 'utf8') + readFileSync(`${FIXTURES}burst.ndjson`, 'utf8'));
  });

  it("gives replay's alerts for the configured settings, from .gz and plain inputs, in one pass", async () => {
    const replayed = await runCli(['replay', '--input', both, '--final']);
    assert.equal(replayed.code, 0, replayed.stderr);
    const expected = lines(replayed.stdout);
    assert.ok(expected.length > 20, `replay gave only ${expected.length} alerts`);
    assert.ok(
      expected.some((a) => a.status === 'closed' && (a.revision as number) > 1),
      'an alert with updates',
    );

    const alertsFile = join(dir, 'alerts.ndjson');
    const report = join(dir, 'report.html');
    const run = await runCli([
      'backtest',
      ...['--input', `${sim}.gz`, `${FIXTURES}burst.ndjson`],
      ...['--grid', 'nonOwnerBurst.threshold=5,40', '--grid', 'mailboxSweep.window=5m,20m'],
      ...['--alerts', alertsFile, '--report', report, '--json', '--no-progress'],
    ]);
    assert.equal(run.code, 0, run.stderr);
    const got = lines(readFileSync(alertsFile, 'utf8'));
    assert.deepEqual(
      got.map((a) => a.alert_id).sort(),
      expected.map((a) => a.alert_id).sort(),
      'the same alert ids',
    );
    const byId = new Map(got.map((a) => [a.alert_id, a]));
    for (const alert of expected) assert.deepEqual(byId.get(alert.alert_id), alert, 'the same final state');

    // The table's numbers: the configured settings' row counts replay's alerts by id, per rule.
    const json = JSON.parse(run.stdout) as { records: number; settings: JsonSetting[] };
    assert.equal(json.settings.length, 5, '2 × 2 combinations and the configured settings');
    const configured = json.settings.filter((s) => s.default);
    assert.equal(configured.length, 1);
    assert.deepEqual(configured[0]?.values, {
      'rules.nonOwnerBurst.threshold': '20',
      'rules.mailboxSweep.window': '10m',
    });
    for (const rule of RULES)
      assert.equal(
        configured[0]?.alerts[rule],
        expected.filter((a) => a.rule === rule).length,
        `${rule} alerts of the configured settings`,
      );
    assert.match(run.stderr, /records \(0 rejected\) × 5 settings/);
    assert.match(readFileSync(report, 'utf8'), /^<!doctype html>/);
  });

  it('alerts where a lower threshold catches what the configured one does not, and says so on stdout', async () => {
    const run = await runCli([
      'backtest',
      ...['--input', `${FIXTURES}burst.ndjson`, '--grid', 'nonOwnerBurst.threshold=5,20,40'],
      ...['--report', join(dir, 'burst.html'), '--no-progress'],
    ]);
    assert.equal(run.code, 0, run.stderr);
    const rows = run.stdout.split('\n');
    assert.match(rows[0] ?? '', /^\s*#\s+nonOwnerBurst\.threshold\s+non_owner_burst\s+total\s+alerts\/day$/);
    assert.match(rows[1] ?? '', /^\s*1\s+5\s+1\s+1\s+1\.00$/);
    assert.match(rows[2] ?? '', /^\s*2\*\s+20\s+1\s+1\s+1\.00$/, 'the configured settings, marked');
    assert.match(rows[3] ?? '', /^\s*3\s+40\s+0\s+0\s+0\.00$/);
    assert.match(rows[4] ?? '', /^\* the configuration's own settings/);
  });

  it('adds the configured settings as a row of their own when no combination equals them', async () => {
    const run = await runCli([
      'backtest',
      ...['--input', `${FIXTURES}burst.ndjson`, '--grid', 'nonOwnerBurst.threshold=5,40'],
      ...['--report', join(dir, 'extra.html'), '--json', '--no-progress'],
    ]);
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout) as { settings: JsonSetting[] };
    assert.deepEqual(
      json.settings.map((s) => [s.values['rules.nonOwnerBurst.threshold'], s.default, s.total]),
      [
        ['20', true, 1],
        ['5', false, 1],
        ['40', false, 0],
      ],
    );
  });

  it('reads a content blob document (a pretty-printed JSON array)', async () => {
    const records = readFileSync(`${FIXTURES}burst.ndjson`, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as unknown);
    const blob = join(dir, 'blob.json');
    writeFileSync(blob, JSON.stringify(records, null, 2));
    const run = await runCli(['backtest', '--input', blob, '--report', join(dir, 'blob.html'), '--json']);
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout) as { records: number; settings: JsonSetting[] };
    assert.equal(json.records, 68);
    assert.equal(json.settings[0]?.total, 1);
  });
});
