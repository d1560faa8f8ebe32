/** Builders for detection tests: records, event times, configs, and a synchronous run of the core. */
import { from } from 'rxjs';
import { parseConfig } from '../../src/config/load.js';
import { detect } from '../../src/detect/detect.js';
import type { CoreInput, CoreOutput, CoreStats, DetectionConfig } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';

/** 2024-01-15 as the test day; `at('12:04:30')` is that wall time, UTC. */
export function at(clock: string): number {
  const [h, m, s = '0'] = clock.split(':');
  const [sec, ms = '0'] = s.split('.');
  return Date.UTC(2024, 0, 15, Number(h), Number(m), Number(sec), Number(ms.padEnd(3, '0')));
}

let sequence = 0;

/** A deterministic random number generator in [0, 1) (a linear congruential one): the same seed, the same draws. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/**
 * A read of mailbox `mbx-<mailbox>` (owned by `owner<mailbox>@contoso.com`) by `userId` (actor number `actor`)
 * at `time`: the record of the random-stream tests.
 */
export function numberedRead(
  mailbox: number,
  actor: number,
  userId: string,
  time: number,
  overrides: Partial<ExchangeMailboxActivity> = {},
): ExchangeMailboxActivity {
  return activity({
    creation_time: time,
    mailbox_guid: `mbx-${mailbox}`,
    mailbox_owner_upn: `owner${mailbox}@contoso.com`,
    mailbox_owner_sid: `S-1-5-21-10${mailbox}`,
    user_id: userId,
    logon_user_sid: `S-1-5-21-20${actor}`,
    ...overrides,
  });
}

/** A non-owner read of ceo@contoso.com's mailbox by eve@contoso.com (same domain), unless overridden. */
export function activity(overrides: Partial<ExchangeMailboxActivity> = {}): ExchangeMailboxActivity {
  sequence++;
  return {
    id: `rec-${sequence}`,
    record_type: 50,
    creation_time: at('12:00:00'),
    operation: 'MailItemsAccessed',
    organization_id: 'org-1',
    user_type: 0,
    user_key: 'key-eve',
    workload: 'Exchange',
    result_status: 'Succeeded',
    object_id: null,
    user_id: 'eve@contoso.com',
    client_ip: '203.0.113.7',
    scope: null,
    logon_type: 2,
    internal_logon_type: 2,
    mailbox_guid: 'mbx-ceo',
    mailbox_owner_upn: 'ceo@contoso.com',
    mailbox_owner_sid: 'S-1-5-21-100',
    mailbox_owner_master_account_sid: null,
    logon_user_sid: 'S-1-5-21-200',
    logon_user_display_name: 'Eve',
    external_access: false,
    originating_server: null,
    organization_name: 'contoso.com',
    client_info_string: null,
    client_ip_address: null,
    client_machine_name: null,
    client_process_name: null,
    client_version: null,
    app_id: null,
    client_app_id: null,
    api_id: null,
    mail_access_type: null,
    is_throttled: null,
    operation_count: null,
    session_id: null,
    folder_paths: null,
    unique_token_id: null,
    ...overrides,
  };
}

/** `count` non-owner reads, evenly spread over [start, end] (inclusive). */
export function reads(
  count: number,
  start: number,
  end: number,
  overrides: Partial<ExchangeMailboxActivity> = {},
) {
  const step = count > 1 ? (end - start) / (count - 1) : 0;
  return Array.from({ length: count }, (_, i) =>
    activity({ creation_time: Math.round(start + i * step), ...overrides }),
  );
}

/** The detection config from a YAML-shaped `detection` section (so tests go through the real schema). */
export function detection(section: Record<string, unknown> = {}): DetectionConfig {
  return parseConfig({ detection: section }).detection;
}

/** Only the named rule enabled (of the user rules; the app rules never see these records), with the given threshold and window. */
export function onlyRule(
  rule: 'nonOwnerBurst' | 'crossDomainBurst' | 'mailboxSweep',
  threshold: number,
  window: string,
  extra: Record<string, unknown> = {},
): DetectionConfig {
  const rules: Record<string, unknown> = {
    nonOwnerBurst: { enabled: false },
    crossDomainBurst: { enabled: false },
    mailboxSweep: { enabled: false },
    firstAccess: { enabled: false },
  };
  rules[rule] = { threshold, window };
  return detection({ ...extra, rules });
}

export interface Run {
  outputs: CoreOutput[];
  /** The alerts as they opened (revision 0): one per episode. */
  alerts: MailboxAccessAlert[];
  /** Every alert message: opens, updates and closes (issue 13's lifecycle), in order. */
  revisions: MailboxAccessAlert[];
  /** The answer to the checkpoint appended at the end. */
  final: Extract<CoreOutput, { kind: 'checkpoint' }>;
  stats: CoreStats;
}

/** Runs the core over records (and any other inputs), then a final checkpoint; all synchronous. */
export function run(
  config: DetectionConfig,
  items: readonly (ExchangeMailboxActivity | CoreInput)[],
  options: { watermarks?: 'records' | 'external'; lateness?: 'core' | 'upstream' } = {},
): Run {
  const inputs: CoreInput[] = items.map((item) => ('kind' in item ? item : { kind: 'record', record: item }));
  inputs.push({ kind: 'checkpoint', id: 999 });
  const outputs: CoreOutput[] = [];
  from(inputs)
    .pipe(detect(config, options))
    .subscribe((output) => outputs.push(output));
  const final = outputs[outputs.length - 1];
  if (final?.kind !== 'checkpoint' || final.id !== 999)
    throw new Error('the final checkpoint was not answered last');
  const revisions = outputs.flatMap((output) => (output.kind === 'alert' ? [output.alert] : []));
  const alerts = revisions.filter((alert) => (alert.revision ?? 0) === 0);
  return { outputs, alerts, revisions, final, stats: final.stats };
}

/** Fisher–Yates with a fixed seed, for out-of-order inputs. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
