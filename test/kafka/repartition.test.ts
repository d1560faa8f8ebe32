import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KafkaMessage, Message } from 'kafkajs';
import { partitionOfKey } from '../../src/kafka/murmur2.js';
import { packMessages } from '../../src/kafka/pack.js';
import { markerMessage, markerOf, openRepartition, packRepartition } from '../../src/kafka/repartition.js';

/** Produced messages as one partition's consumer reads them back, from `offset` on. */
function readBack(messages: Message[], offset: number): KafkaMessage[] {
  return messages.map(
    (m, i) =>
      ({
        key: m.key === undefined || m.key === null ? null : Buffer.from(m.key),
        value: m.value === null || m.value === undefined ? null : Buffer.from(m.value),
        headers: m.headers as KafkaMessage['headers'],
        offset: String(offset + i),
        timestamp: '1795790000000',
        attributes: 0,
      }) as KafkaMessage,
  );
}

const access = (actor: string, n: number): Message & { record: { creation_time: number; id: string } } => ({
  key: actor,
  value: Buffer.from(`${actor} record ${n}`),
  record: { creation_time: 1_795_790_000_000 + n, id: `id-${n}` },
});

test('accesses are packed on the partition their actor hashes to, in order, markers behind them', () => {
  const partitions = 3;
  const actors = ['alice@x', 'bob@x', 'carol@y', 'dave@y', 'erin@z'];
  const onward: (Message & { record?: { creation_time: number; id: string } })[] = [];
  for (let n = 0; n < 40; n++) onward.push(access(actors[n % actors.length]!, n));
  for (let p = 0; p < partitions; p++) onward.push(markerMessage(p, { source: 1, time: 1_000 + p }));
  const out = packRepartition(onward, partitions);

  for (let p = 0; p < partitions; p++) {
    const mine = out.filter((m) => m.partition === p);
    const expected = onward.filter((m) => m.key !== null && partitionOfKey(String(m.key), partitions) === p);
    const opened = openRepartition(readBack(mine, 100));
    const records = opened.filter((m) => markerOf(m.headers, m.value) === undefined);
    assert.deepEqual(
      records.map((m) => m.value!.toString()),
      expected.map((m) => m.value!.toString()),
      `partition ${p}: its actors' accesses, in the order they came`,
    );
    assert.deepEqual(
      opened.at(-1) && markerOf(opened.at(-1)!.headers, opened.at(-1)!.value),
      { source: 1, time: 1_000 + p },
      'the marker last: behind every access of the batch',
    );
    assert.ok(
      records.every((m) => m.offset === '100' && m.key === null && m.timestamp === '1795790000000'),
      "an opened access carries its pack's offset and timestamp",
    );
    if (expected.length > 0) assert.equal(mine.length, 2, 'one pack and the marker');
  }
  assert.equal(
    out.reduce((n, m) => n + Number(m.headers?.['radar.accesses.keyed'] ?? 0), 0),
    40,
    'every access in a pack, counted by the header',
  );
});

test('a batch with markers only passes them as they are', () => {
  const markers = [markerMessage(0, { source: 2, time: 5 }), markerMessage(1, { source: 2, time: 5 })];
  assert.deepEqual(packRepartition(markers, 2), markers);
});

test('an access of a keyed pack carries its event time, record id and actor, read without decoding it', () => {
  const actors = ['alice@x', 'zoë@ünïcode.example', 'S-1-5-21-1', ''];
  const onward = actors.map((actor, n) => access(actor, n));
  const opened = openRepartition(readBack(packRepartition(onward, 1), 3));
  assert.deepEqual(
    opened.map((m) => ({ time: m.time, id: m.id, actor: m.actor, value: m.value!.toString() })),
    onward.map((m) => ({
      time: m.record.creation_time,
      id: m.record.id,
      actor: m.key,
      value: (m.value as Buffer).toString(),
    })),
  );
});

test('packs of the format before (no numbers, no key) are still opened, without time, id or actor', () => {
  const pack = packMessages(
    0,
    [{ numbers: [], key: null, value: Buffer.from('old access') }],
    'radar.accesses',
  )[0]!;
  const opened = openRepartition(readBack([pack], 5));
  assert.equal(opened.length, 1);
  assert.equal(opened[0]!.value!.toString(), 'old access');
  assert.equal(opened[0]!.error, undefined);
  assert.deepEqual([opened[0]!.time, opened[0]!.id, opened[0]!.actor], [undefined, undefined, undefined]);
});

test('an access goes onward only with its record: its time and id go into the pack', () => {
  assert.throws(
    () => packRepartition([{ key: 'alice@x', value: Buffer.from('v') }], 1),
    /without its record/,
  );
});

test('records of the earlier format (one access a message, keyed by actor) are still read', () => {
  const old = readBack([access('alice@x', 1), markerMessage(0, { source: 0, time: 9 })], 7);
  const opened = openRepartition(old);
  assert.equal(opened.length, 2);
  assert.equal(opened[0]!.value!.toString(), 'alice@x record 1');
  assert.equal(opened[0]!.key!.toString(), 'alice@x');
  assert.deepEqual(markerOf(opened[1]!.headers, opened[1]!.value), { source: 0, time: 9 });
});

test('a pack that does not parse stays whole, with an error naming it; the rest is opened', () => {
  const [pack] = packRepartition([access('alice@x', 1), access('alice@x', 2)], 1);
  const broken = { ...pack!, value: (pack!.value as Buffer).subarray(0, 12) };
  const opened = openRepartition(readBack([broken, ...packRepartition([access('bob@x', 3)], 1)], 40));
  assert.equal(opened.length, 2);
  assert.match(opened[0]!.error!.message, /packed repartition message at offset 40 is truncated/);
  assert.equal(opened[1]!.error, undefined);
  assert.equal(opened[1]!.value!.toString(), 'bob@x record 3');
});

test('each pack is told with the onward messages it holds, in order, and packs split by size tell their ranges', () => {
  const partitions = 3;
  const onward: ReturnType<typeof access>[] = [];
  for (let n = 0; n < 30; n++) onward.push(access(`actor${n % 7}@x`, n));
  const told: { pack: Message; sources: readonly Message[] }[] = [];
  const out = packRepartition(onward, partitions, (pack, sources) => told.push({ pack, sources }));
  assert.deepEqual(
    told.map((t) => t.pack),
    out.filter((m) => m.headers?.['radar.accesses.keyed'] !== undefined),
    'every pack told, as it went out',
  );
  for (const { pack, sources } of told) {
    assert.equal(
      sources.length,
      Number(pack.headers!['radar.accesses.keyed']),
      'as many sources as the pack holds',
    );
    assert.ok(sources.every((m) => partitionOfKey(String(m.key), partitions) === pack.partition));
  }
  for (let p = 0; p < partitions; p++)
    assert.deepEqual(
      told.filter((t) => t.pack.partition === p).flatMap((t) => t.sources),
      onward.filter((m) => partitionOfKey(String(m.key), partitions) === p),
      `partition ${p}: the very messages, in the order they came`,
    );

  // Three items of 8 + 10 bytes each under a 40-byte bound: packs of two and one.
  const items = [0, 1, 2].map((n) => ({ numbers: [], key: null, value: Buffer.from(`value ${n}...`) }));
  const ranges: [number, number, string][] = [];
  const packs = packMessages(0, items, 'n', 40, (message, from, to) =>
    ranges.push([from, to, String(message.headers!['n'])]),
  );
  assert.equal(packs.length, 2);
  assert.deepEqual(ranges, [
    [0, 2, '2'],
    [2, 3, '1'],
  ]);
});
