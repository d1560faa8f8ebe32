/**
 * A deterministic synthetic tenant's Exchange mailbox audit stream for benchmarks: thousands of
 * mailboxes and actors, mostly owners reading their own mail, some delegates, admins, SYSTEM, guests
 * from another domain, repeated deliveries, event times a little out of order — and a few injected
 * bursts (one of each rule per injection). Same options, same records. Shared by the core bench
 * (NDJSON → replay path) and the Kafka bench (Avro-framed buffers → decode → core).
 */
import type { ExchangeMailboxActivity } from '../src/model/activity.js';
import type { RuleName } from '../src/model/alert.js';

export interface GenerateOptions {
  /** Records to produce, injected bursts and repeated deliveries included (default 1 000 000). */
  records?: number;
  /** PRNG seed (default 42). */
  seed?: number;
  /** Event time of the first record (default 2024-03-01T00:00:00Z). */
  start?: number;
  /** Event time the stream spans (default 24 h per million records: the traffic density stays the same). */
  durationMs?: number;
  /** Users, each owning one mailbox (default 5 000). */
  users?: number;
  /** Shared mailboxes (default 200). */
  sharedMailboxes?: number;
  /** Injections of one burst per rule, spread evenly (default 20). */
  injections?: number;
}

/** Where the generator injected a burst, for checking the alerts. */
export interface InjectedBurst {
  rule: RuleName;
  actor: string;
  /** Event time of the burst's first record. */
  start: number;
}

export const BENCH_DEFAULTS: Required<Omit<GenerateOptions, 'durationMs'>> = {
  records: 1_000_000,
  seed: 42,
  start: Date.UTC(2024, 2, 1),
  users: 5_000,
  sharedMailboxes: 200,
  injections: 20,
};

const ORG_ID = '6f1c0d3e-2b8a-4c55-9a61-1e0d5b7c9f00';
const OWNER_OPERATIONS = [
  'MailItemsAccessed',
  'MailItemsAccessed',
  'MailItemsAccessed',
  'Send',
  'Update',
  'MoveToDeletedItems',
  'SoftDelete',
  'Create',
];
const CLIENTS = [
  'Client=OWA;Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120.0',
  'Client=REST;Client=RESTSystem;;',
  'Client=MSExchangeRPC',
  'Client=Outlook-iOS/2.0',
];
const SERVERS = [
  'MWHPR06MB3440 (15.20.4065.028)',
  'SJ0PR06MB6863 (15.20.4065.027)',
  'AM0PR01MB1234 (15.20.4065.028)',
];

function resolve(options: GenerateOptions): Required<GenerateOptions> {
  const o = { ...BENCH_DEFAULTS, ...options };
  return { ...o, durationMs: options.durationMs ?? o.records * 86.4 }; // 24 h per million
}

/** mulberry32: small, fast, good enough for synthetic traffic. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Mailbox {
  guid: string;
  upn: string;
  sid: string;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function guid(kind: number, n: number): string {
  return `${hex(kind, 8)}-0000-4000-8000-${hex(n, 12)}`;
}

/** The injection schedule: which bursts, on which actors, starting at which record index. */
export function injectionPlan(
  options: GenerateOptions = {},
): { index: number; rule: RuleName; serial: number }[] {
  const o = { ...BENCH_DEFAULTS, ...options };
  const plan: { index: number; rule: RuleName; serial: number }[] = [];
  const every = Math.floor(o.records / (o.injections + 1));
  for (let k = 1; k <= o.injections; k++) {
    for (const [offset, rule] of (
      ['non_owner_burst', 'cross_domain_burst', 'mailbox_sweep'] as const
    ).entries()) {
      plan.push({ index: k * every + offset * 1_000, rule, serial: k });
    }
  }
  return plan;
}

/**
 * The records, streamed. Event times advance evenly over `durationMs` with up to a minute of disorder;
 * about 1% are delivered twice.
 */
export function* generateActivity(options: GenerateOptions = {}): Generator<ExchangeMailboxActivity> {
  const o = resolve(options);
  const random = prng(o.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  const users: Mailbox[] = Array.from({ length: o.users }, (_, i) => ({
    guid: guid(1, i),
    upn: `user${i}@contoso.com`,
    sid: `S-1-5-21-1004336348-1177238915-682003330-${10_000 + i}`,
  }));
  const shared: Mailbox[] = Array.from({ length: o.sharedMailboxes }, (_, i) => ({
    guid: guid(2, i),
    upn: `shared${i}@contoso.com`,
    sid: `S-1-5-21-1004336348-1177238915-682003330-${90_000 + i}`,
  }));
  const admins = Array.from({ length: 50 }, (_, i) => ({
    upn: `admin${i}@contoso.com`,
    sid: `S-1-5-21-1004336348-1177238915-682003330-${80_000 + i}`,
  }));
  const guests = Array.from({ length: 100 }, (_, i) => ({
    upn: `guest${i}@fabrikam.com`,
    sid: `S-1-5-21-2222222222-3333333333-4444444444-${1_000 + i}`,
  }));
  const ipv4 = Array.from(
    { length: 2_000 },
    (_, i) => `${20 + (i % 200)}.${(i * 7) % 256}.${(i * 13) % 256}.${(i * 31) % 256}`,
  );
  const ips = ipv4.map((ip, i) =>
    i % 5 === 0
      ? `${ip}:${40_000 + i}`
      : i % 7 === 0
        ? `2603:10b6:5:${hex(i, 3)}::11`
        : i % 11 === 0
          ? `[2603:10b6:5:${hex(i, 3)}::11]:443`
          : ip,
  );

  const plan = injectionPlan(o);
  const step = o.durationMs / o.records;
  let serial = 0;
  let index = 0;
  let next = 0;

  const record = (
    time: number,
    mailbox: Mailbox,
    actor: { upn: string; sid: string },
    logonType: number,
    operation: string,
    external: boolean,
    ip: string,
  ): ExchangeMailboxActivity => ({
    id: guid(0x7e57, ++serial),
    record_type: operation === 'MailItemsAccessed' ? 50 : 2,
    creation_time: Math.round(time),
    operation,
    organization_id: ORG_ID,
    user_type: logonType === 1 ? 2 : 0,
    user_key: actor.sid === 'S-1-5-18' ? 'S-1-5-18' : `1003${hex(serial % 65_536, 12).toUpperCase()}`,
    workload: 'Exchange',
    result_status: 'Succeeded',
    object_id: null,
    user_id: actor.upn,
    client_ip: ip,
    scope: null,
    logon_type: logonType,
    internal_logon_type: logonType,
    mailbox_guid: mailbox.guid,
    mailbox_owner_upn: mailbox.upn,
    mailbox_owner_sid: mailbox.sid,
    mailbox_owner_master_account_sid: null,
    logon_user_sid: actor.sid,
    logon_user_display_name: null,
    external_access: external,
    originating_server: pick(SERVERS),
    organization_name: 'contoso.onmicrosoft.com',
    client_info_string: pick(CLIENTS),
    client_ip_address: ip.startsWith('[') ? ip.slice(1, ip.indexOf(']')) : ip,
    client_machine_name: null,
    client_process_name: null,
    client_version: null,
  });

  const system = { upn: 'S-1-5-18', sid: 'S-1-5-18' };
  while (index < o.records) {
    const clock = o.start + index * step;
    const injection = plan[next];
    if (injection !== undefined && index >= injection.index) {
      next++;
      for (const burst of injectedBurst(injection.rule, injection.serial, clock)) {
        if (index >= o.records) return;
        index++;
        yield burst;
      }
      continue;
    }

    const time = clock - random() * 60_000; // a minute of disorder
    const r = random();
    let out: ExchangeMailboxActivity;
    if (r < 0.85) {
      const owner = pick(users);
      out = record(time, owner, owner, 0, pick(OWNER_OPERATIONS), false, pick(ips));
    } else if (r < 0.91) {
      // A delegate reads their manager's mailbox now and then.
      const d = Math.floor(random() * (o.users / 10));
      out = record(
        time,
        users[d * 10] as Mailbox,
        users[d * 10 + 1] as Mailbox,
        2,
        'MailItemsAccessed',
        false,
        pick(ips),
      );
    } else if (r < 0.94) {
      out = record(
        time,
        pick(shared),
        system,
        random() < 0.5 ? 1 : 4,
        'ModifyFolderPermissions',
        true,
        '::1',
      );
    } else if (r < 0.95) {
      out = record(time, pick(users), pick(admins), 1, 'MailItemsAccessed', false, pick(ips));
    } else if (r < 0.97) {
      out = record(time, pick(shared), pick(guests), 2, 'MailItemsAccessed', true, pick(ips));
    } else {
      // Team members in a shared mailbox.
      const s = Math.floor(random() * shared.length);
      out = record(
        time,
        shared[s] as Mailbox,
        users[(s * 25 + Math.floor(random() * 25)) % users.length] as Mailbox,
        2,
        pick(OWNER_OPERATIONS),
        false,
        pick(ips),
      );
    }
    index++;
    yield out;
    if (random() < 0.01 && index < o.records) {
      index++;
      yield out; // the audit API delivers some content twice
    }
  }

  function* injectedBurst(rule: RuleName, k: number, clock: number): Generator<ExchangeMailboxActivity> {
    if (rule === 'non_owner_burst') {
      const victim = users[(k * 97) % users.length] as Mailbox;
      const actor = users[(k * 97 + 13) % users.length] as Mailbox;
      for (let i = 0; i < 30; i++)
        yield record(clock + i * 4_000, victim, actor, 2, 'MailItemsAccessed', false, ips[k] as string);
    } else if (rule === 'cross_domain_burst') {
      const victim = users[(k * 89) % users.length] as Mailbox;
      const actor = { upn: `mallory${k}@evil.example`, sid: `S-1-5-21-9-9-9-${k}` };
      for (let i = 0; i < 8; i++)
        yield record(clock + i * 30_000, victim, actor, 2, 'MailItemsAccessed', false, ips[k + 1] as string);
    } else {
      const insider = { upn: `insider${k}@contoso.com`, sid: `S-1-5-21-8-8-8-${k}` };
      for (let i = 0; i < 15; i++)
        yield record(
          clock + i * 20_000,
          users[(k * 31 + i * 7) % users.length] as Mailbox,
          insider,
          1,
          'MailItemsAccessed',
          false,
          ips[k + 2] as string,
        );
    }
  }
}

/** The bursts `generateActivity(options)` injects, with their actors. */
export function injectedBursts(options: GenerateOptions = {}): InjectedBurst[] {
  const o = resolve(options);
  const step = o.durationMs / o.records;
  return injectionPlan(o).map(({ index, rule, serial: k }) => ({
    rule,
    actor:
      rule === 'non_owner_burst'
        ? `user${(k * 97 + 13) % o.users}@contoso.com`
        : rule === 'cross_domain_burst'
          ? `mallory${k}@evil.example`
          : `insider${k}@contoso.com`,
    start: Math.round(o.start + index * step),
  }));
}
