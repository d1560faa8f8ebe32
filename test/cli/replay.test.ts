import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-replay-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mailbox-radar replay …` through tsx, as a user would. */
function replay(
  args: string[],
  options: { env?: Record<string, string>; stdinFile?: string } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...options.env };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', ...args], {
      cwd: ROOT,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (options.stdinFile !== undefined) createReadStream(options.stdinFile).pipe(child.stdin);
    else child.stdin.end();
  });
}

/** Every alert message on stdout (opens, updates, closes). */
const messagesOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** The alerts as they opened: one per episode (issue 13's later revisions left out). */
const alertsOf = (stdout: string) => messagesOf(stdout).filter((alert) => alert.revision === 0);

describe('mailbox-radar replay', () => {
  it('reads the real Sentinel rows without an alert and sums them up', async () => {
    const { code, stdout, stderr } = await replay([
      '--input',
      `${FIXTURES}sentinel-officeactivity-exchange.ndjson`,
    ]);
    assert.equal(code, 0);
    assert.equal(stdout, '');
    assert.match(stderr, /^replay: 10 records read from 10 lines, 0 rejected$/m);
    assert.match(stderr, /owner 7, system 3, non-owner 0 \(cross-domain 0\)/);
    assert.match(stderr, /alerts 0: non_owner_burst 0, cross_domain_burst 0, mailbox_sweep 0/);
  });

  it('writes one JSON line per alert on stdout, the same on every run', async () => {
    const first = await replay(['--input', `${FIXTURES}burst.ndjson`]);
    assert.equal(first.code, 0);
    const alerts = alertsOf(first.stdout);
    assert.equal(alerts.length, 1);
    const [alert] = alerts;
    assert.equal(alert?.rule, 'non_owner_burst');
    assert.equal(alert?.mailbox_owner_upn, 'ceo@contoso.com');
    assert.equal(alert?.actor_user_id, 'eve@contoso.com');
    assert.equal(alert?.first_seen, '2024-01-15T12:00:00.000Z');
    assert.equal(alert?.detected_at, '2024-01-15T12:01:35.000Z');
    assert.deepEqual(alert?.client_ips, ['203.0.113.7']);
    assert.match(first.stderr, /68 records read from 68 lines, 0 rejected/);
    assert.match(first.stderr, /duplicates 3, late 0/);
    assert.match(first.stderr, /owner 40, system 0, non-owner 25/);
    assert.match(first.stderr, /alerts 1: non_owner_burst 1,/);
    const second = await replay(['--input', `${FIXTURES}burst.ndjson`]);
    assert.equal(second.stdout, first.stdout);
  });

  it('writes every revision of an alert, the end of the input closing it; --final only the last', async () => {
    const { stdout } = await replay(['--input', `${FIXTURES}burst.ndjson`]);
    const messages = messagesOf(stdout);
    assert.deepEqual(
      messages.map((m) => `${m.revision} ${m.status} ${m.event_count}`),
      ['0 open 20', '1 closed 25'],
    );
    assert.equal(messages[1]?.alert_id, messages[0]?.alert_id);
    const final = await replay(['--input', `${FIXTURES}burst.ndjson`, '--final']);
    assert.deepEqual(messagesOf(final.stdout), [messages[1]]);
  });

  it('reads PascalCase records and content-blob arrays from standard input', async () => {
    const { code, stdout, stderr } = await replay(['--input', '-'], {
      stdinFile: `${FIXTURES}pascal-cross-domain.ndjson`,
    });
    assert.equal(code, 0);
    const alerts = alertsOf(stdout);
    assert.deepEqual(
      alerts.map((a) => a.rule),
      ['cross_domain_burst'],
    );
    assert.equal(alerts[0]?.actor_domain, 'fabrikam.com');
    assert.deepEqual(alerts[0]?.client_ips, ['2001:db8::7']);
    assert.match(stderr, /6 records read from 4 lines, 0 rejected/);
  });

  it('reads app-only PascalCase records (UserType 5) as the app: app_mailbox_sweep, first_app_access, bulk_mail_access', async () => {
    const { code, stdout, stderr } = await replay(['--input', `${FIXTURES}app-sweep.ndjson`], {
      env: { MAILBOX_RADAR_DETECTION__RULES__FIRST_APP_ACCESS__LEARN_FOR: '0' },
    });
    assert.equal(code, 0);
    const alerts = alertsOf(stdout);
    assert.deepEqual(
      alerts.map((a) => a.rule),
      ['first_app_access', 'bulk_mail_access', 'app_mailbox_sweep'],
    );
    assert.ok(alerts.every((a) => a.actor_user_id === '6326e366-9d6d-4c70-b22a-34c7ea72d73d'));
    assert.equal(alerts[1]?.mailbox_blind_until, '2024-01-16T12:05:00.000Z');
    assert.match(stderr, /owner 0, .* app 6,/);
    assert.match(stderr, /app_mailbox_sweep 1, bulk_mail_access 1, first_app_access 1/);
  });

  it('reports each rejected line with its number, reason and code, and goes on', async () => {
    const { code, stderr } = await replay(['--input', `${FIXTURES}invalid-lines.ndjson`]);
    assert.equal(code, 0);
    const reported = stderr.split('\n').filter((line) => line.startsWith('line '));
    assert.deepEqual(
      reported.map((line) => line.replace(/not JSON: .*\(RECORD_NOT_JSON\)$/, 'not JSON: …')),
      [
        'line 2: not JSON: …',
        'line 3: creation_time: not a timestamp: "yesterday" (RECORD_INVALID)',
        'line 6: user_id: missing (RECORD_INVALID)',
        'line 7 [0]: not a JSON object: 1 (RECORD_INVALID)',
        'line 8: logon_type: not a LogonType number or name: "Sometimes" (RECORD_INVALID)',
      ],
    );
    assert.match(stderr, /3 records read from 8 lines, 5 rejected/);
  });

  it('rejects a record dated beyond detection.maxClockSkew, which never moves the watermark', async () => {
    // The reproduction: one record dated 2099 first in a file that gives 1 alert turned it into 0
    // (the watermark jumped to 2098 and every later record was late).
    const burst = readFileSync(`${FIXTURES}burst.ndjson`, 'utf8');
    const first = JSON.parse(burst.slice(0, burst.indexOf('\n'))) as Record<string, unknown>;
    const future = { ...first, id: 'future-0', creation_time: '2099-01-01T00:00:00.000Z' };
    const file = join(dir, 'future-first.ndjson');
    writeFileSync(file, `${JSON.stringify(future)}\n${burst}`);
    const { code, stdout, stderr } = await replay(['--input', file]);
    assert.equal(code, 0);
    assert.equal(alertsOf(stdout).length, 1, stderr);
    const reported = stderr.split('\n').filter((line) => line.startsWith('line '));
    assert.equal(reported.length, 1, stderr);
    assert.match(
      reported[0] as string,
      /^line 1: creation_time: 2099-01-01T00:00:00\.000Z is more than 15m ahead of the clock .*\(RECORD_FROM_FUTURE\)$/,
    );
    assert.match(stderr, /68 records read from 69 lines, 1 rejected \(1 from the future\)$/m);
    assert.match(stderr, /duplicates 3, late 0/);
  });

  it('applies the configuration file and the environment', async () => {
    const quiet = join(dir, 'quiet.yaml');
    writeFileSync(quiet, 'detection:\n  rules:\n    nonOwnerBurst: { threshold: 30 }\n');
    const withFile = await replay(['--input', `${FIXTURES}burst.ndjson`, '--config', quiet]);
    assert.equal(withFile.code, 0);
    assert.equal(withFile.stdout, '');
    const withEnv = await replay(['--input', `${FIXTURES}burst.ndjson`, '--config', quiet], {
      env: { MAILBOX_RADAR_DETECTION__RULES__NON_OWNER_BURST__THRESHOLD: '25' },
    });
    assert.equal(alertsOf(withEnv.stdout).length, 1);
    const fromVariable = await replay(['--input', `${FIXTURES}burst.ndjson`], {
      env: { MAILBOX_RADAR_CONFIG: quiet },
    });
    assert.equal(fromVariable.stdout, '');
  });

  it('exits 2 with one clear message for a missing input', async () => {
    const { code, stdout, stderr } = await replay(['--input', join(dir, 'missing.ndjson')]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr, `mailbox-radar: input ${join(dir, 'missing.ndjson')}: no such file\n`);
  });

  it('exits 2 with one clear message for a bad configuration', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'detection:\n  rules:\n    nonOwnerBurst: { threshold: -1 }\n');
    const { code, stdout, stderr } = await replay(['--input', `${FIXTURES}burst.ndjson`, '--config', bad]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(
      stderr,
      'mailbox-radar: invalid config detection.rules.nonOwnerBurst.threshold=-1: must be a positive integer\n',
    );
    const missing = await replay(['--input', `${FIXTURES}burst.ndjson`, '--config', join(dir, 'none.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /none\.yaml: no such file/);
  });

  it('applies detection.policies: the alert names the policy; a policy can silence an actor', async () => {
    const vip = join(dir, 'vip.yaml');
    writeFileSync(
      vip,
      'detection:\n  policies:\n' +
        '    - { name: executives, match: { mailboxes: ["ceo@*"] }, rules: { nonOwnerBurst: { severity: critical } } }\n',
    );
    const loud = await replay(['--input', `${FIXTURES}burst.ndjson`, '--config', vip, '--final']);
    assert.equal(loud.code, 0, loud.stderr);
    const [alert] = messagesOf(loud.stdout);
    assert.equal(alert?.status, 'closed');
    assert.equal(alert?.policy, 'executives');
    assert.equal(alert?.severity, 'critical');
    const quiet = join(dir, 'eve.yaml');
    writeFileSync(
      quiet,
      'detection:\n  policies:\n' +
        '    - { name: eve, match: { actors: ["EVE@contoso.com"] }, rules: { nonOwnerBurst: { enabled: false } } }\n',
    );
    const silent = await replay(['--input', `${FIXTURES}burst.ndjson`, '--config', quiet]);
    assert.equal(silent.code, 0, silent.stderr);
    assert.equal(silent.stdout, '');
  });

  it('exits 2 with one line for a bad policy (a bad glob, an empty match)', async () => {
    const bad = join(dir, 'bad-policy.yaml');
    writeFileSync(
      bad,
      'detection:\n  policies:\n    - { name: vip, match: { mailboxes: ["**@contoso.com"] } }\n',
    );
    const glob = await replay(['--input', `${FIXTURES}burst.ndjson`, '--config', bad]);
    assert.equal(glob.code, 2);
    assert.equal(glob.stdout, '');
    assert.equal(
      glob.stderr,
      'mailbox-radar: invalid config detection.policies[0].match.mailboxes[0]="**@contoso.com": ** is not pattern syntax here: * already matches any characters\n',
    );
    const empty = await replay(['--input', `${FIXTURES}burst.ndjson`], {
      env: { MAILBOX_RADAR_DETECTION__POLICIES: '[{name: vip, match: {}}]' },
    });
    assert.equal(empty.code, 2);
    assert.equal(
      empty.stderr,
      'mailbox-radar: invalid config detection.policies[0].match={}: must name mailboxes, a mailboxFile or actors: an empty match is refused (from MAILBOX_RADAR_DETECTION__POLICIES)\n',
    );
  });

  it('exits 2 when --input is missing', async () => {
    const { code, stderr } = await replay([]);
    assert.equal(code, 2);
    assert.match(stderr, /required option '-i, --input <file>'/);
  });
});
