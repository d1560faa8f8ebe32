import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionOfKey } from '../../src/kafka/murmur2.js';

test("murmur2 gives the Java client's hashes (Kafka's own UtilsTest cases)", () => {
  const cases: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
    ['', 275646681],
  ];
  for (const [key, hash] of cases) assert.equal(murmur2(key), hash, key);
});

test("partitionOfKey agrees with kafkajs's default partitioner, key for key", () => {
  const partitioner = Partitioners.DefaultPartitioner();
  let seed = 12345;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const alphabet = ['a', 'Z', '0', '@', '.', '-', 'é', 'ß', '€', '日', '😀', '\ud800', ' '];
  for (let n = 0; n < 20_000; n++) {
    const length = Math.floor(random() * 90);
    let key = '';
    for (let i = 0; i < length; i++) key += alphabet[Math.floor(random() * alphabet.length)];
    for (const partitions of [1, 3, 6, 7, 64]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      const expected = partitioner({ topic: '', partitionMetadata, message: { key, value: null } });
      assert.equal(partitionOfKey(key, partitions), expected, `${JSON.stringify(key)} on ${partitions}`);
    }
  }
});
