import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGrid } from '../../src/backtest/grid.js';
import { RadarError } from '../../src/errors.js';

const configured = {
  detection: { rules: { nonOwnerBurst: { threshold: 30 } }, allowedLateness: '1h' },
};

describe('backtest --grid', () => {
  it('makes the cartesian product, in order, with the configuration as the base', () => {
    const grid = parseGrid(
      ['nonOwnerBurst.threshold=10,30', 'detection.rules.mailboxSweep.window=5m,10m,20m'],
      configured,
    );
    assert.deepEqual(grid.keys, ['rules.nonOwnerBurst.threshold', 'rules.mailboxSweep.window']);
    assert.equal(grid.settings.length, 6);
    assert.deepEqual(
      grid.settings.map((s) => [
        s.detection.rules.nonOwnerBurst.threshold,
        s.detection.rules.mailboxSweep.windowMs / 60_000,
        s.isDefault,
      ]),
      [
        [10, 5, false],
        [10, 10, false],
        [10, 20, false],
        [30, 5, false],
        [30, 10, true], // the file's threshold, the default window
        [30, 20, false],
      ],
    );
    // What the grid does not touch comes from the configuration.
    for (const s of grid.settings) assert.equal(s.detection.allowedLatenessMs, 3_600_000);
    assert.deepEqual(
      grid.settings.map((s) => s.index),
      [0, 1, 2, 3, 4, 5],
    );
  });

  it('puts the configured settings first when no combination equals them, with their values', () => {
    const grid = parseGrid(['nonOwnerBurst.threshold=10,20', 'nonOwnerBurst.window=1m'], configured);
    assert.equal(grid.settings.length, 3);
    assert.deepEqual(grid.settings[0]?.values, {
      'rules.nonOwnerBurst.threshold': '30',
      'rules.nonOwnerBurst.window': '5m',
    });
    assert.equal(grid.settings[0]?.isDefault, true);
    assert.deepEqual(
      grid.settings.map((s) => s.isDefault),
      [true, false, false],
    );
  });

  it('marks one configured row only, when two spellings give the same settings', () => {
    const grid = parseGrid(['nonOwnerBurst.window=5m,300000'], {});
    assert.deepEqual(
      grid.settings.map((s) => s.isDefault),
      [true, false],
    );
  });

  it('takes lists as values, split at the commas outside brackets', () => {
    const grid = parseGrid(['ignoreLogonTypes=[3, 4],[Transport]'], {});
    assert.deepEqual(
      grid.settings.map((s) => [s.detection.ignoreLogonTypes, s.isDefault]),
      [
        [[3, 4], true],
        [[3], false],
      ],
    );
  });

  it('without --grid, is the configuration alone', () => {
    const grid = parseGrid([], configured);
    assert.equal(grid.settings.length, 1);
    assert.equal(grid.settings[0]?.isDefault, true);
    assert.equal(grid.settings[0]?.detection.rules.nonOwnerBurst.threshold, 30);
  });

  const refused: [string[], RegExp][] = [
    [
      ['nonOwnerBurst.threshold=-1'],
      /^--grid nonOwnerBurst\.threshold=-1: detection\.rules\.nonOwnerBurst\.threshold must be a positive integer$/,
    ],
    [
      ['firstAccess.lookback=0'],
      /^--grid firstAccess\.lookback=0: detection\.rules\.firstAccess\.lookback must be longer than 0$/,
    ],
    [
      ['nonOwnerBurst.enabled=maybe'],
      /^--grid nonOwnerBurst\.enabled=maybe: detection\.rules\.nonOwnerBurst\.enabled must be true or false$/,
    ],
    [['nonOwnerBurst.threshold=5', 'rules.nonOwnerBurst.threshold=6'], /given by another --grid already/],
    [['=5'], /^--grid =5: \(no key\) is not a configuration path under detection\.$/],
    [['bogus=1'], /^--grid bogus=1: detection\.bogus unknown key$/],
    [
      ['mailboxSweep.window=5m,soon'],
      /^--grid mailboxSweep\.window=soon: detection\.rules\.mailboxSweep\.window must be a duration/,
    ],
    [
      ['nonOwnerBurst.threshold=5,5'],
      /^--grid nonOwnerBurst\.threshold=5,5: detection\.rules\.nonOwnerBurst\.threshold value 5 is given twice$/,
    ],
    [['nonOwnerBurst.threshold=5,,6'], /has an empty value$/],
    [['maxClockSkew=1h'], /^--grid maxClockSkew=1h: detection\.maxClockSkew is applied once per record/],
    [['detection.=5'], /is not a configuration path/],
  ];
  for (const [options, message] of refused)
    it(`refuses ${options.join(' ')}`, () => {
      assert.throws(
        () => parseGrid(options, configured),
        (error: unknown) =>
          error instanceof RadarError && error.code === 'CONFIG_INVALID' && message.test(error.message),
      );
    });
});
