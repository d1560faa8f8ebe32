import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { LATE_LOG_INTERVAL_MS, LateLog } from '../../src/app/late-log.js';

const H = 3_600_000;
const M = 60_000;
const T0 = Date.UTC(2026, 10, 25, 12);

/** A logger that keeps what it was told. */
function recorder() {
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  return {
    lines,
    logger: { warn: (fields: object, message: string) => lines.push({ fields: { ...fields }, message }) },
  };
}

const dropped = (lines: { fields: Record<string, unknown> }[]) =>
  lines.reduce((n, line) => n + Number(line.fields.dropped), 0);

describe('LateLog: records dropped as late are told, at most once per partition per interval', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
  afterEach(() => mock.timers.reset());

  it('a batch of late records is one line: how many, their event times, how far behind the bound', () => {
    const { lines, logger } = recorder();
    const log = new LateLog(logger, 2 * H);
    const streamTime = T0 - H;
    // The bound is streamTime − 2 h; these are 1 h, 1 h 30 min and 1 h 5 min behind it.
    for (const behind of [H, 90 * M, 65 * M])
      log.dropped('activity', 3, streamTime - 2 * H - behind, streamTime);
    assert.equal(lines.length, 0, 'told at the end of the turn, not per record');
    mock.timers.tick(0);
    assert.equal(lines.length, 1);
    const { fields, message } = lines[0]!;
    assert.equal(fields.topic, 'activity');
    assert.equal(fields.partition, 3);
    assert.equal(fields.dropped, 3);
    assert.deepEqual(fields.behindMs, { min: H, max: 90 * M });
    assert.deepEqual(fields.eventTimes, {
      oldest: new Date(streamTime - 2 * H - 90 * M).toISOString(),
      newest: new Date(streamTime - 2 * H - H).toISOString(),
    });
    assert.equal(fields.bound, new Date(streamTime - 2 * H).toISOString());
    assert.equal(fields.allowedLatenessMs, 2 * H);
    assert.match(message, /^3 records dropped as late on activity\[3\]: 1h to 1h30m older than/);
  });

  it('more drops within the interval wait for it, then come as one line; none is lost', () => {
    const { lines, logger } = recorder();
    const log = new LateLog(logger, 2 * H);
    const streamTime = T0;
    log.dropped('activity', 0, streamTime - 3 * H, streamTime);
    mock.timers.tick(0);
    assert.equal(lines.length, 1);
    for (let i = 0; i < 50; i++) {
      mock.timers.tick(100);
      log.dropped('activity', 0, streamTime - 3 * H - i * 1_000, streamTime);
    }
    assert.equal(lines.length, 1, 'nothing more within the interval');
    mock.timers.tick(LATE_LOG_INTERVAL_MS - 5_000 - 1);
    assert.equal(lines.length, 1);
    mock.timers.tick(1);
    assert.equal(lines.length, 2, 'the rest once the interval has passed since the first line');
    assert.equal(lines[1]!.fields.dropped, 50);
    assert.equal(dropped(lines), 51);
    mock.timers.tick(10 * LATE_LOG_INTERVAL_MS);
    assert.equal(lines.length, 2, 'nothing pending, nothing told');
  });

  it('each partition has its own interval', () => {
    const { lines, logger } = recorder();
    const log = new LateLog(logger, 2 * H);
    log.dropped('activity', 0, T0 - 3 * H, T0);
    mock.timers.tick(0);
    log.dropped('activity', 0, T0 - 3 * H, T0);
    log.dropped('activity', 1, T0 - 3 * H, T0);
    log.dropped('other', 0, T0 - 3 * H, T0);
    mock.timers.tick(0);
    assert.deepEqual(
      lines.map(
        (l) => `${String(l.fields.topic)}[${String(l.fields.partition)}] ${String(l.fields.dropped)}`,
      ),
      ['activity[0] 1', 'activity[1] 1', 'other[0] 1'],
    );
  });

  it('records the core drops behind its watermark are told too, by topic', () => {
    const { lines, logger } = recorder();
    const log = new LateLog(logger, 2 * H);
    log.droppedBehindWatermark('repartition', 4, T0 - 2 * H);
    log.droppedBehindWatermark('repartition', 0, T0 - 2 * H);
    mock.timers.tick(0);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.fields.topic, 'repartition');
    assert.equal(lines[0]!.fields.partition, undefined);
    assert.equal(lines[0]!.fields.dropped, 4);
    assert.equal(lines[0]!.fields.bound, new Date(T0 - 2 * H).toISOString());
    assert.match(lines[0]!.message, /^4 records dropped as late on repartition: older than the watermark/);
  });

  it('close tells what is pending at once, and nothing after', () => {
    const { lines, logger } = recorder();
    const log = new LateLog(logger, 2 * H);
    log.dropped('activity', 0, T0 - 3 * H, T0);
    mock.timers.tick(0);
    log.dropped('activity', 0, T0 - 3 * H, T0);
    log.dropped('activity', 0, T0 - 4 * H, T0);
    log.close();
    assert.equal(lines.length, 2);
    assert.equal(lines[1]!.fields.dropped, 2);
    mock.timers.tick(10 * LATE_LOG_INTERVAL_MS);
    log.dropped('activity', 0, T0 - 3 * H, T0);
    mock.timers.tick(10 * LATE_LOG_INTERVAL_MS);
    assert.equal(lines.length, 2);
  });
});
