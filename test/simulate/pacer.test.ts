import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fullActivity } from '../support/records.js';
import { pace } from '../../src/simulate/pacer.js';
import type { SimulatedRecord } from '../../src/simulate/simulation.js';

const START = Date.UTC(2026, 10, 25, 9, 0, 0);

function items(offsetsMs: number[]): SimulatedRecord[] {
  return offsetsMs.map((offset, n) => ({
    record: fullActivity(n, { creation_time: START + offset }),
    kind: 'owner',
    deliverAt: START + offset,
    duplicate: false,
  }));
}

/** A fake wall clock: sleeping moves it forward; each send takes `sendMs`. */
function fakeClock(sendMs = 0) {
  let now = 1_000_000;
  const sends: { at: number; offsets: number[] }[] = [];
  return {
    sends,
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    send: async (batch: readonly SimulatedRecord[]) => {
      sends.push({ at: now, offsets: batch.map((i) => i.deliverAt - START) });
      now += sendMs;
    },
  };
}

describe('pace', () => {
  it('hands each record over once the simulation clock reaches it, grouping the ones due together', async () => {
    const clock = fakeClock();
    const result = await pace(items([0, 0, 10, 1000, 1010, 5000]), clock.send, {
      start: START,
      speed: 1,
      batchSize: 100,
      ...clock,
    });
    assert.deepEqual(result, { delivered: 6, complete: true });
    const t0 = 1_000_000;
    for (const send of clock.sends)
      assert.ok(
        send.at - t0 >= send.offsets[send.offsets.length - 1]!,
        `sent at ${send.at - t0} before due ${send.offsets}`,
      );
    assert.deepEqual(
      clock.sends.map((s) => s.offsets),
      [[0, 0], [10], [1000], [1010], [5000]],
    );
  });

  it('runs speed times faster than the wall clock', async () => {
    const clock = fakeClock();
    await pace(items([0, 60_000, 120_000]), clock.send, {
      start: START,
      speed: 60,
      batchSize: 100,
      ...clock,
    });
    assert.deepEqual(
      clock.sends.map((s) => s.at - 1_000_000),
      [0, 1000, 2000],
    );
  });

  it('without pacing (speed Infinity) sends full batches back to back', async () => {
    const clock = fakeClock();
    await pace(items(Array.from({ length: 25 }, (_, i) => i * 1000)), clock.send, {
      start: START,
      speed: Infinity,
      batchSize: 10,
      ...clock,
    });
    assert.deepEqual(
      clock.sends.map((s) => s.offsets.length),
      [10, 10, 5],
    );
    assert.equal(clock.now(), 1_000_000, 'never slept');
  });

  it('when the sink is slow, catches up with bigger batches instead of queuing', async () => {
    const clock = fakeClock(100); // each send takes 100 ms
    await pace(items(Array.from({ length: 100 }, (_, i) => i * 10)), clock.send, {
      start: START,
      speed: 1,
      batchSize: 500,
      ...clock,
    });
    assert.ok(clock.sends.length < 20, `${clock.sends.length} sends for 100 records due every 10 ms`);
    assert.equal(
      clock.sends.reduce((n, s) => n + s.offsets.length, 0),
      100,
    );
  });

  it('stops at the signal and says it did not finish', async () => {
    const clock = fakeClock();
    const controller = new AbortController();
    let batches = 0;
    const result = await pace(
      items([0, 1000, 2000, 3000]),
      async (batch) => {
        await clock.send(batch);
        if (++batches === 2) controller.abort();
      },
      { start: START, speed: 1, batchSize: 100, signal: controller.signal, ...clock },
    );
    assert.deepEqual(result, { delivered: 2, complete: false });
  });
});
