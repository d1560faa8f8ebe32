import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it('reads units and milliseconds', () => {
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration(' 10M '), 600_000);
    assert.equal(parseDuration(1234), 1234);
    assert.equal(parseDuration('1234'), 1234);
    assert.equal(parseDuration(0), 0);
  });

  it('refuses what is not a duration', () => {
    for (const bad of [
      '',
      '5',
      'five minutes',
      '5x',
      '-5m',
      'm5',
      '5m5',
      -1,
      1.5,
      NaN,
      Infinity,
      null,
      undefined,
      true,
      [],
      {},
    ]) {
      if (bad === '5') continue; // digits alone are milliseconds
      assert.equal(parseDuration(bad), undefined, String(bad));
    }
  });
});

describe('formatDuration', () => {
  it('writes the largest whole unit', () => {
    assert.equal(formatDuration(300_000), '5m');
    assert.equal(formatDuration(7_200_000), '2h');
    assert.equal(formatDuration(1_500), '1500ms');
    assert.equal(formatDuration(30_000), '30s');
  });
});
