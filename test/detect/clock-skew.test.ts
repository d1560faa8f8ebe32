import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { futureError } from '../../src/detect/clock-skew.js';
import { ErrorCodes, RecordError } from '../../src/errors.js';

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const SKEW = 15 * 60_000; // the default detection.maxClockSkew

describe('futureError', () => {
  it('accepts the past, the present and anything up to the bound', () => {
    for (const time of [0, NOW - 86_400_000, NOW, NOW + 60_000, NOW + SKEW]) {
      assert.equal(futureError({ creation_time: time }, NOW, SKEW), undefined, new Date(time).toISOString());
    }
  });

  it('rejects a record past the bound with RECORD_FROM_FUTURE naming creation_time, its value and the bound', () => {
    const error = futureError({ creation_time: NOW + SKEW + 1 }, NOW, SKEW);
    assert.ok(error instanceof RecordError);
    assert.equal(error.code, ErrorCodes.RECORD_FROM_FUTURE);
    assert.equal(error.field, 'creation_time');
    assert.equal(error.retriable, false);
    assert.equal(
      error.message,
      'creation_time: 2024-01-15T12:15:00.001Z is more than 15m ahead of the clock ' +
        '(detection.maxClockSkew; latest accepted 2024-01-15T12:15:00.000Z)',
    );
  });

  it('rejects the issue’s record dated 2099, and dates beyond what Date can show', () => {
    assert.match(
      futureError({ creation_time: Date.UTC(2099, 0, 1) }, NOW, SKEW)?.message ?? '',
      /^creation_time: 2099-01-01T00:00:00\.000Z is more than 15m ahead/,
    );
    assert.match(
      futureError({ creation_time: Number.MAX_SAFE_INTEGER }, NOW, SKEW)?.message ?? '',
      /^creation_time: 9007199254740991 is more than/,
    );
  });

  it('follows the configured skew and the clock it is given', () => {
    const time = NOW + 2 * 60_000;
    assert.ok(futureError({ creation_time: time }, NOW, 60_000));
    assert.equal(futureError({ creation_time: time }, NOW, 5 * 60_000), undefined);
    assert.equal(futureError({ creation_time: time }, NOW + 60_000, 60_000), undefined);
  });
});
