import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { LogonType } from '../model/activity.js';
import { SEVERITIES, type Severity } from '../model/alert.js';
import { DURATION_HINT, parseDuration } from './duration.js';
import { patternProblem } from './glob.js';
import { fileProblem } from './readable-file.js';

/**
 * The configuration schema: every key optional, defaults from DESIGN.md, unknown keys refused. Durations
 * (`window`, `allowedLateness`, and any `…Ms` key) accept `"5m"`-style strings or milliseconds and come out
 * as milliseconds. Error messages are the *reason* part of a ConfigError ("must be a positive integer");
 * load.ts adds the key and the value.
 */

const POSITIVE_INT = 'must be a positive integer';
const NON_NEGATIVE_INT = 'must be a non-negative integer';

const positiveInt = () =>
  z.number({ error: POSITIVE_INT }).int({ error: POSITIVE_INT }).positive({ error: POSITIVE_INT });
const nonNegativeInt = () =>
  z
    .number({ error: NON_NEGATIVE_INT })
    .int({ error: NON_NEGATIVE_INT })
    .nonnegative({ error: NON_NEGATIVE_INT });
const text = () => z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' });
/** A file the process reads (PEM): it must exist and be readable when the configuration is loaded. */
const readableFile = () =>
  text().superRefine((path, ctx) => {
    const problem = fileProblem(path);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A duration in milliseconds; `positive` refuses 0. */
const duration = (positive: boolean) =>
  z.unknown().transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_HINT });
      return z.NEVER;
    }
    if (positive && ms === 0) {
      ctx.addIssue({ code: 'custom', message: 'must be longer than 0' });
      return z.NEVER;
    }
    return ms;
  });

const LOGON_TYPE_NAMES: ReadonlyMap<string, number> = new Map(
  Object.entries(LogonType).map(([name, value]) => [name.toLowerCase(), value]),
);

const logonType = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = typeof value === 'number' ? value : LOGON_TYPE_NAMES.get(value.trim().toLowerCase());
  if (n === undefined || !Number.isInteger(n) || n < 0) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a logon type number or one of ${Object.keys(LogonType).join(', ')}`,
    });
    return z.NEVER;
  }
  return n;
});

const domain = text().transform((d) => d.toLowerCase());

const rule = (threshold: number, window: string) =>
  z
    .strictObject(
      {
        enabled: z.boolean({ error: 'must be true or false' }).default(true),
        threshold: positiveInt().default(threshold),
        window: duration(true).default(parseDuration(window) as number),
      },
      { error: 'must be an object {enabled, threshold, window}' },
    )
    .transform((r) => ({ enabled: r.enabled, threshold: r.threshold, windowMs: r.window }));

const bulkMailAccess = z
  .strictObject(
    {
      enabled: z.boolean({ error: 'must be true or false' }).default(true),
      // One aggregated record standing for this many accesses (Elastic's "M365 Exchange Mailbox Items
      // Accessed Excessively": OperationCount >= 100).
      operationCount: positiveInt().default(100),
      // This many distinct folders synchronised (MailAccessType Sync) within `window` from one context.
      syncFolders: positiveInt().default(10),
      window: duration(true).default(60 * 60_000),
      // Exchange stops logging Bind reads for 24 hours after it throttles a mailbox's auditing.
      blindFor: duration(true).default(24 * 3_600_000),
    },
    { error: 'must be an object {enabled, operationCount, syncFolders, window, blindFor}' },
  )
  .transform(({ window, blindFor, ...rest }) => ({ ...rest, windowMs: window, blindForMs: blindFor }));

const firstAppAccess = z
  .strictObject(
    {
      enabled: z.boolean({ error: 'must be true or false' }).default(true),
      // An app not seen reading mail for this long is new again (CISA's Storm-0558 advisory; Elastic's
      // new-terms rule on ClientAppId looks back 14 days).
      lookback: duration(true).default(14 * 86_400_000),
      // From the first event time, apps are learned without alerting for this long.
      learnFor: duration(false).default(14 * 86_400_000),
    },
    { error: 'must be an object {enabled, lookback, learnFor}' },
  )
  .transform(({ lookback, learnFor, enabled }) => ({
    enabled,
    lookbackMs: lookback,
    learnForMs: learnFor,
  }));

const firstAccess = z
  .strictObject(
    {
      enabled: z.boolean({ error: 'must be true or false' }).default(true),
      // A pair not seen for this long is new again: the 30-day baselines of Sentinel's and Splunk's
      // first-time mailbox access rules.
      lookback: duration(true).default(30 * 86_400_000),
      // From the earliest event time, pairs are learned without alerting for this long (the lookback: a
      // delegate who opens the mailbox at least monthly is seen once first).
      learnFor: duration(false).default(30 * 86_400_000),
    },
    { error: 'must be an object {enabled, lookback, learnFor}' },
  )
  .transform(({ lookback, learnFor, enabled }) => ({
    enabled,
    lookbackMs: lookback,
    learnForMs: learnFor,
  }));

/** One UPN, SID, app id or glob (glob.ts). */
const pattern = () =>
  text().superRefine((value, ctx) => {
    const problem = patternProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
const patterns = (what: string) => z.array(pattern(), { error: `must be a list of ${what}` }).default([]);

/**
 * A file of mailboxes, one UPN (or glob) a line, `#` comments and blank lines ignored: read and checked when
 * the configuration is loaded, like kafka.ssl's files, so a missing file or a bad line is a ConfigError
 * naming the key (exit 2), and the frozen configuration holds its entries.
 */
const mailboxFile = text().transform((path, ctx) => {
  const problem = fileProblem(path);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  const entries: string[] = [];
  let bad = 0;
  readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      const line = raw.replace(/#.*$/, '').trim();
      if (line === '') return;
      const problem = patternProblem(line);
      if (problem === undefined) entries.push(line);
      else {
        bad++;
        ctx.addIssue({ code: 'custom', message: `line ${index + 1}: ${JSON.stringify(line)} ${problem}` });
      }
    });
  if (entries.length === 0 && bad === 0)
    ctx.addIssue({ code: 'custom', message: 'holds no mailbox (one UPN a line)' });
  return { path, entries };
});

const match = z
  .strictObject(
    {
      mailboxes: patterns('mailbox owner UPNs or globs'),
      mailboxFile: mailboxFile.optional(),
      actors: patterns('actor UPNs, SIDs, app ids or globs'),
    },
    { error: 'must be an object {mailboxes, mailboxFile, actors}' },
  )
  .superRefine((m, ctx) => {
    if (m.mailboxes.length === 0 && m.mailboxFile === undefined && m.actors.length === 0)
      ctx.addIssue({
        code: 'custom',
        message: 'must name mailboxes, a mailboxFile or actors: an empty match is refused',
      });
  })
  .transform(({ mailboxes, mailboxFile, actors }) => ({
    mailboxes: [...mailboxes, ...(mailboxFile?.entries ?? [])],
    actors,
    ...(mailboxFile === undefined ? {} : { mailboxFile: mailboxFile.path }),
  }));

const severity = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` });
/** A policy turns a rule off for its keys, never on: a rule off in detection.rules is off everywhere. */
const off = z
  .literal(false, {
    error: 'a policy can only turn a rule off (enabled: false); a rule off in detection.rules is off for all',
  })
  .optional();

/** What a policy changes in a windowed rule (the bursts, the sweeps). */
const windowedOverride = z
  .strictObject(
    {
      enabled: off,
      threshold: positiveInt().optional(),
      window: z.unknown().optional(),
      severity: severity.optional(),
    },
    { error: 'must be an object {enabled: false, threshold, window, severity}' },
  )
  .transform((o, ctx) => {
    const out: { enabled?: false; threshold?: number; windowMs?: number; severity?: Severity } = {};
    if (o.enabled !== undefined) out.enabled = o.enabled;
    if (o.threshold !== undefined) out.threshold = o.threshold;
    if (o.window !== undefined) {
      const ms = parseDuration(o.window);
      if (ms === undefined || ms === 0) {
        ctx.addIssue({
          code: 'custom',
          message: ms === 0 ? 'must be longer than 0' : DURATION_HINT,
          path: ['window'],
        });
        return z.NEVER;
      }
      out.windowMs = ms;
    }
    if (o.severity !== undefined) out.severity = o.severity;
    return out;
  });

/** What a policy changes in a rule without threshold and window (one alert per occurrence). */
const pointOverride = z
  .strictObject(
    { enabled: off, severity: severity.optional() },
    { error: 'must be an object {enabled: false, severity}' },
  )
  .transform((o) => ({
    ...(o.enabled === undefined ? {} : { enabled: o.enabled }),
    ...(o.severity === undefined ? {} : { severity: o.severity }),
  }));

const policy = z.strictObject(
  {
    name: text().max(100, { error: 'must be at most 100 characters' }),
    match,
    rules: z
      .strictObject({
        nonOwnerBurst: windowedOverride.optional(),
        crossDomainBurst: windowedOverride.optional(),
        mailboxSweep: windowedOverride.optional(),
        appMailboxSweep: windowedOverride.optional(),
        bulkMailAccess: pointOverride.optional(),
        firstAppAccess: pointOverride.optional(),
        firstAccess: pointOverride.optional(),
      })
      .default({}),
  },
  { error: 'must be an object {name, match, rules}' },
);

/** Ordered: the first policy that matches a key decides its rules' settings. Names are unique. */
const policies = z
  .array(policy, { error: 'must be a list of policies [{name, match, rules}]' })
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((p, index) => {
      const first = seen.get(p.name);
      if (first === undefined) seen.set(p.name, index);
      else
        ctx.addIssue({
          code: 'custom',
          message: `policies[${first}] has this name already: names must be unique`,
          path: [index, 'name'],
        });
    });
  });

const detection = z
  .strictObject({
    allowedLateness: duration(false).default(2 * 3_600_000), // two hours
    // A record dated further ahead of the wall clock than this is rejected (RECORD_FROM_FUTURE).
    maxClockSkew: duration(true).default(15 * 60_000), // fifteen minutes
    ignoreLogonTypes: z.array(logonType, { error: 'must be a list of logon types' }).default([3, 4]),
    ignoreSystem: z.boolean({ error: 'must be true or false' }).default(true),
    organizationDomains: z
      .array(
        z.array(domain, {
          error: 'each entry must be a list of domains, e.g. [[contoso.com, contoso.co.uk]]',
        }),
        { error: 'must be a list of domain lists, e.g. [[contoso.com, contoso.co.uk]]' },
      )
      .default([]),
    allowlist: z
      .strictObject({
        actors: z.array(text(), { error: 'must be a list of user ids' }).default([]),
        // Application ids (client app id, else app id) never alerted on, in any case: first-party apps,
        // the tenant's own backup and archiving apps.
        apps: z.array(text(), { error: 'must be a list of application ids' }).default([]),
        delegates: z
          .record(z.string(), z.array(text(), { error: 'must be a list of user ids' }), {
            error: 'must be a map of owner UPN to a list of user ids',
          })
          .default({}),
      })
      .prefault({}),
    rules: z
      .strictObject({
        nonOwnerBurst: rule(20, '5m').prefault({}),
        crossDomainBurst: rule(5, '10m').prefault({}),
        mailboxSweep: rule(10, '10m').prefault({}),
        // More than 5 distinct mailboxes in 10 minutes, as Splunk's "O365 Multiple Mailboxes Accessed via API".
        appMailboxSweep: rule(6, '10m').prefault({}),
        bulkMailAccess: bulkMailAccess.prefault({}),
        firstAppAccess: firstAppAccess.prefault({}),
        firstAccess: firstAccess.prefault({}),
      })
      .prefault({}),
    policies,
  })
  .transform(({ allowedLateness, maxClockSkew, ...rest }) => ({
    allowedLatenessMs: allowedLateness,
    maxClockSkewMs: maxClockSkew,
    ...rest,
  }));

/** `host:port` strings; a comma-separated string is accepted too (as KAFKA_BROKERS gives it). */
const brokers = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((b) => b.trim())
          .filter((b) => b !== '')
      : value,
  z
    .array(text().regex(/^[^\s:]+:\d{1,5}$/, { error: 'must be host:port' }), {
      error: 'must be a list of host:port',
    })
    .min(1, { error: 'must name at least one broker' }),
);

const ssl = z.preprocess(
  (value) => (value === true ? {} : value),
  z.union(
    [
      z.literal(false),
      z.strictObject({
        ca: readableFile().optional(),
        cert: readableFile().optional(),
        key: readableFile().optional(),
        rejectUnauthorized: z.boolean({ error: 'must be true or false' }).default(true),
      }),
    ],
    { error: 'must be false, true or {ca, cert, key, rejectUnauthorized}' },
  ),
);

const sasl = z
  .strictObject(
    {
      mechanism: z.preprocess(
        (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
        z.enum(['plain', 'scram-sha-256', 'scram-sha-512'], {
          error: 'must be one of plain, scram-sha-256, scram-sha-512',
        }),
      ),
      username: text(),
      password: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }),
    },
    { error: 'must be null or {mechanism, username, password}' },
  )
  .nullable();

const kafka = z.strictObject({
  brokers: brokers.default(['localhost:9092']),
  clientId: text().default('mailbox-radar'),
  groupId: text().default('mailbox-radar'),
  ssl: ssl.default(false),
  sasl: sasl.default(null),
  connectionTimeoutMs: duration(true).default(10_000),
  requestTimeoutMs: duration(true).default(30_000),
  // The group drops a member silent this long (its partitions go to the others); Kafka's own default is 45 s.
  sessionTimeoutMs: duration(true).default(30_000),
  topicPartitions: positiveInt().default(3),
  replicationFactor: positiveInt().default(1),
});

const url = text().refine(
  (value) => {
    try {
      const parsed = new URL(value);
      return parsed.protocol === 'http:' || parsed.protocol === 'https:';
    } catch {
      return false;
    }
  },
  { error: 'must be an http(s) URL' },
);

const registry = z
  .strictObject({
    url: url.default('http://localhost:8081'),
    username: text().optional(),
    password: z.string({ error: 'must be a string' }).optional(),
    retries: nonNegativeInt().default(5),
    // How long `run` waits, paused, for a registry that does not answer (or refuses it) before exit 1.
    maxOutage: duration(true).default(5 * 60_000), // five minutes
  })
  .transform(({ maxOutage, ...rest }) => ({ ...rest, maxOutageMs: maxOutage }));

const topic = () =>
  text().regex(/^[A-Za-z0-9._-]{1,249}$/, {
    error: 'must be a Kafka topic name ([A-Za-z0-9._-], at most 249)',
  });

const topics = z.strictObject({
  activity: topic().default('o365.exchange.mailbox-activity'),
  deadLetter: topic().default('o365.exchange.mailbox-activity.dlq'),
  alerts: z
    .strictObject({
      nonOwnerBurst: topic().default('mailbox-radar.alerts.non-owner-burst'),
      crossDomainBurst: topic().default('mailbox-radar.alerts.cross-domain-burst'),
      mailboxSweep: topic().default('mailbox-radar.alerts.mailbox-sweep'),
      appMailboxSweep: topic().default('mailbox-radar.alerts.app-mailbox-sweep'),
      bulkMailAccess: topic().default('mailbox-radar.alerts.bulk-mail-access'),
      firstAppAccess: topic().default('mailbox-radar.alerts.first-app-access'),
      firstAccess: topic().default('mailbox-radar.alerts.first-access'),
    })
    .prefault({}),
});

const PORT = 'must be a port number (0-65535)';

const port = () =>
  z.number({ error: PORT }).int({ error: PORT }).min(0, { error: PORT }).max(65_535, { error: PORT });

const http = z.strictObject({
  host: text().default('0.0.0.0'),
  port: port().default(9464),
});

/**
 * `mailbox-radar dashboard`: on loopback unless told otherwise (alerts name people and mailboxes); basic
 * auth when both username and password are set.
 */
const dashboard = z
  .strictObject({
    host: text().default('127.0.0.1'),
    port: port().default(8080),
    // On open the page shows the alerts published within this much before (read by timestamp offsets).
    history: duration(true).default(6 * 3_600_000), // six hours
    // The pipeline instances' /metrics, read for the charts of records, lag and watermark delay.
    metrics: z.array(url, { error: 'must be a list of http(s) URLs' }).default([]),
    scrapeInterval: duration(true).default(5_000),
    // Alerts kept (the newest by detection time); a page holds what the process holds.
    maxAlerts: positiveInt().default(5_000),
    // The user-id of basic auth ends at the first colon (RFC 7617).
    username: text()
      .refine((name) => !name.includes(':'), { error: 'must not contain a colon' })
      .optional(),
    password: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.username !== undefined && d.password === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message: 'needs dashboard.password too (basic auth takes both)',
      });
    if (d.password !== undefined && d.username === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message: 'needs dashboard.username too (basic auth takes both)',
      });
  })
  .transform(({ history, scrapeInterval, ...rest }) => ({
    ...rest,
    historyMs: history,
    scrapeIntervalMs: scrapeInterval,
  }));

const pipeline = z.strictObject({
  maxInFlightRecords: positiveInt().default(50_000),
  partitionIdleMs: duration(true).default(30_000), // thirty seconds
  commitIntervalMs: duration(true).default(5_000),
  shutdownTimeoutMs: duration(true).default(30_000),
  // Partitions of the actor-keyed repartition topic `run` creates; 0: as many as the activity topic has.
  repartitionPartitions: nonNegativeInt().default(0),
  // Owner and system records classified on their Avro bytes, never decoded (src/kafka/raw-classify.ts).
  classifyRawBytes: z.boolean({ error: 'must be true or false' }).default(true),
  // This host's state of the instance across restarts (src/app/member-slot.ts), as Kafka Streams' state.dir.
  stateDir: text().default(join(tmpdir(), 'mailbox-radar')),
});

const log = z.strictObject({
  level: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  // auto: readable lines when stderr is a terminal, JSON otherwise (a log shipper, a file, a pipe).
  format: z.enum(['auto', 'json', 'pretty'], { error: 'must be one of auto, json, pretty' }).default('auto'),
});

export const configSchema = z.strictObject(
  {
    detection: detection.prefault({}),
    kafka: kafka.prefault({}),
    registry: registry.prefault({}),
    topics: topics.prefault({}),
    http: http.prefault({}),
    dashboard: dashboard.prefault({}),
    pipeline: pipeline.prefault({}),
    log: log.prefault({}),
  },
  { error: 'the configuration must be a mapping of sections (detection, kafka, …)' },
);
