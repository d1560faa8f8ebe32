import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventOrder } from '../../src/detect/event-order.js';
import { fullActivity } from '../support/records.js';

const at = (id: string, time: number) => fullActivity(0, { id, creation_time: time });
const ids = (records: { id: string }[]) => records.map((r) => r.id);

test('releases nothing until every source has reported, then in (time, id) order up to the slowest', () => {
  const order = new EventOrder(2);
  for (const r of [at('c', 30), at('a', 10), at('b', 10), at('d', 50)]) assert.equal(order.add(r, 0), false);
  order.progressOf(0, 40);
  assert.deepEqual(order.release(0), [], 'source 1 has not reported');
  order.progressOf(1, 30);
  assert.deepEqual(ids(order.release(0)), ['a', 'b', 'c']);
  assert.equal(order.heldFrom(), 50);
  order.progressOf(1, Number.POSITIVE_INFINITY); // caught up
  assert.deepEqual(ids(order.release(0)), [], 'source 0 is at 40');
  order.progressOf(0, 60);
  assert.deepEqual(ids(order.release(0)), ['d']);
  assert.equal(order.heldFrom(), Number.POSITIVE_INFINITY);
});

test('the same records in any arrival order come out in the same order', () => {
  const records = Array.from({ length: 30 }, (_, i) => at(`r${i}`, (i * 7919) % 101));
  const outputs = [0, 1, 2].map((seed) => {
    const order = new EventOrder(1);
    const shuffled = [...records].sort(
      (a, b) => ((a.id.charCodeAt(1) * (seed + 3)) % 7) - ((b.id.charCodeAt(1) * (seed + 3)) % 7),
    );
    for (const r of shuffled) order.add(r, 0);
    order.progressOf(0, 1_000);
    return ids(order.release(0));
  });
  assert.deepEqual(outputs[1], outputs[0]);
  assert.deepEqual(outputs[2], outputs[0]);
});

test('a record older than what was released goes out at once', () => {
  const order = new EventOrder(1);
  order.add(at('a', 10), 0);
  order.progressOf(0, 20);
  assert.deepEqual(ids(order.release(0)), ['a']);
  assert.equal(order.add(at('late', 5), 0), true);
  assert.equal(order.size, 0);
});

test('a source that was idle is waited for: its idleness vouches only for records that waited the grace', () => {
  // Both mailbox partitions idle (+Infinity), then traffic resumes on both: source 0's record (time 20)
  // reaches the actor side first, source 1's older one (time 10) 200 ms later. Released at once on the
  // stale idleness of source 1, 'later' would go out before 'earlier': a sweep would see its reads out of
  // order and, from the window it then picks, raise its alert under another id than the core does.
  const order = new EventOrder(2, 1_000);
  order.progressOf(0, Number.POSITIVE_INFINITY);
  order.progressOf(1, Number.POSITIVE_INFINITY);
  assert.equal(order.add(at('later', 20), 0), false);
  order.progressOf(0, 20);
  assert.deepEqual(ids(order.release(100)), [], 'source 1 may be resuming with older records');
  assert.equal(order.add(at('earlier', 10), 200), false);
  order.progressOf(1, 10);
  assert.deepEqual(ids(order.release(300)), ['earlier']);
  // Source 1 falls silent again: its idleness now vouches for 'later' once 'later' has waited 1 s.
  order.progressOf(1, Number.POSITIVE_INFINITY);
  assert.deepEqual(ids(order.release(900)), [], "'later' has waited 900 ms");
  assert.deepEqual(ids(order.release(1_000)), ['later']);
});

test('with a source idle, records that have not waited the grace hold back those after them, not those before', () => {
  const order = new EventOrder(2, 1_000);
  order.progressOf(0, 100);
  order.progressOf(1, Number.POSITIVE_INFINITY);
  order.add(at('old', 10), 0);
  order.add(at('new', 50), 800);
  order.add(at('newer', 60), 800);
  assert.equal(order.complete(1_000), 49, "up to just before 'new', the oldest record still waiting");
  assert.deepEqual(ids(order.release(1_000)), ['old']);
  assert.deepEqual(ids(order.release(1_800)), ['new', 'newer']);
  assert.equal(order.complete(1_800), 100, 'nothing waiting: source 0 bounds');
});
