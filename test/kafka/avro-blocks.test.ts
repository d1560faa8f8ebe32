/**
 * A poison message must not take the process down. avsc reads an array's or a map's block count and then
 * that many items, whatever the bytes left: one corrupted count (a flipped bit in a length-prefixed
 * field, a producer bug) had it push billions of items until V8 ran out of heap — `run` crashed, restarted,
 * read the same record and crashed again. The codec now refuses such a record as DECODE_CORRUPT (the
 * pipeline dead-letters it and goes on), before avsc reads it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { defaultConfig } from '../../src/config/load.js';
import { DecodeError, ErrorCodes } from '../../src/errors.js';
import { AvroCodec, frame } from '../../src/kafka/avro-codec.js';
import { FALLBACK, RawClassifier } from '../../src/kafka/raw-classify.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activityType } from '../../src/model/schemas.js';
import { withBlockCount } from '../support/corrupt-avro.js';
import { fullActivity } from '../support/records.js';

const registry = new RegistryClient({ url: 'http://127.0.0.1:9' }); // never asked: writers are added

function expectCorrupt(decode: () => unknown): void {
  assert.throws(decode, (error: unknown) => {
    assert.ok(error instanceof DecodeError, String(error));
    assert.equal(error.code, ErrorCodes.DECODE_CORRUPT);
    assert.match(error.message, /count/);
    return true;
  });
}

test('an activity record whose folder_paths block count runs past its bytes is DECODE_CORRUPT, not a crash', () => {
  const codec = new AvroCodec<ExchangeMailboxActivity>(registry, activityType);
  codec.addWriter(7, activityType);
  const record = fullActivity(0, { folder_paths: ['Inbox', 'Sent Items'] });
  // The intact record decodes; the count 2 made 2^31 is refused, as is 1,000 (more items than bytes).
  assert.deepEqual(codec.decode(frame(7, activityType.toBuffer(record))).folder_paths, [
    'Inbox',
    'Sent Items',
  ]);
  assert.deepEqual(
    codec.decode(frame(7, withBlockCount(activityType, record, 'folder_paths', 2))).folder_paths,
    ['Inbox', 'Sent Items'],
    'the count rewritten as it was',
  );
  expectCorrupt(() => codec.decode(frame(7, withBlockCount(activityType, record, 'folder_paths', 2 ** 31))));
  expectCorrupt(() => codec.decode(frame(7, withBlockCount(activityType, record, 'folder_paths', 1_000))));
});

test("a map's block count is held to its bytes too, in a writer schema with a map the reader ignores", () => {
  const schema = activityType.schema() as { fields: object[] };
  const writer = avro.Type.forSchema({
    ...schema,
    fields: [
      ...schema.fields,
      { name: 'x_map', type: ['null', { type: 'map', values: 'long' }], default: null },
    ],
  } as avro.Schema);
  const codec = new AvroCodec<ExchangeMailboxActivity>(registry, activityType);
  codec.addWriter(8, writer);
  const record = { ...fullActivity(0), x_map: { a: 1, b: 2 } };
  assert.equal(codec.decode(frame(8, withBlockCount(writer, record, 'x_map', 2))).id, record.id);
  expectCorrupt(() => codec.decode(frame(8, withBlockCount(writer, record, 'x_map', 2 ** 40))));
});

test('with the byte path on, the classifier’s walk stands in for the guard only when it reached the end', () => {
  const codec = new AvroCodec<ExchangeMailboxActivity>(registry, activityType);
  codec.addWriter(7, activityType);
  const raw = new RawClassifier(defaultConfig().detection, (id) => codec.writerType(id));
  // A non-owner read: walked whole, FALLBACK (decoded), and the codec need not walk it again.
  const read = { ...fullActivity(0), folder_paths: ['Inbox'] };
  const good = frame(7, activityType.toBuffer(read));
  assert.equal(raw.classify(good), FALLBACK);
  assert.equal(raw.walkedWhole, good);
  assert.equal(codec.decode(good, raw.walkedWhole === good).id, read.id);
  // The corrupted count stops the walk: the codec's own guard refuses it.
  const bad = frame(7, withBlockCount(activityType, read, 'folder_paths', 2 ** 31));
  assert.equal(raw.classify(bad), FALLBACK);
  assert.equal(raw.walkedWhole, null);
  expectCorrupt(() => codec.decode(bad, raw.walkedWhole === bad));
});
