/**
 * Many small items in one Kafka message, for the internal topics that only `run` reads (the windows'
 * changelog, the repartition topic). kafkajs spends more on the Kafka record around a ~500-byte item than on
 * the item: encoding its headers, varints and offsets on the way out, decoding them on the way back
 * (bench/changelog-pack.ts, ~500-byte items: 12 µs and 4 µs an item, against 2.2 µs and 1 µs packed).
 *
 * A packed message has no key, a header naming how many items its value holds, and the items in order, each
 * as: its numbers (float64 LE each; how many is the topic's format), key and value lengths (int32 LE, −1 for
 * null), key, value.
 */
import type { Message } from 'kafkajs';

/** A packed message's value stays under this (a single larger item goes alone). */
export const PACK_BYTES = 256 * 1024;

export interface PackItem {
  numbers: readonly number[];
  key: Buffer | null;
  value: Buffer | null;
}

/** Items for one partition, in order, as few messages as `maxBytes` allows; `header` carries the count. */
export function packMessages(
  partition: number,
  items: readonly PackItem[],
  header: string,
  maxBytes = PACK_BYTES,
  /** Told each message as it is made, with the range of `items` it holds: [from, to). */
  made?: (message: Message, from: number, to: number) => void,
): Message[] {
  const messages: Message[] = [];
  for (let i = 0; i < items.length;) {
    let size = 0;
    let j = i;
    while (j < items.length) {
      const item = items[j]!;
      const bytes = 8 * item.numbers.length + 8 + (item.key?.length ?? 0) + (item.value?.length ?? 0);
      if (j > i && size + bytes > maxBytes) break;
      size += bytes;
      j++;
    }
    const value = Buffer.allocUnsafe(size);
    let at = 0;
    for (let k = i; k < j; k++) {
      const item = items[k]!;
      for (const number of item.numbers) at = value.writeDoubleLE(number, at);
      at = value.writeInt32LE(item.key === null ? -1 : item.key.length, at);
      at = value.writeInt32LE(item.value === null ? -1 : item.value.length, at);
      if (item.key !== null) at += item.key.copy(value, at);
      if (item.value !== null) at += item.value.copy(value, at);
    }
    const message: Message = { partition, key: null, value, headers: { [header]: String(j - i) } };
    messages.push(message);
    made?.(message, i, j);
    i = j;
  }
  return messages;
}

/**
 * The items of a packed message's value (keys and values are views of it), each with `numbers` numbers;
 * throws, naming `where` and what is wrong, when it does not parse.
 */
export function unpackMessage(
  value: Buffer | null,
  count: number,
  numbers: number,
  where: string,
): PackItem[] {
  if (value === null) throw new Error(`${where} has no value`);
  const items: PackItem[] = [];
  const head = 8 * numbers + 8;
  let at = 0;
  const field = (length: number): Buffer | null => {
    if (length === -1) return null;
    if (length < 0 || at + length > value.length)
      throw new Error(`${where} is truncated: a field of ${length} bytes at ${at} of ${value.length}`);
    const bytes = value.subarray(at, at + length);
    at += length;
    return bytes;
  };
  while (at < value.length) {
    if (at + head > value.length)
      throw new Error(`${where} is truncated: an item's head at ${at} of ${value.length} bytes`);
    const read: number[] = [];
    for (let n = 0; n < numbers; n++) read.push(value.readDoubleLE(at + 8 * n));
    const keyLength = value.readInt32LE(at + 8 * numbers);
    const valueLength = value.readInt32LE(at + 8 * numbers + 4);
    at += head;
    const key = field(keyLength);
    items.push({ numbers: read, key, value: field(valueLength) });
  }
  if (items.length !== count)
    throw new Error(`${where} holds ${items.length} items; its header says ${count}`);
  return items;
}
