import type avro from 'avsc';

/** A zig-zag varint of a non-negative count. */
function varint(count: number): Buffer {
  const bytes: number[] = [];
  let n = count * 2;
  while (n >= 0x80) {
    bytes.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/**
 * The Avro encoding of `record` with the block count of its optional array or map `field` (a short one: its
 * count takes one byte) replaced by `count` — a corrupted count, as a flipped bit would make it. The count
 * is found where the encoding first differs from the same record with `field` null, past the union index.
 */
export function withBlockCount<T extends object>(
  type: avro.Type,
  record: T,
  field: keyof T & string,
  count: number,
): Buffer {
  const payload = type.toBuffer(record);
  const without = type.toBuffer({ ...record, [field]: null });
  let at = 0;
  while (payload[at] === without[at]) at++;
  at += 1; // past the union's branch index
  return Buffer.concat([payload.subarray(0, at), varint(count), payload.subarray(at + 1)]);
}
