/**
 * The raw-bytes classifier is held to avsc: over simulated records of every kind, under several writer
 * schemas (the project's v2, a v1 without the app fields, a later v2 with extra fields of every Avro type
 * and unions in the other order), with nulls in every nullable field, odd cases, whitespace, non-ASCII
 * text and corrupt bytes, a record it classifies must be one that avsc decodes, parseRecord takes and
 * classify puts in the same class (an owner one that bulk_mail_access would not count), with the same event
 * time. And the core fed its verdicts gives the same alerts and counts as the core fed every record.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { from, lastValueFrom, toArray } from 'rxjs';
import { parseConfig } from '../../src/config/load.js';
import { ClassTally, createClassifier, ownerCandidates } from '../../src/detect/classify.js';
import { detect } from '../../src/detect/detect.js';
import { parseDecoded, parseRecord } from '../../src/detect/parse-record.js';
import type { CoreInput, DetectionConfig } from '../../src/detect/types.js';
import { AvroCodec, frame } from '../../src/kafka/avro-codec.js';
import { AvroTopicWriter } from '../../src/kafka/avro-producer.js';
import { FALLBACK, OWNER, RawClassifier, SYSTEM } from '../../src/kafka/raw-classify.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import { ACTIVITY_FIELDS, type ExchangeMailboxActivity } from '../../src/model/activity.js';
import {
  activityDetectionSchema,
  activityDetectionType,
  activitySchema,
  FIELDS_NOT_READ_BY_DETECTION,
} from '../../src/model/schemas.js';
import { Random } from '../../src/simulate/random.js';
import { Simulation } from '../../src/simulate/simulation.js';
import { tenantDetectionSettings } from '../../src/simulate/tenant.js';

type Fields = { name: string; type: unknown; default?: unknown }[];
const FIELDS = activitySchema.fields as Fields;

/** Writer schemas, by id. */
const V2 = 1;
const V1 = 2;
const V2_EXTRA = 3;
const V2_SWAPPED = 4;

const EXTRA_FIELDS: Fields = [
  { name: 'x_double', type: 'double', default: 0 },
  { name: 'x_float', type: ['null', 'float'], default: null },
  { name: 'x_bytes', type: 'bytes', default: '' },
  { name: 'x_fixed', type: { type: 'fixed', name: 'Tag', size: 3 } },
  { name: 'x_enum', type: { type: 'enum', name: 'Tier', symbols: ['A', 'B', 'C'] } },
  { name: 'x_map', type: ['null', { type: 'map', values: { type: 'array', items: 'long' } }], default: null },
  {
    name: 'x_record',
    type: {
      type: 'record',
      name: 'Nested',
      fields: [
        { name: 'flag', type: 'boolean' },
        { name: 'labels', type: { type: 'array', items: 'string' } },
        { name: 'n', type: 'int' },
      ],
    },
  },
];

function writerSchemas(): Map<number, Record<string, unknown>> {
  const appFrom = FIELDS.findIndex((f) => f.name === 'app_id');
  const at = FIELDS.findIndex((f) => f.name === 'logon_type');
  return new Map([
    [V2, activitySchema],
    [V1, { ...activitySchema, fields: FIELDS.slice(0, appFrom) }],
    // Extras in the middle (between fields classification reads) and at the end.
    [
      V2_EXTRA,
      {
        ...activitySchema,
        fields: [
          ...FIELDS.slice(0, at),
          ...EXTRA_FIELDS.slice(0, 4),
          ...FIELDS.slice(at),
          ...EXTRA_FIELDS.slice(4),
        ],
      },
    ],
    // Every optional field as [type, "null"] (default then the type's own): the union's branch order turned.
    [
      V2_SWAPPED,
      {
        ...activitySchema,
        fields: FIELDS.map((f) =>
          Array.isArray(f.type) ? { name: f.name, type: [...(f.type as unknown[])].reverse() } : f,
        ),
      },
    ],
  ]);
}

const NULLABLE = FIELDS.filter((f) => Array.isArray(f.type)).map((f) => f.name);

/** Variants of one record that exercise every decision the byte path takes. */
function variants(record: ExchangeMailboxActivity, random: Random): ExchangeMailboxActivity[] {
  const out: ExchangeMailboxActivity[] = [record];
  const withAll = (changes: Partial<ExchangeMailboxActivity>) => out.push({ ...record, ...changes });
  // Nulls in every nullable field at once, and in each of the fields classification reads.
  withAll(Object.fromEntries(NULLABLE.map((name) => [name, null])) as Partial<ExchangeMailboxActivity>);
  for (const name of [
    'logon_type',
    'mailbox_owner_sid',
    'mailbox_owner_master_account_sid',
    'logon_user_sid',
    'mailbox_owner_upn',
    'mailbox_guid',
  ])
    withAll({ [name]: null });
  const sid = record.logon_user_sid;
  if (sid !== null) {
    withAll({ logon_user_sid: sid.toLowerCase() });
    withAll({ mailbox_owner_sid: null, mailbox_owner_master_account_sid: sid.toLowerCase() });
    withAll({ logon_user_sid: `${sid}\u00e9` });
    withAll({ logon_user_sid: sid.replace('S', '\u017f') }); // ſ: upper-cases to S
    withAll({ logon_user_sid: '' });
  }
  withAll({ logon_user_sid: 's-1-5-18' });
  withAll({ logon_user_sid: '\u017f-1-5-18' });
  // Non-ASCII text that upper-cases to a system SID, on a record that is otherwise the owner's own.
  withAll({ logon_user_sid: '\u017f-1-5-18', mailbox_owner_sid: '\u017f-1-5-18' });
  withAll({ user_id: '\u017f-1-5-20' });
  withAll({ user_id: 'nt authority\\system' });
  withAll({ user_id: 'NT AUTHORıTY\\SYSTEM' }); // ı upper-cases to I
  withAll({ user_id: 'S-1-5-20' });
  withAll({ user_id: ` ${record.user_id}\t`, logon_user_sid: null });
  withAll({ user_id: record.user_id.toUpperCase(), logon_user_sid: null, logon_type: 2 });
  withAll({ user_id: `${record.user_id}\u00a0`, logon_user_sid: null, logon_type: 2 });
  withAll({ mailbox_owner_upn: ` ${record.user_id.toUpperCase()} `, logon_user_sid: null, logon_type: 1 });
  withAll({ logon_type: random.int(0, 6) });
  withAll({ user_type: random.pick([0, 2, 4, 5, 6]) });
  withAll({ id: '' });
  withAll({ is_throttled: true });
  withAll({ operation_count: 100 });
  withAll({ operation_count: 99 });
  withAll({ operation_count: -1 });
  withAll({ mail_access_type: 'Sync', folder_paths: ['\\Inbox'], client_info_string: 'Client=OWA' });
  withAll({ mail_access_type: ' sync ', folder_paths: ['\\Inbox'], client_info_string: null });
  withAll({
    mail_access_type: 'Sync',
    folder_paths: ['\\Inbox'],
    client_info_string: 'Client=MSExchangeRPC;Outlook 16.0',
  });
  withAll({ mail_access_type: 'Sync', folder_paths: [] });
  withAll({ mail_access_type: 'Bind', folder_paths: ['\\Inbox', '\\Sent Items'] });
  withAll({ creation_time: Date.UTC(2099, 0, 1) });
  return out;
}

/** Values for the extra fields of V2_EXTRA. */
function extras(random: Random): Record<string, unknown> {
  return {
    x_double: random.int(0, 1000) / 7,
    x_float: random.chance(0.5) ? null : 1.5,
    x_bytes: Buffer.from([1, 2, 3, random.int(0, 255)]),
    x_fixed: Buffer.from([7, 8, 9]),
    x_enum: random.pick(['A', 'B', 'C']),
    x_map: random.chance(0.3) ? null : { a: [1, -2, 2 ** 40], b: [] },
    x_record: { flag: random.chance(0.5), labels: ['x', 'yé'], n: -5 },
  };
}

interface Case {
  buffer: Buffer;
  schemaId: number;
}

function cases(seed: string, count: number): Case[] {
  const random = new Random(seed);
  const simulation = new Simulation({ seed, start: Date.UTC(2026, 10, 25), rate: 50, count, attacks: 1 });
  const types = new Map(
    [...writerSchemas()].map(([id, schema]) => [id, avro.Type.forSchema(schema as avro.Schema)]),
  );
  const out: Case[] = [];
  for (const { record } of simulation)
    for (const variant of variants(record, random)) {
      const schemaId = random.pick([V2, V1, V2_EXTRA, V2_SWAPPED]);
      const value = schemaId === V2_EXTRA ? { ...variant, ...extras(random) } : variant;
      out.push({ buffer: frame(schemaId, types.get(schemaId)!.toBuffer(value)), schemaId });
    }
  return out;
}

function codecWithWriters(): AvroCodec<ExchangeMailboxActivity> {
  const codec = new AvroCodec<ExchangeMailboxActivity>(
    new RegistryClient({ url: 'http://unused.invalid' }),
    activityDetectionType,
  );
  for (const [id, schema] of writerSchemas()) codec.addWriter(id, avro.Type.forSchema(schema as avro.Schema));
  return codec;
}

function detection(overrides: Record<string, unknown> = {}): DetectionConfig {
  return parseConfig({ detection: { ...tenantDetectionSettings(), ...overrides } }).detection;
}

/** What the full path says of a buffer: decode → parseRecord → classify, or null when it rejects it. */
function fullPath(config: DetectionConfig, codec: AvroCodec<ExchangeMailboxActivity>, buffer: Buffer) {
  let record: ExchangeMailboxActivity;
  try {
    record = parseRecord(codec.decode(buffer));
  } catch {
    return null;
  }
  const verdict = createClassifier(config)(record);
  const candidate = ownerCandidates(config);
  return { record, verdict, bulkCandidate: candidate !== null && candidate(record) };
}

function assertAgrees(
  config: DetectionConfig,
  codec: AvroCodec<ExchangeMailboxActivity>,
  raw: RawClassifier,
  buffer: Buffer,
): number {
  const fast = raw.classify(buffer);
  if (fast === FALLBACK) return fast;
  const full = fullPath(config, codec, buffer);
  assert.notEqual(
    full,
    null,
    `classified on bytes (${fast}) but the full path rejects ${buffer.toString('hex')}`,
  );
  assert.equal(full!.verdict, fast === OWNER ? 'owner' : 'system', JSON.stringify(full!.record));
  assert.equal(raw.time, full!.record.creation_time);
  if (fast === OWNER) assert.equal(full!.bulkCandidate, false, JSON.stringify(full!.record));
  return fast;
}

describe('RawClassifier', () => {
  const codec = codecWithWriters();

  for (const [name, config] of [
    ['the tenant configuration', detection()],
    [
      'system traffic not ignored, bulk_mail_access off',
      detection({ ignoreSystem: false, rules: { bulkMailAccess: { enabled: false } } }),
    ],
  ] as const)
    it(`classifies only what the full path classifies alike (${name})`, () => {
      const raw = new RawClassifier(config, (id) => codec.writerType(id));
      const seen = new Map<number, number>();
      const bySchema = new Map<number, number>();
      for (const { buffer, schemaId } of cases('raw-classify', 400)) {
        const verdict = assertAgrees(config, codec, raw, buffer);
        seen.set(verdict, (seen.get(verdict) ?? 0) + 1);
        if (verdict !== FALLBACK) bySchema.set(schemaId, (bySchema.get(schemaId) ?? 0) + 1);
      }
      // The fast path is taken, under every writer schema, and not for everything.
      assert.ok((seen.get(OWNER) ?? 0) > 100, `owner verdicts: ${seen.get(OWNER)}`);
      if (config.ignoreSystem)
        assert.ok((seen.get(SYSTEM) ?? 0) > 10, `system verdicts: ${seen.get(SYSTEM)}`);
      else assert.equal(seen.get(SYSTEM), undefined);
      assert.ok((seen.get(FALLBACK) ?? 0) > 100);
      for (const id of [V2, V1, V2_EXTRA, V2_SWAPPED]) assert.ok((bySchema.get(id) ?? 0) > 0, `schema ${id}`);
    });

  it('falls back on truncated and corrupted records', () => {
    const config = detection();
    const raw = new RawClassifier(config, (id) => codec.writerType(id));
    const random = new Random('corrupt');
    let rejected = 0;
    let flipped = 0;
    for (const { buffer } of cases('corrupt', 300).filter((_, i) => i % 8 === 0)) {
      // Truncated, or a byte too many: the full path rejects these, so the fast path must fall back.
      for (const b of [
        buffer.subarray(0, random.int(0, buffer.length - 1)),
        Buffer.concat([buffer, Buffer.from([0])]),
      ]) {
        assert.equal(fullPath(config, codec, b), null);
        assert.equal(raw.classify(b), FALLBACK, b.toString('hex'));
        rejected++;
      }
      // A byte changed: whatever the fast path classifies, the full path must take alike. (Only then is
      // the full path asked: avsc can loop for a very long time over a corrupt array count.)
      for (let i = 0; i < 4; i++) {
        const copy = Buffer.from(buffer);
        copy[random.int(5, copy.length - 1)] = random.int(0, 255);
        if (assertAgrees(config, codec, raw, copy) !== FALLBACK) flipped++;
      }
    }
    assert.ok(rejected > 100, `rejected: ${rejected}`);
    assert.ok(flipped > 10, `corrupted and still classified: ${flipped}`);
  });

  it('falls back for a schema id the codec has not resolved', () => {
    const raw = new RawClassifier(detection(), (id) => codec.writerType(id));
    const [first] = cases('unknown', 300);
    const buffer = Buffer.from(first!.buffer);
    buffer.writeUInt32BE(99, 1);
    assert.equal(raw.classify(buffer), FALLBACK);
    assert.equal(raw.classify(null), FALLBACK);
  });

  it('the core fed its verdicts gives the alerts and counts of the core fed every record', async () => {
    const config = detection();
    const raw = new RawClassifier(config, (id) => codec.writerType(id));
    const simulation = new Simulation({
      seed: 'core',
      start: Date.UTC(2026, 10, 25),
      rate: 100,
      count: 6_000,
      attacks: 2,
    });
    const type = avro.Type.forSchema(activitySchema as avro.Schema);
    const buffers = [...simulation].map(({ record }) => frame(V2, type.toBuffer(record)));
    const run = async (fast: boolean) => {
      const inputs: CoreInput[] = [];
      let onBytes = 0;
      for (const buffer of buffers) {
        const verdict = fast ? raw.classify(buffer) : FALLBACK;
        if (verdict !== FALLBACK) {
          onBytes++;
          inputs.push({ kind: 'classified', time: raw.time, class: verdict === OWNER ? 'owner' : 'system' });
        } else inputs.push({ kind: 'record', record: parseRecord(codec.decode(buffer)) });
      }
      inputs.push({ kind: 'checkpoint', id: 1 });
      const outputs = await lastValueFrom(from(inputs).pipe(detect(config), toArray()));
      return { outputs, onBytes };
    };
    const slow = await run(false);
    const fast = await run(true);
    assert.ok(fast.onBytes > buffers.length / 2, `classified on bytes: ${fast.onBytes} of ${buffers.length}`);
    assert.ok(slow.outputs.some((o) => o.kind === 'alert'));
    assert.deepEqual(fast.outputs, slow.outputs);
  });

  it('ClassTally counts a classified record as the record would be', () => {
    const tally = new ClassTally(() => 'owner');
    tally.count('owner');
    tally.count('system');
    const stats = { system: 0, owner: 0, unattributable: 0, allowListed: 0 } as never as Parameters<
      ClassTally['report']
    >[0];
    tally.report(stats);
    assert.equal(stats.owner, 1);
    assert.equal(stats.system, 1);
  });
});

/** What parseRecord or parseDecoded makes of a value: the record, or the error's message. */
function attempt(parse: (value: unknown) => ExchangeMailboxActivity, value: unknown) {
  try {
    return { record: parse(value) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('parseDecoded (the records the pipeline decodes, taken as avsc gives them)', () => {
  const codec = codecWithWriters();
  const notRead = new Set<string>(FIELDS_NOT_READ_BY_DETECTION);
  const read = ACTIVITY_FIELDS.filter((field) => !notRead.has(field));

  it('is the decoded object itself, with the value parseRecord gives in every field detection reads', () => {
    let accepted = 0;
    let refused = 0;
    for (const { buffer } of cases('parse-decoded', 300)) {
      const decoded = attempt((b) => codec.decode(b as Buffer), buffer);
      if ('error' in decoded) continue;
      const copied = attempt(parseRecord, codec.decode(buffer));
      const taken = attempt(parseDecoded, decoded.record);
      if ('error' in copied) {
        refused++;
        assert.deepEqual(taken, copied);
        continue;
      }
      accepted++;
      assert.ok('record' in taken, `parseDecoded refused what parseRecord took: ${taken.error}`);
      assert.equal(taken.record, decoded.record, 'a copy, not the decoded object');
      const record = taken.record as unknown as Record<string, unknown>;
      const expected = copied.record as unknown as Record<string, unknown>;
      for (const field of read) assert.deepEqual(record[field], expected[field], field);
      for (const field of notRead) {
        assert.equal(field in record, false, `${field} is decoded`);
        assert.equal(expected[field], null, field);
      }
    }
    assert.ok(accepted > 1_000, `accepted ${accepted}`);
    assert.ok(refused > 0, 'no case parseRecord refuses (an empty id)');
  });

  it("takes parseRecord's general path for what the typed checks refuse", () => {
    const { buffer } = cases('parse-decoded-general', 300)[0]!;
    const decoded = codec.decode(buffer) as unknown as Record<string, unknown>;
    const iso = { ...decoded, creation_time: '2026-11-25T10:00:00Z' };
    const fromIso = parseDecoded(iso);
    assert.notEqual(fromIso, iso);
    assert.equal(fromIso.creation_time, Date.UTC(2026, 10, 25, 10));
    const noIp = parseDecoded({ ...decoded, client_ip: null, client_ip_address: '10.1.2.3' });
    assert.equal(noIp.client_ip, '10.1.2.3');
    assert.throws(() => parseDecoded({ ...decoded, user_type: 'nobody' }), /user_type/);
  });

  it('gives the core the same alerts as parseRecord, and held records gain none of the fields not read', async () => {
    const config = detection();
    const buffers = cases('parse-decoded-core', 400).map((c) => c.buffer);
    const run = async (parse: (value: unknown) => ExchangeMailboxActivity) => {
      const inputs: CoreInput[] = [];
      const records: ExchangeMailboxActivity[] = [];
      for (const buffer of buffers) {
        let record: ExchangeMailboxActivity;
        try {
          record = parse(codec.decode(buffer));
        } catch {
          continue;
        }
        records.push(record);
        inputs.push({ kind: 'record', record });
      }
      inputs.push({ kind: 'checkpoint', id: 1 });
      const outputs = await lastValueFrom(from(inputs).pipe(detect(config), toArray()));
      return { outputs, records };
    };
    const copied = await run(parseRecord);
    const taken = await run(parseDecoded);
    assert.ok(copied.outputs.some((o) => o.kind === 'alert'));
    assert.deepEqual(taken.outputs, copied.outputs);
    for (const record of taken.records)
      for (const field of notRead) assert.equal(field in record, false, `${field} added to a held record`);
  });
  it("the actor side may take the mailbox side's records instead of decoding their repartition bytes (sent-packs.ts)", async () => {
    // The pipeline writes a record to the repartition topic in the detection schema; the actor side, reading
    // back a pack it wrote, takes the records as the mailbox side held them (after that side's core pooled
    // their strings). Every case: the same value in every field detection reads (null and absent alike),
    // and the core's outputs the same either way.
    const REPARTITION_ID = 99;
    const writer = new AvroTopicWriter<ExchangeMailboxActivity>(
      undefined as never,
      undefined as never,
      'repartition',
      activityDetectionType,
      activityDetectionSchema,
    );
    const reader = codecWithWriters();
    reader.addWriter(REPARTITION_ID, avro.Type.forSchema(activityDetectionSchema as avro.Schema));
    const config = detection();
    const held: ExchangeMailboxActivity[] = [];
    const readBack: ExchangeMailboxActivity[] = [];
    for (const { buffer } of cases('sent-packs', 400)) {
      let record: ExchangeMailboxActivity;
      try {
        record = parseDecoded(codec.decode(buffer));
      } catch {
        continue;
      }
      held.push(record);
      readBack.push(parseDecoded(reader.decode(writer.encode(REPARTITION_ID, record))));
    }
    const mailboxSide = (records: ExchangeMailboxActivity[]) =>
      lastValueFrom(
        from(records.map((record): CoreInput => ({ kind: 'record', record }))).pipe(
          detect(config),
          toArray(),
        ),
      );
    await mailboxSide(held); // pools their strings, as the mailbox side's core does before they leave
    const actorSide = async (records: ExchangeMailboxActivity[]) =>
      lastValueFrom(
        from([
          ...records.map((record): CoreInput => ({ kind: 'record', record })),
          { kind: 'checkpoint', id: 1 } as CoreInput,
        ]).pipe(detect(config), toArray()),
      );
    held.forEach((record, i) => {
      const a = record as unknown as Record<string, unknown>;
      const b = readBack[i] as unknown as Record<string, unknown>;
      for (const field of read) assert.deepEqual(a[field] ?? null, b[field] ?? null, field);
    });
    const taken = await actorSide(held);
    assert.ok(taken.some((o) => o.kind === 'alert'));
    assert.deepEqual(taken, await actorSide(readBack));
  });
});
