/**
 * Kafka's murmur2, as the Java client's `Utils.murmur2` computes it (32-bit integer arithmetic), for the
 * partition of a key: kafkajs's own does every multiplication on a 64-bit `Long` object, about 4 µs for a
 * 25-byte key, which the repartition path paid once per non-owner access (BENCHMARKS.md §9).
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** The key's UTF-8 bytes are written here (a string of n UTF-16 units takes at most 3n bytes). */
let scratch = Buffer.allocUnsafe(1_024);

/** murmur2 of the UTF-8 bytes of `key`, as a signed 32-bit integer. */
export function murmur2(key: string): number {
  if (key.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(key.length * 3);
  const data = scratch;
  const length = data.write(key, 0, 'utf8');
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[tail + 2]! << 16;
    if (rest >= 2) h ^= data[tail + 1]! << 8;
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition a key goes to, as the Java client's and kafkajs's default partitioners choose it. */
export function partitionOfKey(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
