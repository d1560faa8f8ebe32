import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTimestamp } from '../../src/detect/timestamp.js';

describe('parseTimestamp', () => {
  it('reads ISO-8601, taking a missing zone as UTC', () => {
    const utc = Date.UTC(2021, 3, 28, 14, 54, 37);
    assert.equal(parseTimestamp('2021-04-28T14:54:37'), utc);
    assert.equal(parseTimestamp('2021-04-28T14:54:37Z'), utc);
    assert.equal(parseTimestamp('2021-04-28 14:54:37'), utc);
    assert.equal(parseTimestamp('2021-04-28T16:54:37+02:00'), utc);
    assert.equal(parseTimestamp('2021-04-28T09:54:37-0500'), utc);
    assert.equal(parseTimestamp('2021-04-28T14:54:37.123Z'), utc + 123);
    assert.equal(parseTimestamp('2021-04-28T14:54:37.1234567'), utc + 123);
    assert.equal(parseTimestamp('2021-04-28T14:54'), utc - 37_000);
    assert.equal(parseTimestamp('2021-04-28'), Date.UTC(2021, 3, 28));
  });

  it('reads epoch milliseconds as a number or digits', () => {
    assert.equal(parseTimestamp(1619621677000), 1619621677000);
    assert.equal(parseTimestamp('1619621677000'), 1619621677000);
  });

  it("reads the Sentinel export's US format as UTC", () => {
    assert.equal(parseTimestamp('4/28/2021, 2:54:37.000 PM'), Date.UTC(2021, 3, 28, 14, 54, 37));
    assert.equal(parseTimestamp('4/28/2021, 12:05:00.000 AM'), Date.UTC(2021, 3, 28, 0, 5, 0));
    assert.equal(parseTimestamp('12/31/2021, 12:00:00 PM'), Date.UTC(2021, 11, 31, 12, 0, 0));
  });

  it('refuses what is not a timestamp', () => {
    for (const bad of [
      'yesterday',
      '',
      '2021-13-01T00:00:00',
      '2021-02-30',
      '2021-04-28T24:00:00',
      '2021-04-28T14:54:37+2',
      '4/31/2021, 1:00:00 PM',
      NaN,
      Infinity,
      null,
      true,
      {},
    ]) {
      assert.equal(parseTimestamp(bad), undefined, String(bad));
    }
  });
});
