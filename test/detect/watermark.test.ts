import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { CoreInput, TimedFlow } from '../../src/detect/types.js';
import { watermark, WatermarkClock } from '../../src/detect/watermark.js';
import { activity, at } from './helpers.js';

const HOUR = 3_600_000;
const record = (time: string): CoreInput => ({
  kind: 'record',
  record: activity({ creation_time: at(time) }),
});

/** What a flow item says, in short: r<hh:mm> for a record, w<hh:mm> for a watermark, c<id> for a checkpoint. */
function label(flow: TimedFlow): string {
  const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
  if (flow.kind === 'record') return `r${hhmm(flow.record.creation_time)}`;
  if (flow.kind === 'watermark') return `w${hhmm(flow.time)}`;
  if (flow.kind === 'restore') return `s${flow.key}`;
  if (flow.kind === 'classified') return `${flow.class}${hhmm(flow.time)}`;
  return `c${flow.id} late=${flow.stats.late} records=${flow.stats.records} wm=${hhmm(flow.watermark)}`;
}

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
}

describe('watermark', () => {
  it('follows the largest event time minus the lateness, and drops records older than it', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const inputs = cold<CoreInput>('a---b---c---d---(e|)', {
        a: record('12:00'),
        b: record('14:30'), // watermark 12:30
        c: record('12:10'), // late
        d: record('12:40'), // on time: after the watermark
        e: { kind: 'checkpoint', id: 1 },
      });
      expectObservable(inputs.pipe(watermark(2 * HOUR), map(label))).toBe('(ay)(bx)----d---(e|)', {
        a: 'r12:00',
        y: 'w10:00',
        b: 'r14:30',
        x: 'w12:30',
        d: 'r12:40',
        e: 'c1 late=1 records=4 wm=12:30',
      });
    });
  });

  it('in external mode moves only on watermark inputs, and never back', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const inputs = cold<CoreInput>('a-b-c-d-e-f|', {
        a: record('14:30'),
        b: record('12:00'), // no watermark yet: on time
        c: { kind: 'watermark', time: at('13:00') },
        d: record('12:59'), // late
        e: { kind: 'watermark', time: at('12:00') }, // ignored: backwards
        f: { kind: 'checkpoint', id: 2 },
      });
      expectObservable(inputs.pipe(watermark(2 * HOUR, 'external'), map(label))).toBe('a-b-c-----f|', {
        a: 'r14:30',
        b: 'r12:00',
        c: 'w13:00',
        f: 'c2 late=1 records=3 wm=13:00',
      });
    });
  });

  it('tells downstream of the watermark in steps, and always before a checkpoint', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const inputs = cold<CoreInput>('a---b---(c|)', {
        a: { kind: 'record', record: activity({ creation_time: 10_000 }) },
        b: { kind: 'record', record: activity({ creation_time: 10_500 }) }, // moved 500 ms < 1 s step
        c: { kind: 'checkpoint', id: 3 },
      });
      const kinds = inputs.pipe(
        watermark(0),
        map((flow) => (flow.kind === 'watermark' ? `w${flow.time}` : flow.kind)),
      );
      expectObservable(kinds).toBe('(ax)b---(yc|)', {
        a: 'record',
        x: 'w10000',
        b: 'record',
        y: 'w10500',
        c: 'checkpoint',
      });
    });
  });
});

describe('WatermarkClock', () => {
  it('counts records and late ones, and returns the watermark to announce or NaN', () => {
    const clock = new WatermarkClock(1_000, 'records', 500);
    assert.equal(clock.onTime(10_000), true);
    assert.equal(clock.afterRecord(10_000), 9_000); // first move: announced
    assert.equal(clock.onTime(10_200), true);
    assert.ok(Number.isNaN(clock.afterRecord(10_200))); // moved 200 ms < 500 ms step
    assert.ok(Number.isNaN(clock.afterRecord(9_500))); // not the largest event time
    assert.equal(clock.current, 9_200);
    assert.equal(clock.onTime(9_100), false); // below the watermark: late
    assert.equal(clock.advance(clock.current, true), 9_200); // forced: any move is announced
    assert.ok(Number.isNaN(clock.advance(5_000, true))); // never back
    const mark = clock.checkpoint(4);
    assert.deepEqual([mark.id, mark.watermark, mark.neededFrom, mark.branches], [4, 9_200, Infinity, 0]);
    assert.deepEqual([mark.stats.records, mark.stats.late], [3, 1]);
  });

  it('in external mode ignores event times', () => {
    const clock = new WatermarkClock(0, 'external');
    assert.equal(clock.onTime(50_000), true);
    assert.ok(Number.isNaN(clock.afterRecord(50_000)));
    assert.equal(clock.current, -Infinity);
    assert.equal(clock.advance(40_000, true), 40_000);
  });
});
