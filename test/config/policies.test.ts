/** Issue 10.1: `detection.policies` is validated like the rest of the configuration. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig, loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError, ErrorCodes } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-policies-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The message of the ConfigError that `policies` is refused with. */
function refused(policies: unknown): string {
  try {
    parseConfig({ detection: { policies } });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.code, ErrorCodes.CONFIG_INVALID);
    return error.message;
  }
  assert.fail('expected the policies to be refused');
}

describe('detection.policies', () => {
  it('defaults to none, and reads a full policy: durations to ms, file entries into mailboxes', () => {
    assert.deepEqual(defaultConfig().detection.policies, []);
    const file = join(dir, 'legal.txt');
    writeFileSync(file, 'kim@legal.contoso.com\n# departed: lee@legal.contoso.com\n*@hr.contoso.com\n');
    const config = loadConfig({
      file: writeConfig(`
detection:
  policies:
    - name: executives
      match: { mailboxes: ["ceo@contoso.com", "*@legal.contoso.com"], mailboxFile: ${file} }
      rules:
        nonOwnerBurst: { threshold: 5, window: 2m, severity: high }
        mailboxSweep: { enabled: false }
        bulkMailAccess: { severity: critical }
    - name: service accounts
      match: { actors: ["svc-*@contoso.com", "S-1-5-21-1004336348-1177238915-682003330-512"] }
      rules: { nonOwnerBurst: { enabled: false } }
    - name: helpdesk on executives
      match: { mailboxes: ["ceo@contoso.com"], actors: ["adm-*@contoso.com"] }
`),
    });
    assert.deepEqual(config.detection.policies, [
      {
        name: 'executives',
        match: {
          mailboxes: ['ceo@contoso.com', '*@legal.contoso.com', 'kim@legal.contoso.com', '*@hr.contoso.com'],
          actors: [],
          mailboxFile: file,
        },
        rules: {
          nonOwnerBurst: { threshold: 5, windowMs: 120_000, severity: 'high' },
          mailboxSweep: { enabled: false },
          bulkMailAccess: { severity: 'critical' },
        },
      },
      {
        name: 'service accounts',
        match: {
          mailboxes: [],
          actors: ['svc-*@contoso.com', 'S-1-5-21-1004336348-1177238915-682003330-512'],
        },
        rules: { nonOwnerBurst: { enabled: false } },
      },
      {
        name: 'helpdesk on executives',
        match: { mailboxes: ['ceo@contoso.com'], actors: ['adm-*@contoso.com'] },
        rules: {},
      },
    ]);
    assert.ok(Object.isFrozen(config.detection.policies[0]?.match.mailboxes));
  });

  it('refuses unknown keys, with a suggestion', () => {
    assert.equal(
      refused([{ name: 'a', match: { actors: ['x'] }, rules: { nonOwner: { threshold: 5 } } }]),
      'invalid config detection.policies[0].rules.nonOwner={"threshold":5}: unknown key (did you mean nonOwnerBurst?)',
    );
    assert.match(
      refused([{ name: 'a', match: { actor: ['x'] } }]),
      /policies\[0\]\.match\.actor=\["x"\]: unknown key \(did you mean actors\?\)/,
    );
    assert.match(
      refused([{ name: 'a', match: { actors: ['x'] }, colour: 'red' }]),
      /policies\[0\]\.colour="red": unknown key/,
    );
    // Settings a rule does not have: a threshold of bulk_mail_access.
    assert.match(
      refused([{ name: 'a', match: { actors: ['x'] }, rules: { bulkMailAccess: { threshold: 3 } } }]),
      /policies\[0\]\.rules\.bulkMailAccess\.threshold=3: unknown key/,
    );
  });

  it('refuses an empty match, and a policy without one', () => {
    assert.equal(
      refused([{ name: 'a', match: {} }]),
      'invalid config detection.policies[0].match={}: must name mailboxes, a mailboxFile or actors: an empty match is refused',
    );
    assert.match(refused([{ name: 'a', match: { mailboxes: [], actors: [] } }]), /an empty match is refused/);
    assert.match(refused([{ name: 'a' }]), /detection\.policies\[0\]\.match=\(missing\): is required/);
  });

  it('refuses a bad glob, naming the entry', () => {
    const cases: [string, RegExp][] = [
      [
        'jane doe@contoso.com',
        /mailboxes\[0\]="jane doe@contoso.com": must be one UPN, SID or glob, without spaces/,
      ],
      ['a@contoso.com, b@contoso.com', /one UPN, SID or glob per entry \(a list is written \[a, b\]\)/],
      ['[ab]*@contoso.com', /\[ \] \{ \} \( \) \| are not pattern syntax here/],
      ['**@contoso.com', /\*\* is not pattern syntax here: \* already matches any characters/],
      ['/etc/radar/vips.txt', /not a path \(a file of UPNs is mailboxFile\)/],
      ['', /must not be empty/],
    ];
    for (const [pattern, reason] of cases)
      assert.match(refused([{ name: 'a', match: { mailboxes: [pattern] } }]), reason);
    assert.match(
      refused([{ name: 'a', match: { actors: ['svc-{a,b}@contoso.com'] } }]),
      /actors\[0\]=.*not pattern syntax/,
    );
  });

  it('checks the mailbox file when the configuration is loaded: missing, a directory, a bad line, empty', () => {
    const missing = join(dir, 'nope.txt');
    assert.equal(
      refused([{ name: 'a', match: { mailboxFile: missing } }]),
      `invalid config detection.policies[0].match.mailboxFile="${missing}": file not found`,
    );
    const folder = join(dir, 'folder.txt');
    mkdirSync(folder, { recursive: true });
    assert.match(refused([{ name: 'a', match: { mailboxFile: folder } }]), /is a directory, not a file$/);
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'ceo@contoso.com\n\njane doe@contoso.com\n');
    assert.equal(
      refused([{ name: 'a', match: { mailboxFile: bad } }]),
      `invalid config detection.policies[0].match.mailboxFile="${bad}": line 3: "jane doe@contoso.com" must be one UPN, SID or glob, without spaces`,
    );
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '# nobody yet\n\n');
    assert.match(
      refused([{ name: 'a', match: { mailboxFile: empty } }]),
      /holds no mailbox \(one UPN a line\)$/,
    );
  });

  it('refuses turning a rule on, a bad override, a duplicate name', () => {
    assert.match(
      refused([{ name: 'a', match: { actors: ['x'] }, rules: { mailboxSweep: { enabled: true } } }]),
      /rules\.mailboxSweep\.enabled=true: a policy can only turn a rule off \(enabled: false\)/,
    );
    assert.match(
      refused([{ name: 'a', match: { actors: ['x'] }, rules: { nonOwnerBurst: { window: '0s' } } }]),
      /rules\.nonOwnerBurst\.window="0s": must be longer than 0/,
    );
    assert.match(
      refused([{ name: 'a', match: { actors: ['x'] }, rules: { nonOwnerBurst: { threshold: 0 } } }]),
      /rules\.nonOwnerBurst\.threshold=0: must be a positive integer/,
    );
    assert.match(
      refused([{ name: 'a', match: { actors: ['x'] }, rules: { nonOwnerBurst: { severity: 'urgent' } } }]),
      /severity="urgent": must be one of low, medium, high, critical/,
    );
    assert.equal(
      refused([
        { name: 'vip', match: { actors: ['x'] } },
        { name: 'vip', match: { actors: ['y'] } },
      ]),
      'invalid config detection.policies[1].name="vip": policies[0] has this name already: names must be unique',
    );
  });

  it('comes from the environment too, as a YAML flow value', () => {
    const config = loadConfig({
      env: {
        MAILBOX_RADAR_DETECTION__POLICIES:
          '[{name: helpdesk, match: {actors: ["adm-*@contoso.com"]}, rules: {nonOwnerBurst: {threshold: 40}}}]',
      },
    });
    assert.deepEqual(config.detection.policies[0]?.rules, { nonOwnerBurst: { threshold: 40 } });
  });
});

let files = 0;
function writeConfig(text: string): string {
  const path = join(dir, `config-${++files}.yaml`);
  writeFileSync(path, text);
  return path;
}
