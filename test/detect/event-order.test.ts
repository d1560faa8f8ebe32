import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventOrder } from '../../src/detect/event-order.js';
import { fullActivity } from '../support/records.js';

const at = (id: string, time: number) => fullActivity(0, { id, creation_time: time });
const ids = (records: { id: string }[]) => records.map((r) => r.id);

test('releases nothing until every source has reported, then in (time, id) order up to the slowest', () => {
  const order = new EventOrder(2);
  for (const r of [at('c', 30), at('a', 10), at('b', 10), at('d', 50)]) assert.equal(order.add(r), false);
  order.progressOf(0, 40);
  assert.deepEqual(order.release(), [], 'source 1 has not reported');
  order.progressOf(1, 30);
  assert.deepEqual(ids(order.release()), ['a', 'b', 'c']);
  assert.equal(order.heldFrom(), 50);
  order.progressOf(1, Number.POSITIVE_INFINITY); // caught up
  assert.deepEqual(ids(order.release()), [], 'source 0 is at 40');
  order.progressOf(0, 60);
  assert.deepEqual(ids(order.release()), ['d']);
  assert.equal(order.heldFrom(), Number.POSITIVE_INFINITY);
});

test('the same records in any arrival order come out in the same order', () => {
  const records = Array.from({ length: 30 }, (_, i) => at(`r${i}`, (i * 7919) % 101));
  const outputs = [0, 1, 2].map((seed) => {
    const order = new EventOrder(1);
    const shuffled = [...records].sort(
      (a, b) => ((a.id.charCodeAt(1) * (seed + 3)) % 7) - ((b.id.charCodeAt(1) * (seed + 3)) % 7),
    );
    for (const r of shuffled) order.add(r);
    order.progressOf(0, 1_000);
    return ids(order.release());
  });
  assert.deepEqual(outputs[1], outputs[0]);
  assert.deepEqual(outputs[2], outputs[0]);
});

test('a record older than what was released goes out at once', () => {
  const order = new EventOrder(1);
  order.add(at('a', 10));
  order.progressOf(0, 20);
  assert.deepEqual(ids(order.release()), ['a']);
  assert.equal(order.add(at('late', 5)), true);
  assert.equal(order.size, 0);
});
