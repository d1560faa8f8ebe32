import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeHeap } from '../../src/detect/time-heap.js';
import { insertSorted, lowerBound, upperBound } from '../../src/detect/sorted.js';

describe('TimeHeap', () => {
  it('pops items by ascending time', () => {
    const heap = new TimeHeap<string>();
    const times = [50, 10, 40, 10, 30, 20, 60, 0, 35];
    for (const time of times) heap.push(time, `t${time}`);
    assert.equal(heap.size, times.length);
    const popped: number[] = [];
    while (heap.size > 0) {
      const time = heap.peekTime();
      assert.equal(heap.pop(), `t${time}`);
      popped.push(time);
    }
    assert.deepEqual(
      popped,
      [...times].sort((a, b) => a - b),
    );
    assert.equal(heap.peekTime(), Infinity);
    assert.equal(heap.pop(), undefined);
  });
});

describe('sorted', () => {
  const items = [10, 20, 20, 30].map((time) => ({ time }));

  it('finds bounds', () => {
    assert.equal(lowerBound(items, 20), 1);
    assert.equal(upperBound(items, 20), 3);
    assert.equal(lowerBound(items, 5), 0);
    assert.equal(upperBound(items, 30), 4);
  });

  it('inserts in time order, after equal times', () => {
    const list = [
      { time: 10, n: 1 },
      { time: 20, n: 2 },
    ];
    assert.equal(insertSorted(list, { time: 15, n: 3 }), 1);
    assert.equal(insertSorted(list, { time: 20, n: 4 }), 3);
    assert.equal(insertSorted(list, { time: 5, n: 5 }), 0);
    assert.deepEqual(
      list.map((i) => i.n),
      [5, 1, 3, 2, 4],
    );
  });
});
