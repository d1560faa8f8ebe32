import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inSlices } from '../../src/app/in-slices.js';

describe('inSlices (a long restore gives the event loop turns: heartbeats and timers go out)', () => {
  it('runs every item once, in order, in slices of the given size', async () => {
    const seen: number[][] = [];
    const done = await inSlices(
      [1, 2, 3, 4, 5],
      2,
      (slice) => seen.push([...slice]),
      () => false,
    );
    assert.equal(done, true);
    assert.deepEqual(seen, [[1, 2], [3, 4], [5]]);
  });

  it('lets a timer due meanwhile run between two slices, not after the last', async () => {
    const events: string[] = [];
    const items = Array.from({ length: 4 }, (_, i) => i);
    setTimeout(() => events.push('timer'), 0);
    const busyUntilTimerIsDue = () => {
      const until = Date.now() + 5;
      while (Date.now() < until);
    };
    await inSlices(
      items,
      1,
      (slice) => {
        busyUntilTimerIsDue();
        events.push(`slice ${slice[0]}`);
      },
      () => false,
    );
    assert.deepEqual(events.slice(0, 2), ['slice 0', 'timer']);
    assert.equal(events.length, 5);
  });

  it('stops after a turn in which it was told to, and says so', async () => {
    let stop = false;
    const seen: number[] = [];
    const done = await inSlices(
      [1, 2, 3],
      1,
      (slice) => {
        seen.push(slice[0]!);
        stop = true; // e.g. a rebalance during the turn that follows
      },
      () => stop,
    );
    assert.equal(done, false);
    assert.deepEqual(seen, [1]);
  });
});
