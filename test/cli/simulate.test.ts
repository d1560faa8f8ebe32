import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { RULES } from '../../src/model/alert.js';
import { simulate, type SimulateOptions } from '../../src/cli/simulate.js';
import type { RadarError } from '../../src/errors.js';
import { parseRecord } from '../../src/detect/parse-record.js';
import { compareWithManifest, type AlertKey } from '../../src/simulate/compare.js';
import { DELEGATE_HISTORY_OFFSETS_MS, type Manifest } from '../../src/simulate/simulation.js';
import { BACKUP_APP_ID, tenantDetectionSettings } from '../../src/simulate/tenant.js';
import { ROOT, alertsOf, runCli } from '../simulate/support.js';

const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-simulate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ORG_ENV = {
  MAILBOX_RADAR_DETECTION__ORGANIZATION_DOMAINS: '[[contoso.com, contoso.co.uk]]',
  MAILBOX_RADAR_DETECTION__ALLOWLIST__APPS: `[${BACKUP_APP_ID}]`,
  MAILBOX_RADAR_DETECTION__POLICIES: JSON.stringify(tenantDetectionSettings().policies),
};

describe('mailbox-radar simulate --output', () => {
  it('writes the same NDJSON and manifest for the same seed and start; replay finds exactly the injected attacks', async () => {
    const args = [
      'simulate',
      '--count',
      '6000',
      '--rate',
      '400',
      '--seed',
      'cli',
      '--start',
      '2026-11-25T09:00:00Z',
      '--attacks',
      '2',
    ];
    const a = await runCli([...args, '--output', join(dir, 'a.ndjson'), '--manifest', join(dir, 'a.json')], {
      env: ORG_ENV,
    });
    const b = await runCli([...args, '--output', '-', '--manifest', join(dir, 'b.json')], { env: ORG_ENV });
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const text = readFileSync(join(dir, 'a.ndjson'), 'utf8');
    assert.equal(b.stdout, text, 'stdout and file hold the same records');
    assert.deepEqual(readFileSync(join(dir, 'a.json'), 'utf8'), readFileSync(join(dir, 'b.json'), 'utf8'));
    assert.match(a.stderr, /done: 6,000 records \+ \d+ duplicates/);
    assert.doesNotMatch(a.stderr, /organizationDomains/, 'no warning when the organization is configured');
    assert.doesNotMatch(a.stderr, /allowlist/, 'no warning when the backup app is allow-listed');
    assert.doesNotMatch(a.stderr, /policies/, 'no warning when first_access is off for the helpdesk');

    const manifest = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8')) as Manifest;
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, manifest.totals.messages);
    assert.equal(manifest.totals.records, 6000);
    const records = lines.map((line) => parseRecord(JSON.parse(line)));
    // The history first, from 30 days and 1 hour before the start (the delegations', then the apps').
    const start = Date.UTC(2026, 10, 25, 9, 0, 0);
    assert.equal(records[0]!.creation_time, start - DELEGATE_HISTORY_OFFSETS_MS[0]);
    assert.equal(records[manifest.totals.by_kind.history]!.creation_time, start);
    const alerts = await alertsOf(records);
    const comparison = compareWithManifest(manifest, alerts);
    for (const rule of RULES) {
      assert.equal(comparison[rule].detected, 2, rule);
      assert.deepEqual(comparison[rule].unexpected, [], rule);
    }
    assert.equal(
      new Set(alerts.map((a) => a.alert_id)).size,
      2 * RULES.length + comparison.first_access.companions,
      'one alert (id) per attack, 2 of each of the seven rules, and first_access beside the user attacks',
    );
  });

  it('writes the configuration its tenant implies beside --output; replay with it finds exactly the injected attacks', async () => {
    const output = join(dir, 'tenant.ndjson');
    const manifestFile = join(dir, 'tenant.json');
    // No organization or allow-list in this environment: the run itself says what replay needs.
    const r = await runCli([
      'simulate',
      '--count',
      '6000',
      '--rate',
      '400',
      '--seed',
      'tenant-config',
      '--start',
      '2026-11-25T09:00:00Z',
      '--attacks',
      '2',
      '--output',
      output,
      '--manifest',
      manifestFile,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const config = join(dir, 'tenant.config.yaml');
    assert.ok(
      r.stderr.includes(`mailbox-radar replay --input ${output} --config ${config}`),
      `prints how to pass it:\n${r.stderr}`,
    );
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    const replayOf = async (args: string[]) => {
      const run = await runCli(['replay', '--input', output, ...args]);
      assert.equal(run.code, 0, run.stderr);
      return run.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as AlertKey);
    };
    const alerts = await replayOf(['--config', config]);
    const comparison = compareWithManifest(manifest, alerts);
    for (const rule of RULES) {
      assert.equal(comparison[rule].detected, 2, rule);
      assert.deepEqual(comparison[rule].unexpected, [], rule);
      assert.equal(comparison[rule].repeated, 0, rule);
    }
    const companions = comparison.first_access.companions;
    assert.ok(companions > 0);
    assert.equal(
      new Set(alerts.map((a) => a.alert_id)).size,
      14 + companions,
      'one alert (id) per attack, and first_access beside the user attacks',
    );
    // Without it, the tenant's two domains, its backup app and its helpdesk raise alerts of their own.
    assert.ok((await replayOf([])).length > 14 + companions);
  });

  it('writes Management Activity API records with --format management-api', async () => {
    const r = await runCli(
      [
        'simulate',
        '--count',
        '200',
        '--seed',
        'x',
        '--attacks',
        '0',
        '--format',
        'management-api',
        '--output',
        '-',
      ],
      { env: ORG_ENV },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok('CreationTime' in lines[0]! && 'MailboxOwnerUPN' in lines[0]! && 'ClientIP' in lines[0]!);
    assert.match(lines[0]!.CreationTime as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    // The first app record (the apps' history): the API's app fields, as docs/detection.md shows them.
    const first = lines.find((line) => line.UserType === 5)!;
    assert.ok(
      'AppId' in first && 'OperationProperties' in first && 'Folders' in first,
      JSON.stringify(first),
    );
    assert.equal(parseRecord(first).mail_access_type, 'Bind');
  });

  it('warns when the configuration does not group the tenant’s two domains, or does not allow-list its backup app', async () => {
    const r = await runCli(['simulate', '--count', '1000', '--attacks', '0', '--output', '-']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /does not group contoso\.com and contoso\.co\.uk/);
    assert.match(
      r.stderr,
      new RegExp(`allowlist\\.apps does not hold the simulated backup app ${BACKUP_APP_ID}`),
    );
    assert.match(
      r.stderr,
      /no detection\.policies entry turns first_access off for the simulated helpdesk \(adm-\*@contoso\.com, adm-\*@contoso\.co\.uk\)/,
    );
    // The policy it suggests, as it says it, is accepted and silences the warning.
    const policies = /MAILBOX_RADAR_DETECTION__POLICIES='([^']+)'/.exec(r.stderr)?.[1];
    assert.ok(policies !== undefined, r.stderr);
    const quiet = await runCli(['simulate', '--count', '1000', '--attacks', '0', '--output', '-'], {
      env: { MAILBOX_RADAR_DETECTION__POLICIES: policies },
    });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /helpdesk/);
  });

  it('refuses bad options with the option, the value and the reason (exit code 2)', async () => {
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
    const defaults: SimulateOptions = {
      rate: '200',
      attacks: '1',
      users: '300',
      duplicates: '0.005',
      batchSize: '500',
      format: 'snake',
      output: '-',
    };
    for (const [options, pattern] of [
      [{ rate: '0' }, /--rate "0": must be a number > 0/],
      [{ count: '10', duration: '1m' }, /not both/],
      [{ start: 'yesterday' }, /--start "yesterday"/],
      [{ count: '20', attacks: '1' }, /cannot hold/],
      [{ duration: 'soon' }, /--duration "soon"/],
      [{ format: 'xml' }, /--format "xml"/],
      [{ attacks: '-1' }, /--attacks "-1"/],
    ] as const) {
      await assert.rejects(
        simulate({ ...defaults, ...options }, io),
        (error: RadarError) => error.code === 'CONFIG_INVALID' && pattern.test(error.message),
        JSON.stringify(options),
      );
    }
    const r = await runCli(['simulate', '--rate', 'fast', '--output', '-']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, 'mailbox-radar: invalid --rate "fast": must be a number > 0\n');
  });

  it('refuses a bad configuration with exit code 2 and one clear message', async () => {
    const config = await runCli(['simulate', '--output', '-', '--count', '100'], {
      env: { MAILBOX_RADAR_KAFKA__BROKERS: '[]' },
    });
    assert.equal(config.code, 2, config.stderr);
    assert.match(config.stderr, /kafka\.brokers/);
    assert.doesNotMatch(config.stderr, /\n\s+at /, 'no stack trace');
    const missing = await runCli(['simulate', '--output', '-', '--config', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml: no such file/);
  });

  it('says clearly when Kafka is unreachable, with exit code 1', async () => {
    const r = await runCli(['simulate', '--count', '500'], { env: { KAFKA_BROKERS: '127.0.0.1:1' } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Kafka unreachable: no broker answers at 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('make demo allow-lists the backup app and gives every rule, the app rules included, a topic of its own', () => {
    const demo = readFileSync(join(ROOT, 'scripts/demo.sh'), 'utf8');
    assert.match(demo, new RegExp(`MAILBOX_RADAR_DETECTION__ALLOWLIST__APPS='\\[${BACKUP_APP_ID}\\]'`));
    for (const rule of RULES)
      assert.match(
        demo,
        new RegExp(`MAILBOX_RADAR_TOPICS__ALERTS__${rule.toUpperCase()}=demo\\.\\$RUN_ID\\.`),
        rule,
      );
  });
});
