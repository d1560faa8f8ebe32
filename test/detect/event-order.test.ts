import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventOrder, orderBatch, type OrderItem } from '../../src/detect/event-order.js';
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

test('a source that was idle is waited for: its idleness vouches only after it has reported idle the grace', () => {
  // Both mailbox partitions idle (+Infinity), then traffic resumes on both: source 0's record (time 20)
  // reaches the actor side first, source 1's older one (time 10) a marker later. Released at once on the
  // stale idleness of source 1, 'later' would go out before 'earlier': a sweep would see its reads out of
  // order and, from the window it then picks, raise its alert under another id than the core does.
  const order = new EventOrder(2, 2);
  order.progressOf(0, Number.POSITIVE_INFINITY);
  order.progressOf(1, Number.POSITIVE_INFINITY);
  assert.equal(order.add(at('later', 20)), false);
  order.progressOf(0, 20);
  assert.deepEqual(ids(order.release()), [], 'source 1 may be resuming with older records');
  assert.equal(order.add(at('earlier', 10)), false);
  order.progressOf(1, 10);
  assert.deepEqual(ids(order.release()), ['earlier']);
  // Source 1 falls silent again: its idleness vouches for 'later' once it has said so twice.
  order.progressOf(1, Number.POSITIVE_INFINITY);
  assert.deepEqual(ids(order.release()), [], 'one idle marker since');
  order.progressOf(0, 20);
  assert.deepEqual(ids(order.release()), [], "source 0's markers do not count for source 1");
  order.progressOf(1, Number.POSITIVE_INFINITY);
  assert.deepEqual(ids(order.release()), ['later']);
});

test('with a source idle, records it has not vouched for hold back those after them, not those before', () => {
  const order = new EventOrder(2, 1);
  order.progressOf(0, 100);
  order.progressOf(1, Number.POSITIVE_INFINITY);
  order.add(at('old', 10));
  order.progressOf(1, Number.POSITIVE_INFINITY);
  order.add(at('new', 50));
  order.add(at('newer', 60));
  assert.equal(order.complete(), 49, "up to just before 'new', the oldest record still waiting");
  assert.deepEqual(ids(order.release()), ['old']);
  order.progressOf(1, Number.POSITIVE_INFINITY);
  assert.deepEqual(ids(order.release()), ['new', 'newer']);
  assert.equal(order.complete(), 100, 'nothing waiting: source 0 bounds');
});

test('an idle source that turns active and idle again counts its idle markers anew', () => {
  const order = new EventOrder(2, 2);
  order.progressOf(0, 100);
  order.progressOf(1, Number.POSITIVE_INFINITY);
  order.add(at('r', 10));
  order.progressOf(1, Number.POSITIVE_INFINITY);
  order.progressOf(1, 5); // resumed, behind 'r'
  order.progressOf(1, Number.POSITIVE_INFINITY);
  assert.deepEqual(ids(order.release()), [], 'one idle marker since it was last active');
  order.progressOf(1, Number.POSITIVE_INFINITY);
  assert.deepEqual(ids(order.release()), ['r']);
});

test('what a partition releases depends on its content in offset order, not on how fetches cut it into batches', () => {
  // A sweep's reads reach the actor side live, in small fetches; a restart re-reads them in one. Released
  // only at the end of a batch, a read older than the released ones ('late', time 5) came out after 'd'
  // live but was sorted in before it on the re-read: the sweep crossed its threshold on another window
  // and the restart published its alert under a new id.
  const items: OrderItem[] = [
    { kind: 'record', record: at('a', 10) },
    { kind: 'record', record: at('b', 20) },
    { kind: 'progress', source: 0, time: 20 },
    { kind: 'progress', source: 1, time: 20 },
    { kind: 'record', record: at('c', 30) },
    { kind: 'record', record: at('d', 40) },
    { kind: 'progress', source: 0, time: 40 },
    { kind: 'progress', source: 1, time: 40 },
    { kind: 'record', record: at('late', 5) },
    { kind: 'record', record: at('e', 50) },
    { kind: 'progress', source: 1, time: 60 },
    { kind: 'progress', source: 0, time: 60 },
  ];
  const cuts = [[items.length], [1, 3, 4, 4], [4, 4, 4], [2, 2, 2, 2, 2, 2], [7, 5]];
  const outputs = cuts.map((sizes) => {
    const order = new EventOrder(2);
    const out: string[] = [];
    let at0 = 0;
    for (const size of sizes) {
      out.push(...ids(orderBatch(order, items.slice(at0, at0 + size))));
      at0 += size;
    }
    return out;
  });
  assert.deepEqual(outputs[1], ['a', 'b', 'c', 'd', 'late', 'e']);
  for (const [i, output] of outputs.entries())
    assert.deepEqual(output, outputs[1], `cut ${JSON.stringify(cuts[i])}`);
});

test('with idle sources too: the grace is counted in markers on the partition, so batches do not change it', () => {
  const inf = Number.POSITIVE_INFINITY;
  const items: OrderItem[] = [
    { kind: 'progress', source: 0, time: inf },
    { kind: 'progress', source: 1, time: inf },
    { kind: 'record', record: at('a', 20) },
    { kind: 'progress', source: 0, time: 20 },
    { kind: 'progress', source: 1, time: inf },
    { kind: 'progress', source: 0, time: inf },
    { kind: 'progress', source: 1, time: inf },
    { kind: 'progress', source: 0, time: inf },
    { kind: 'record', record: at('older', 10) },
    { kind: 'progress', source: 0, time: 20 },
    { kind: 'progress', source: 1, time: inf },
  ];
  for (const sizes of [[items.length], [3, 8], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [5, 5, 1]]) {
    const order = new EventOrder(2, 2);
    const out: string[] = [];
    let from = 0;
    for (const size of sizes) {
      out.push(...ids(orderBatch(order, items.slice(from, from + size))));
      from += size;
    }
    // 'a' was vouched for by source 1's two idle markers after it, and went out; 'older' came after.
    assert.deepEqual(out, ['a', 'older'], `cut ${JSON.stringify(sizes)}`);
  }
});

test('restored from its state at a point with nothing held, it releases the rest as the one that went on', () => {
  const items: OrderItem[] = [
    { kind: 'record', record: at('a', 10) },
    { kind: 'progress', source: 0, time: 30 },
    { kind: 'progress', source: 1, time: 30 },
    // 'a' went out; the state is taken here (a commit's offset)
    { kind: 'record', record: at('e', 25) },
    { kind: 'progress', source: 0, time: 40 },
    { kind: 'record', record: at('f', 22) },
    { kind: 'progress', source: 1, time: 40 },
  ];
  const live = new EventOrder(2, 2);
  assert.deepEqual(ids(orderBatch(live, items.slice(0, 3))), ['a']);
  const restored = new EventOrder(2, 2);
  restored.restore(live.state());
  const fresh = new EventOrder(2, 2);
  const rest = items.slice(3);
  const expected = ids(orderBatch(live, rest));
  assert.deepEqual(expected, ['e', 'f'], "'e' is complete at source 0's marker; 'f', older, comes after it");
  assert.deepEqual(ids(orderBatch(restored, rest)), expected);
  assert.deepEqual(ids(orderBatch(fresh, rest)), ['f', 'e'], 'without the state both wait, and are sorted');
});

test("floor: the least advanced active source; with all idle, the most advanced one's last stream time", () => {
  const order = new EventOrder(3);
  order.progressOf(0, 50);
  order.progressOf(1, 20);
  assert.equal(order.floor(), Number.NEGATIVE_INFINITY, 'source 2 has not reported');
  order.progressOf(2, Number.POSITIVE_INFINITY);
  assert.equal(order.floor(), 20, 'source 2 idle, source 1 behind');
  order.progressOf(1, Number.POSITIVE_INFINITY);
  order.progressOf(0, Number.POSITIVE_INFINITY);
  assert.equal(order.floor(), 50, 'all idle: source 0 leads');
  const restored = new EventOrder(3);
  restored.restore(order.state());
  assert.equal(restored.floor(), 50);
});
