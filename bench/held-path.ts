/**
 * The cost of one held access, without the broker: what a restore pays per windows' changelog entry (the
 * mailbox side's state stores restored first, as a run over the same accesses left them; then each entry
 * decoded → parseDecoded → the mailbox-side core as a replayed record, watermark 2 h behind, so every access
 * stays held), and what the
 * actor side pays per repartition record (decode → parseDecoded → the actor-side core). Only the non-owner
 * accesses of bench/generate.ts traffic at 5,000 records/s are timed (the changelog and the repartition topic
 * hold nothing else); encoding is not timed.
 *
 *   node --import tsx bench/held-path.ts [--records 2000000] [--runs 3]
 *
 * A third case, `restore, decoded first`, is the mailbox side as a restore fed it before 2026-11-28: every
 * entry decoded, then all of them fed to the core (the strings a record repeats lived until the end).
 *
 * Prints µs per access (wall, and CPU of every thread: GC helpers included) for each side and run, the
 * accesses held at the end and the heap then; writes .bench/held-path.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Subject } from 'rxjs';
import { defaultConfig } from '../src/config/load.js';
import { createClassifier } from '../src/detect/classify.js';
import { detect } from '../src/detect/detect.js';
import * as parsing from '../src/detect/parse-record.js';
import type { CoreInput, DetectionConfig } from '../src/detect/types.js';
import { frame } from '../src/kafka/avro-codec.js';
import type { ExchangeMailboxActivity } from '../src/model/activity.js';
import { activityType } from '../src/model/schemas.js';
import { RULE_ROLE } from '../src/app/sub-topology.js';
import { generateActivity } from './generate.js';
import { OFFLINE_SCHEMA_ID, offlineCodec } from './offline-codec.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const SCHEMA_ID = OFFLINE_SCHEMA_ID;
// What the pipeline parses its codec's records with (parseDecoded; parseRecord before it existed).
const parse: (value: unknown) => ExchangeMailboxActivity =
  (parsing as { parseDecoded?: (value: unknown) => ExchangeMailboxActivity }).parseDecoded ??
  parsing.parseRecord;
const records = arg('--records', 2_000_000);
const runs = arg('--runs', 3);

/** The detection config of one side: the rules of the other side disabled. */
function side(detection: DetectionConfig, role: 'mailbox' | 'actor'): DetectionConfig {
  const rules = Object.fromEntries(
    Object.entries(detection.rules).map(([name, rule]) => [
      name,
      { ...rule, enabled: rule.enabled && RULE_ROLE[name as keyof typeof RULE_ROLE] === role },
    ]),
  );
  return { ...detection, rules } as DetectionConfig;
}

const detection = defaultConfig().detection;
const classify = createClassifier(detection);
const buffers: Buffer[] = [];
for (const record of generateActivity({ records, durationMs: (records / 5_000) * 1_000 })) {
  const verdict = classify(record);
  if (typeof verdict === 'object' && !verdict.owner)
    buffers.push(frame(SCHEMA_ID, activityType.toBuffer(record)));
}

/**
 * The mailbox side's state stores as a run over these accesses leaves them (the latest value of each key): a
 * restore reads them back before it replays the windows' changelog, so the replay meets the pairs known.
 */
function mailboxStores(): CoreInput[] {
  const c = offlineCodec();
  const latest = new Map<string, CoreInput>();
  const input = new Subject<CoreInput>();
  const subscription = input
    .pipe(detect(side(detection, 'mailbox'), { watermarks: 'external' }))
    .subscribe((out) => {
      if (out.kind === 'state') latest.set(`${out.store}\u0000${out.key}`, { ...out, kind: 'restore' });
    });
  for (const buffer of buffers) input.next({ kind: 'record', record: parse(c.decode(buffer)) });
  subscription.unsubscribe();
  return [...latest.values()];
}

function once(role: 'mailbox' | 'actor', decodeFirst = false) {
  const c = offlineCodec();
  const config = side(detection, role);
  const input = new Subject<CoreInput>();
  let held = 0;
  const subscription = input
    .pipe(detect(config, { watermarks: 'external', lateness: role === 'actor' ? 'upstream' : 'core' }))
    .subscribe((out) => {
      if (out.kind === 'checkpoint') held = out.stats.retainedRecords;
    });
  // The mailbox side as a restore runs it: its stores first, then the entries, replayed (a core from
  // before `replayed` existed feeds them to every rule), their bytes checked when first processed.
  const replay = role === 'mailbox';
  if (replay) for (const entry of stores) input.next(entry);
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let max = Number.NEGATIVE_INFINITY;
  const decoded = decodeFirst ? buffers.map((buffer) => parse(c.decode(buffer, replay))) : [];
  for (let i = 0; i < buffers.length; i++) {
    const record = decodeFirst ? decoded[i]! : parse(c.decode(buffers[i]!, replay));
    if (record.creation_time > max) max = record.creation_time;
    input.next(replay ? { kind: 'record', record, replayed: true } : { kind: 'record', record });
    if (i % 250 === 249) input.next({ kind: 'watermark', time: max - config.allowedLatenessMs });
  }
  input.next({ kind: 'checkpoint', id: 1 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const used = process.cpuUsage(cpu);
  const heapMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  subscription.unsubscribe();
  return {
    role: decodeFirst ? 'restore, decoded first' : role,
    usPerAccess: +((ms * 1_000) / buffers.length).toFixed(2),
    cpuUsPerAccess: +((used.user + used.system) / buffers.length).toFixed(2),
    held,
    heapMb,
  };
}

const stores = mailboxStores();
console.log(JSON.stringify({ records, accesses: buffers.length, storeEntries: stores.length }));
const results: unknown[] = [];
for (let run = 1; run <= runs; run++)
  for (const [role, decodeFirst] of [
    ['mailbox', false],
    ['actor', false],
    ['mailbox', true],
  ] as const) {
    globalThis.gc?.();
    const result = { run, ...once(role, decodeFirst) };
    results.push(result);
    console.log(JSON.stringify(result));
  }
mkdirSync('.bench', { recursive: true });
writeFileSync(
  '.bench/held-path.json',
  `${JSON.stringify({ records, accesses: buffers.length, results }, null, 2)}\n`,
);
