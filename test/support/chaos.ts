/**
 * The chaos test's input (test/app/chaos.itest.ts), its expected alerts, and the comparison of what the
 * alert topics hold with them. Pure: no Kafka here.
 *
 * The input is `segments` stretches of 20 minutes of event time, 3 hours apart (more than the allowed
 * lateness, 2 h, plus any rule's window: every episode closes and is evicted before the next segment, as
 * on a sparse tenant), each holding owner traffic on 40 mailboxes (so every partition has records), a few
 * stray non-owner reads, and one burst of each rule. A last segment, 6 hours on, holds owner traffic only,
 * so the watermark passes every episode and the offsets can be committed to the end.
 *
 * The expected alerts come from the pure core over the same records in the same order, as `replay` runs
 * it. Within a segment every (mailbox, actor) burst lies on one partition, in event-time order, so the
 * window that reaches the threshold is the same whatever the interleaving of partitions; a sweep crosses
 * partitions, so it reads exactly `threshold` mailboxes, and its window is those whatever the order.
 */
import { Subject } from 'rxjs';
import { detect } from '../../src/detect/detect.js';
import type { CoreInput, DetectionConfig } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import type { MailboxAccessAlert, RuleName } from '../../src/model/alert.js';
import type { Random } from '../../src/simulate/random.js';
import { fullActivity } from './records.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SEGMENT_EVERY = 3 * HOUR;
const SEGMENT_SPAN = 20 * MINUTE;
const MAILBOXES = 40;

function sid(text: string): string {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
  return `S-1-5-21-4-5-6-${h % 1_000_000}`;
}

/** One non-owner read of `mailbox` (owned by `owner`) by `actor`. */
function read(
  id: string,
  time: number,
  actor: string,
  owner: string,
  mailbox: string,
): ExchangeMailboxActivity {
  return fullActivity(0, {
    id,
    creation_time: time,
    user_id: actor,
    logon_user_sid: sid(actor),
    logon_user_display_name: actor.split('@')[0]!,
    logon_type: 2,
    internal_logon_type: 2,
    mailbox_guid: mailbox,
    mailbox_owner_upn: owner,
    mailbox_owner_sid: sid(owner),
    mailbox_owner_master_account_sid: null,
    external_access: false,
  });
}

const mailboxOf = (i: number) => `c0000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const ownerOf = (i: number) => `owner${i}@contoso.com`;

function ownerTraffic(random: Random, prefix: string, start: number, count: number) {
  return Array.from({ length: count }, (_, n) => {
    const m = random.int(0, MAILBOXES - 1);
    return read(
      `${prefix}-own-${n}`,
      start + random.int(0, SEGMENT_SPAN),
      ownerOf(m),
      ownerOf(m),
      mailboxOf(m),
    );
  });
}

export interface ChaosInput {
  /** Per segment, its records in event-time order; the segments are in event-time order too. */
  segments: ExchangeMailboxActivity[][];
  records: number;
}

export function chaosInput(
  random: Random,
  options: { segments: number; ownerRecords: number; start: number },
): ChaosInput {
  const segments: ExchangeMailboxActivity[][] = [];
  for (let s = 0; s < options.segments; s++) {
    const at = options.start + s * SEGMENT_EVERY;
    const p = `s${s}`;
    const records = ownerTraffic(random, p, at, options.ownerRecords);
    // Stray non-owner reads: window state that holds the commits back, never near a threshold.
    for (let n = 0; n < 20; n++) {
      const m = random.int(0, MAILBOXES - 1);
      records.push(
        read(
          `${p}-stray-${n}`,
          at + random.int(0, SEGMENT_SPAN),
          `colleague${s}-${n}@contoso.com`,
          ownerOf(m),
          mailboxOf(m),
        ),
      );
    }
    // non_owner_burst: 20–26 reads of one mailbox by one colleague, 10 s apart (threshold 20 in 5 min).
    const burstAt = at + random.int(0, 10) * MINUTE;
    const burstSize = random.int(20, 26);
    for (let n = 0; n < burstSize; n++)
      records.push(
        read(
          `${p}-nob-${n}`,
          burstAt + n * 10_000,
          `insider${s}@contoso.com`,
          `exec${s}@contoso.com`,
          `nob-mbx-${s}`,
        ),
      );
    // cross_domain_burst: 5–8 reads by an account of another organization, 30 s apart (5 in 10 min).
    const crossAt = at + random.int(0, 10) * MINUTE;
    const crossSize = random.int(5, 8);
    for (let n = 0; n < crossSize; n++)
      records.push(
        read(
          `${p}-cdb-${n}`,
          crossAt + n * 30_000,
          `vendor${s}@fabrikam.com`,
          `cfo${s}@contoso.com`,
          `cdb-mbx-${s}`,
        ),
      );
    // mailbox_sweep: exactly 10 mailboxes (the threshold, in 10 min), one read each, 20 s apart.
    const sweepAt = at + random.int(0, 10) * MINUTE;
    for (let n = 0; n < 10; n++)
      records.push(
        read(
          `${p}-sweep-${n}`,
          sweepAt + n * 20_000,
          `sweeper${s}@contoso.com`,
          `user${s}-${n}@contoso.com`,
          `sweep-mbx-${s}-${n}`,
        ),
      );
    segments.push(records.sort((a, b) => a.creation_time - b.creation_time));
  }
  const last = options.start + (options.segments - 1) * SEGMENT_EVERY + SEGMENT_SPAN;
  segments.push(
    ownerTraffic(random, 'flush', last + 6 * HOUR, options.ownerRecords).sort(
      (a, b) => a.creation_time - b.creation_time,
    ),
  );
  return { segments, records: segments.reduce((n, s) => n + s.length, 0) };
}

/** The alerts `replay` would raise over the records, in this order. */
export function expectedAlerts(
  config: DetectionConfig,
  records: Iterable<ExchangeMailboxActivity>,
): MailboxAccessAlert[] {
  const alerts: MailboxAccessAlert[] = [];
  const input = new Subject<CoreInput>();
  const subscription = input.pipe(detect(config)).subscribe((out) => {
    if (out.kind === 'alert') alerts.push(out.alert);
  });
  for (const record of records) input.next({ kind: 'record', record });
  input.next({ kind: 'checkpoint', id: 1 });
  input.complete();
  subscription.unsubscribe();
  return alerts;
}

export interface Delivered {
  topic: string;
  key: string;
  alert: MailboxAccessAlert;
}

export interface Comparison {
  expected: number;
  /** Expected alert ids found on their rule's topic. */
  found: number;
  missing: MailboxAccessAlert[];
  /** Messages whose alert_id is not an expected one, or on the wrong topic, or keyed otherwise. */
  unexpected: Delivered[];
  /** Expected alert ids delivered more than once (each copy carries the same id, by construction). */
  deliveredTwice: number;
  messages: number;
}

export function compareAlerts(
  expected: readonly MailboxAccessAlert[],
  delivered: readonly Delivered[],
  topicOf: Record<RuleName, string>,
): Comparison {
  const byId = new Map(expected.map((a) => [a.alert_id, a]));
  const copies = new Map<string, number>();
  const unexpected: Delivered[] = [];
  for (const d of delivered) {
    const want = byId.get(d.alert.alert_id);
    if (want === undefined || d.topic !== topicOf[want.rule] || d.key !== d.alert.alert_id) {
      unexpected.push(d);
      continue;
    }
    copies.set(d.alert.alert_id, (copies.get(d.alert.alert_id) ?? 0) + 1);
  }
  return {
    expected: expected.length,
    found: copies.size,
    missing: expected.filter((a) => !copies.has(a.alert_id)),
    unexpected,
    deliveredTwice: [...copies.values()].filter((n) => n > 1).length,
    messages: delivered.length,
  };
}

/** Per partition, the offsets an instance committed, in order, from its debug log ('committed' lines). */
export function commitsInLog(log: string): Map<number, number[]> {
  const commits = new Map<number, number[]>();
  for (const line of log.split('\n')) {
    if (!line.includes('"msg":"committed"')) continue;
    // An offset, or {offset, streamTime} where the commit carries the stream time.
    const offsets = (JSON.parse(line) as { offsets: Record<string, number | { offset: number }> }).offsets;
    for (const [partition, value] of Object.entries(offsets)) {
      const list = commits.get(Number(partition)) ?? [];
      list.push(typeof value === 'number' ? value : value.offset);
      commits.set(Number(partition), list);
    }
  }
  return commits;
}
