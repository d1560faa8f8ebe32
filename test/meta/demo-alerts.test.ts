/**
 * `make demo`'s summary (issue 9): with several instances a rebalance may deliver an alert twice, with the
 * same alert_id. scripts/demo-alerts.ts reads `tail --json` and counts alerts by distinct alert_id, so a
 * redelivery neither adds an unexpected alert nor a repeat; the exit code says whether every attack was seen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MailboxAccessAlert, RuleName } from '../../src/model/alert.js';
import { alertToJson } from '../../src/model/alert.js';
import type { ManifestAttack } from '../../src/simulate/simulation.js';
import { skipOrFail } from '../support/stack.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SCRIPT = join(ROOT, 'scripts/demo-alerts.ts');

function attack(rule: RuleName, actor: string, mailbox: string | null): ManifestAttack {
  return {
    rule,
    key: {
      mailbox_guid: mailbox,
      mailbox_owner_upn: mailbox === null ? null : `${mailbox}@contoso.com`,
      actor_user_id: actor,
    },
    first_event_time: '2026-11-25T09:00:00.000Z',
    last_event_time: '2026-11-25T09:02:00.000Z',
    record_count: 25,
    distinct_mailbox_count: 1,
    mailboxes: [],
    record_ids: [],
  };
}

const manifest = {
  attacks: {
    non_owner_burst: [attack('non_owner_burst', 'eve@contoso.com', 'mbx-1')],
    cross_domain_burst: [],
    mailbox_sweep: [attack('mailbox_sweep', 'sam@contoso.com', null)],
  },
};

function alert(id: string, rule: RuleName, actor: string, mailbox: string | null): string {
  const value: MailboxAccessAlert = {
    alert_id: id,
    rule,
    severity: 'high',
    organization_id: 'org',
    mailbox_guid: mailbox,
    mailbox_owner_upn: mailbox === null ? null : `${mailbox}@contoso.com`,
    actor_user_id: actor,
    actor_sid: null,
    actor_display_name: null,
    actor_domain: null,
    first_seen: Date.parse('2026-11-25T09:00:00Z'),
    last_seen: Date.parse('2026-11-25T09:02:00Z'),
    detected_at: Date.parse('2026-11-25T09:02:00Z'),
    event_count: 25,
    distinct_mailbox_count: 1,
    threshold: 20,
    window_ms: 600_000,
    external_access_seen: false,
    sample_record_ids: [],
    client_ips: [],
    operations: [],
    mailboxes: [],
  };
  return JSON.stringify(alertToJson(value));
}

/** Runs the script on the given tail --json lines; its stdout, the summary file and the exit code. */
function demoAlerts(lines: string[]): {
  status: number | null;
  stdout: string;
  summary: string;
  kept: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'radar-demo-'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const files = ['manifest.json', 'alerts.ndjson', 'summary.txt'].map((name) => join(dir, name));
  const result = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...files], {
    input: lines.map((line) => `${line}\n`).join(''),
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 30_000,
  });
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return { status: result.status, stdout: result.stdout, summary: read(files[2]!), kept: read(files[1]!) };
}

test('the demo counts alerts by distinct alert_id: a redelivery is no unexpected alert and no repeat', () => {
  const burst = alert('a1', 'non_owner_burst', 'eve@contoso.com', 'mbx-1');
  const sweep = alert('a2', 'mailbox_sweep', 'sam@contoso.com', null);
  const stray = alert('a3', 'non_owner_burst', 'bob@contoso.com', 'mbx-9');
  const { status, stdout, summary, kept } = demoAlerts([burst, sweep, stray, burst, stray, sweep]);
  assert.equal(status, 0, summary);
  // Each alert printed once for people; every delivery kept in the file.
  assert.equal(stdout.trim().split('\n').length, 3, stdout);
  assert.equal(kept.trim().split('\n').length, 6);
  assert.match(summary, /^non_owner_burst\s+1\s+1\s+0\s+1$/m);
  assert.match(summary, /^mailbox_sweep\s+1\s+1\s+0\s+0$/m);
  assert.match(summary, /6 alerts received, 3 distinct alert_ids \(3 redelivered\)/);
});

test('the demo exits 1 when an injected attack has no alert', () => {
  const { status, summary } = demoAlerts([alert('a1', 'non_owner_burst', 'eve@contoso.com', 'mbx-1')]);
  assert.equal(status, 1);
  assert.match(summary, /^mailbox_sweep\s+1\s+0\s+1\s+0$/m);
  assert.match(summary, /missed mailbox_sweep: actor sam@contoso.com/);
});

test('on a terminal each alert first clears the line, so it never glues onto simulate’s progress line', (t) => {
  if (spawnSync('script', ['--version']).status !== 0)
    return skipOrFail(t, 'no `script` (util-linux) to give the view a terminal');
  const dir = mkdtempSync(join(tmpdir(), 'radar-demo-tty-'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const input = [
    alert('a1', 'non_owner_burst', 'eve@contoso.com', 'mbx-1'),
    alert('a2', 'mailbox_sweep', 'sam@contoso.com', null),
  ];
  writeFileSync(join(dir, 'in.ndjson'), input.map((line) => `${line}\n`).join(''));
  const files = ['manifest.json', 'alerts.ndjson', 'summary.txt'].map((name) => join(dir, name));
  // `script` runs the view with a pseudo-terminal as its stdout, as `make demo` does on a terminal.
  const command = [process.execPath, '--import', 'tsx', SCRIPT, ...files].map((a) => `'${a}'`).join(' ');
  const result = spawnSync('script', ['-qec', `${command} < '${join(dir, 'in.ndjson')}'`, '/dev/null'], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 30_000,
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const clear = '\r\u001b[2K';
  const at = result.stdout.indexOf('non_owner_burst');
  assert.ok(at > 0, result.stdout);
  const line = result.stdout.slice(result.stdout.lastIndexOf(clear, at), at);
  assert.match(
    line.slice(clear.length),
    /^\d{4}-\d\d-\d\dT\S+Z\s+open\s+high\s+$/,
    JSON.stringify(result.stdout),
  );
  // Not on a terminal (a file, a pipe): plain lines.
  const plain = demoAlerts([alert('a1', 'non_owner_burst', 'eve@contoso.com', 'mbx-1')]).stdout;
  assert.ok(plain.includes('non_owner_burst') && !plain.includes('\u001b'), JSON.stringify(plain));
});
