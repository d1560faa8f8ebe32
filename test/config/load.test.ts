import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig, loadConfig, parseConfig, ConfigProblems } from '../../src/config/load.js';
import { ConfigError, ErrorCodes, RadarError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function file(text: string, extension = 'yaml'): string {
  const path = join(dir, `config-${++files}.${extension}`);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError a load throws, checked for type. */
function problem(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, ErrorCodes.CONFIG_INVALID);
    return error;
  }
  assert.fail('expected the configuration to be refused');
}

describe('config', () => {
  it('has the defaults of DESIGN.md', () => {
    const config = defaultConfig();
    assert.equal(config.detection.allowedLatenessMs, 2 * 3_600_000);
    assert.equal(config.detection.maxClockSkewMs, 15 * 60_000);
    assert.deepEqual(config.detection.ignoreLogonTypes, [3, 4]);
    assert.equal(config.detection.ignoreSystem, true);
    assert.deepEqual(config.detection.organizationDomains, []);
    assert.deepEqual(config.detection.allowlist, { actors: [], apps: [], delegates: {} });
    assert.deepEqual(config.detection.rules, {
      nonOwnerBurst: { enabled: true, threshold: 20, windowMs: 300_000 },
      crossDomainBurst: { enabled: true, threshold: 5, windowMs: 600_000 },
      mailboxSweep: { enabled: true, threshold: 10, windowMs: 600_000 },
      appMailboxSweep: { enabled: true, threshold: 6, windowMs: 600_000 },
      bulkMailAccess: {
        enabled: true,
        operationCount: 100,
        syncFolders: 10,
        windowMs: 3_600_000,
        blindForMs: 86_400_000,
      },
      firstAppAccess: { enabled: true, lookbackMs: 14 * 86_400_000, learnForMs: 14 * 86_400_000 },
      firstAccess: { enabled: true, lookbackMs: 30 * 86_400_000, learnForMs: 30 * 86_400_000 },
    });
    assert.deepEqual(config.detection.policies, []);
    assert.deepEqual(config.kafka, {
      brokers: ['localhost:9092'],
      clientId: 'mailbox-radar',
      groupId: 'mailbox-radar',
      ssl: false,
      sasl: null,
      connectionTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      sessionTimeoutMs: 30_000,
      topicPartitions: 3,
      replicationFactor: 1,
    });
    assert.deepEqual(config.registry, { url: 'http://localhost:8081', retries: 5, maxOutageMs: 300_000 });
    assert.deepEqual(config.topics, {
      activity: 'o365.exchange.mailbox-activity',
      deadLetter: 'o365.exchange.mailbox-activity.dlq',
      alerts: {
        nonOwnerBurst: 'mailbox-radar.alerts.non-owner-burst',
        crossDomainBurst: 'mailbox-radar.alerts.cross-domain-burst',
        mailboxSweep: 'mailbox-radar.alerts.mailbox-sweep',
        appMailboxSweep: 'mailbox-radar.alerts.app-mailbox-sweep',
        bulkMailAccess: 'mailbox-radar.alerts.bulk-mail-access',
        firstAppAccess: 'mailbox-radar.alerts.first-app-access',
        firstAccess: 'mailbox-radar.alerts.first-access',
      },
    });
    assert.deepEqual(config.http, { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(config.pipeline, {
      maxInFlightRecords: 50_000,
      partitionIdleMs: 30_000,
      commitIntervalMs: 5_000,
      shutdownTimeoutMs: 30_000,
      repartitionPartitions: 0,
      classifyRawBytes: true,
      stateDir: join(tmpdir(), 'mailbox-radar'),
    });
    assert.deepEqual(config.log, { level: 'info', format: 'auto' });
  });

  it('reads the YAML of DESIGN.md', () => {
    const config = loadConfig({
      file: file(`
detection:
  allowedLateness: 90m
  ignoreLogonTypes: [3, 4, SystemService]
  organizationDomains: [["Contoso.com", "contoso.co.uk"]]
  allowlist:
    actors: ["svc-archive@contoso.com"]
    delegates: { "ceo@contoso.com": ["assistant@contoso.com"] }
  rules:
    nonOwnerBurst:    { enabled: true, threshold: 30, window: 5m }
    crossDomainBurst: { enabled: false, threshold: 5,  window: 10m }
    mailboxSweep:     { threshold: 12, window: 1h }
kafka:    { brokers: ["k1:9092", "k2:9092"], clientId: radar, groupId: radar-group, ssl: true,
            sasl: { mechanism: SCRAM-SHA-512, username: radar, password: s3cret } }
registry: { url: "https://registry:8081", username: u, password: p }
topics:
  activity: activity
  deadLetter: activity.dlq
  alerts: { nonOwnerBurst: alerts.non-owner }
http: { port: 0 }
pipeline: { commitIntervalMs: 2s }
log: { level: debug }
`),
    });
    assert.equal(config.detection.allowedLatenessMs, 90 * 60_000);
    assert.deepEqual(config.detection.ignoreLogonTypes, [3, 4, 4]);
    assert.deepEqual(config.detection.organizationDomains, [['contoso.com', 'contoso.co.uk']]);
    assert.deepEqual(config.detection.allowlist.delegates, { 'ceo@contoso.com': ['assistant@contoso.com'] });
    assert.deepEqual(config.detection.rules.nonOwnerBurst, {
      enabled: true,
      threshold: 30,
      windowMs: 300_000,
    });
    assert.equal(config.detection.rules.crossDomainBurst.enabled, false);
    assert.deepEqual(config.detection.rules.mailboxSweep, {
      enabled: true,
      threshold: 12,
      windowMs: 3_600_000,
    });
    assert.deepEqual(config.kafka.brokers, ['k1:9092', 'k2:9092']);
    assert.deepEqual(config.kafka.ssl, { rejectUnauthorized: true });
    assert.deepEqual(config.kafka.sasl, {
      mechanism: 'scram-sha-512',
      username: 'radar',
      password: 's3cret',
    });
    assert.equal(config.registry.url, 'https://registry:8081');
    assert.equal(config.topics.alerts.nonOwnerBurst, 'alerts.non-owner');
    assert.equal(config.topics.alerts.mailboxSweep, 'mailbox-radar.alerts.mailbox-sweep');
    assert.equal(config.http.port, 0);
    assert.equal(config.pipeline.commitIntervalMs, 2_000);
    assert.equal(config.log.level, 'debug');
  });

  it('reads JSON, and an empty file as all defaults', () => {
    const json = loadConfig({
      file: file('{"detection": {"rules": {"nonOwnerBurst": {"threshold": 7}}}}', 'json'),
    });
    assert.equal(json.detection.rules.nonOwnerBurst.threshold, 7);
    assert.deepEqual(loadConfig({ file: file('') }), defaultConfig());
  });

  it('is frozen all the way down', () => {
    const config = defaultConfig();
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.detection.rules.nonOwnerBurst));
    assert.ok(Object.isFrozen(config.kafka.brokers));
    assert.throws(() => {
      (config.detection.rules.nonOwnerBurst as { threshold: number }).threshold = 1;
    }, TypeError);
  });

  it('refuses a bad value with the key, the value and the reason', () => {
    const error = problem(() => parseConfig({ detection: { rules: { nonOwnerBurst: { threshold: -1 } } } }));
    assert.equal(
      error.message,
      'invalid config detection.rules.nonOwnerBurst.threshold=-1: must be a positive integer',
    );
    assert.equal(error.key, 'detection.rules.nonOwnerBurst.threshold');
    assert.equal(error.value, -1);
  });

  it('explains bad durations, types, enums and list entries', () => {
    const cases: [unknown, RegExp][] = [
      [
        { detection: { rules: { mailboxSweep: { window: '10 minutes' } } } },
        /^invalid config detection\.rules\.mailboxSweep\.window="10 minutes": must be a duration/,
      ],
      [{ detection: { rules: { mailboxSweep: { window: 0 } } } }, /window=0: must be longer than 0/],
      [{ detection: { allowedLateness: 'soon' } }, /detection\.allowedLateness="soon": must be a duration/],
      [{ detection: { ignoreSystem: 'yes' } }, /detection\.ignoreSystem="yes": must be true or false/],
      [
        { detection: { ignoreLogonTypes: [3, 'Nope'] } },
        /detection\.ignoreLogonTypes\[1\]="Nope": must be a logon type/,
      ],
      [
        { detection: { organizationDomains: ['contoso.com'] } },
        /organizationDomains\[0\]="contoso.com": each entry must be a list of domains/,
      ],
      [{ kafka: { brokers: 'localhost' } }, /kafka\.brokers="localhost": must be host:port/],
      [{ kafka: { brokers: [] } }, /kafka\.brokers=\[\]: must name at least one broker/],
      [{ kafka: { ssl: { ca: 5 } } }, /kafka\.ssl\.ca=5: must be a string/],
      [{ kafka: { ssl: 'on' } }, /kafka\.ssl="on": must be false, true or/],
      [
        { kafka: { sasl: { mechanism: 'kerberos', username: 'u', password: 'p' } } },
        /kafka\.sasl\.mechanism="kerberos": must be one of plain/,
      ],
      [
        { kafka: { sasl: { mechanism: 'plain', password: 'p' } } },
        /kafka\.sasl\.username=\(missing\): is required/,
      ],
      [{ registry: { url: 'ftp://x' } }, /registry\.url="ftp:\/\/x": must be an http\(s\) URL/],
      [{ http: { port: 70_000 } }, /http\.port=70000: must be a port number/],
      [{ topics: { activity: 'bad topic' } }, /topics\.activity="bad topic": must be a Kafka topic name/],
      [{ log: { level: 'loud' } }, /log\.level="loud": must be one of fatal/],
      [{ log: { format: 'xml' } }, /log\.format="xml": must be one of auto, json, pretty/],
      [{ pipeline: { maxInFlightRecords: 0 } }, /pipeline\.maxInFlightRecords=0: must be a positive integer/],
      [['not', 'a', 'mapping'], /^invalid config \(root\)=.*the configuration must be a mapping/],
    ];
    for (const [input, expected] of cases) assert.match(problem(() => parseConfig(input)).message, expected);
  });

  it('refuses unknown keys, suggesting the likely one', () => {
    const error = problem(() => parseConfig({ detection: { rules: { nonOwnerBurst: { treshold: 5 } } } }));
    assert.equal(error.key, 'detection.rules.nonOwnerBurst.treshold');
    assert.match(error.message, /unknown key \(did you mean threshold\?\)/);
    assert.match(
      problem(() => parseConfig({ detecton: {} })).message,
      /^invalid config detecton=\{\}: unknown key \(did you mean detection\?\)/,
    );
    assert.match(problem(() => parseConfig({ kafka: { brokerz: ['a:1'] } })).message, /kafka\.brokerz/);
  });

  it('lists every problem, the first one as the error', () => {
    const error = problem(() =>
      parseConfig({
        detection: { rules: { nonOwnerBurst: { threshold: 0 }, mailboxSweep: { window: 'x' } } },
        http: { port: -1 },
      }),
    );
    assert.ok(error instanceof ConfigProblems);
    assert.equal(error.problems.length, 3);
    assert.equal(error.key, 'detection.rules.nonOwnerBurst.threshold');
    assert.equal(error.message.split('\n').length, 3);
    assert.match(error.message, /also: invalid config http\.port=-1/);
  });

  it('never shows a password', () => {
    const cases: unknown[] = [
      { kafka: { sasl: { mechanism: 'plain', username: 'u', password: 12345 } } },
      { kafka: { sasl: 'u:hunter2' } },
      { kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'hunter2', pasword: 'hunter2' } } },
      { registry: { password: 12345, pasword: 'hunter2' } },
      {
        kafka: { sasl: { mechanism: 'nope', username: 'u', password: 'hunter2' } },
        registry: { url: 'bad', password: 'hunter2' },
      },
    ];
    for (const input of cases) {
      const error = problem(() => parseConfig(input));
      assert.doesNotMatch(error.message, /hunter2|12345/, error.message);
      assert.doesNotMatch(JSON.stringify(error.value) ?? '', /hunter2|12345/);
    }
  });

  describe('environment overrides', () => {
    it('sets any key through MAILBOX_RADAR_<PATH>, values read as YAML', () => {
      const config = loadConfig({
        file: file('detection: { rules: { nonOwnerBurst: { threshold: 20 } } }'),
        env: {
          MAILBOX_RADAR_DETECTION__RULES__NON_OWNER_BURST__THRESHOLD: '30',
          MAILBOX_RADAR_DETECTION__RULES__MAILBOX_SWEEP__ENABLED: 'false',
          MAILBOX_RADAR_DETECTION__ALLOWED_LATENESS: '30m',
          MAILBOX_RADAR_DETECTION__ORGANIZATION_DOMAINS: '[[contoso.com, contoso.co.uk]]',
          MAILBOX_RADAR_KAFKA__SASL: '{mechanism: plain, username: radar, password: x}',
          MAILBOX_RADAR_KAFKA__SASL__PASSWORD: '0123',
          MAILBOX_RADAR_TOPICS__DEAD_LETTER: 'dlq',
          MAILBOX_RADAR_CONFIG: '/ignored.yaml',
          UNRELATED: 'x',
        },
      });
      assert.equal(config.detection.rules.nonOwnerBurst.threshold, 30);
      assert.equal(config.detection.rules.mailboxSweep.enabled, false);
      assert.equal(config.detection.allowedLatenessMs, 30 * 60_000);
      assert.deepEqual(config.detection.organizationDomains, [['contoso.com', 'contoso.co.uk']]);
      assert.deepEqual(config.kafka.sasl, { mechanism: 'plain', username: 'radar', password: '0123' });
      assert.equal(config.topics.deadLetter, 'dlq');
    });

    it('reads KAFKA_BROKERS and SCHEMA_REGISTRY_URL, the MAILBOX_RADAR_ form winning', () => {
      const config = loadConfig({
        env: { KAFKA_BROKERS: 'a:9092, b:9093', SCHEMA_REGISTRY_URL: 'http://registry:8081' },
      });
      assert.deepEqual(config.kafka.brokers, ['a:9092', 'b:9093']);
      assert.equal(config.registry.url, 'http://registry:8081');
      const both = loadConfig({ env: { KAFKA_BROKERS: 'a:9092', MAILBOX_RADAR_KAFKA__BROKERS: '[c:9094]' } });
      assert.deepEqual(both.kafka.brokers, ['c:9094']);
    });

    it('says which variable set a bad value, and refuses unknown paths', () => {
      const bad = problem(() =>
        loadConfig({ env: { MAILBOX_RADAR_DETECTION__RULES__NON_OWNER_BURST__THRESHOLD: '-1' } }),
      );
      assert.equal(
        bad.message,
        'invalid config detection.rules.nonOwnerBurst.threshold=-1: must be a positive integer (from MAILBOX_RADAR_DETECTION__RULES__NON_OWNER_BURST__THRESHOLD)',
      );
      const unknown = problem(() =>
        loadConfig({ env: { MAILBOX_RADAR_DETECTION__RULES__NON_OWNER__THRESHOLD: '5' } }),
      );
      assert.match(
        unknown.message,
        /detection\.rules\.nonOwner=.*unknown key \(did you mean nonOwnerBurst\?\) \(from MAILBOX_RADAR_DETECTION__RULES__NON_OWNER__THRESHOLD\)/,
      );
      const broker = problem(() => loadConfig({ env: { KAFKA_BROKERS: 'nohost' } }));
      assert.match(broker.message, /kafka\.brokers="nohost": must be host:port \(from KAFKA_BROKERS\)/);
    });

    it('masks a password set from the environment', () => {
      const error = problem(() => loadConfig({ env: { MAILBOX_RADAR_KAFKA__SASL: 'hunter2' } }));
      assert.doesNotMatch(error.message, /hunter2/);
    });
  });

  describe('files', () => {
    it('says a missing file is missing', () => {
      assert.throws(
        () => loadConfig({ file: join(dir, 'nope.yaml') }),
        (error: unknown) =>
          error instanceof RadarError &&
          error.code === ErrorCodes.CONFIG_NOT_FOUND &&
          /nope\.yaml: no such file/.test(error.message),
      );
    });

    it('refuses YAML that does not parse, without quoting the file', () => {
      const path = file('kafka:\n  sasl: { password: hunter2\n  brokers: [');
      assert.throws(
        () => loadConfig({ file: path }),
        (error: unknown) =>
          error instanceof RadarError &&
          error.code === ErrorCodes.CONFIG_INVALID &&
          error.message.startsWith(`invalid config file ${path}: `) &&
          !error.message.includes('hunter2'),
      );
    });
  });

  describe('file paths in the configuration (kafka.ssl.ca, cert, key)', () => {
    it('refuses a file that does not exist, naming the key and the path', () => {
      for (const key of ['ca', 'cert', 'key'] as const) {
        const path = join(dir, `missing-${key}.pem`);
        const error = problem(() => parseConfig({ kafka: { ssl: { [key]: path } } }));
        assert.equal(error.key, `kafka.ssl.${key}`);
        assert.equal(error.value, path);
        assert.equal(error.message, `invalid config kafka.ssl.${key}="${path}": file not found`);
      }
    });

    it('refuses a directory', () => {
      const folder = join(dir, 'a-directory.pem');
      mkdirSync(folder, { recursive: true });
      const error = problem(() => parseConfig({ kafka: { ssl: { ca: folder } } }));
      assert.equal(error.key, 'kafka.ssl.ca');
      assert.match(error.message, /: is a directory, not a file$/);
    });

    it('lists every missing file, not just the first', () => {
      const error = problem(() =>
        parseConfig({ kafka: { ssl: { ca: join(dir, 'no-ca'), cert: join(dir, 'no-cert') } } }),
      );
      assert.ok(error instanceof ConfigProblems);
      assert.deepEqual(
        error.problems.map((p) => p.key),
        ['kafka.ssl.ca', 'kafka.ssl.cert'],
      );
    });

    it('accepts files that exist', () => {
      const ca = file('-----BEGIN CERTIFICATE-----\n', 'pem');
      const config = parseConfig({ kafka: { ssl: { ca, cert: ca, key: ca } } });
      assert.deepEqual(config.kafka.ssl, { ca, cert: ca, key: ca, rejectUnauthorized: true });
    });

    it("the README's cluster example, its CA missing here, is one line naming kafka.ssl.ca", () => {
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const example = /```yaml\n(# radar\.yaml\n[^]*?)```/.exec(readme)?.[1];
      assert.ok(example, 'the README has a radar.yaml example');
      const ca = /ca: (\S+?) ?\}/.exec(example)?.[1];
      assert.ok(ca !== undefined && !existsSync(ca), `its CA file (${ca}) is absent on this machine`);
      const error = problem(() =>
        loadConfig({
          file: file(example),
          env: { MAILBOX_RADAR_KAFKA__SASL__PASSWORD: 'x', MAILBOX_RADAR_REGISTRY__PASSWORD: 'y' },
        }),
      );
      assert.equal(error.key, 'kafka.ssl.ca');
      assert.equal(error.message, `invalid config kafka.ssl.ca="${ca}": file not found`);
    });
  });
});
