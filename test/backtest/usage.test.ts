/**
 * `mailbox-radar backtest` refusing bad usage as a user meets it: exit code 2, nothing on stdout, one line on
 * stderr naming the --grid option, the key and the reason, and no report left behind. (The grid's other
 * refusals are checked in-process in grid.test.ts.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../simulate/support.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-backtest-usage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('mailbox-radar backtest, bad usage', () => {
  for (const [grid, message] of [
    [
      ['nonOwnerBurst.threshold=10,0'],
      '--grid nonOwnerBurst.threshold=0: detection.rules.nonOwnerBurst.threshold must be a positive integer',
    ],
    [
      ['nonOwnerBurst.treshold=5'],
      '--grid nonOwnerBurst.treshold=5: detection.rules.nonOwnerBurst.treshold unknown key (did you mean threshold?)',
    ],
    [
      ['nonOwnerBurst.threshold'],
      '--grid nonOwnerBurst.threshold: nonOwnerBurst.threshold must be KEY=VALUE',
    ],
    [
      ['nonOwnerBurst.threshold=1,2,3,4,5,6,7,8,9', 'mailboxSweep.threshold=1,2,3,4,5,6,7,8,9'],
      '--grid: 81 combinations; at most 64',
    ],
  ] as const) {
    it(`refuses --grid ${grid.join(' --grid ')} with exit code 2 and one line`, async () => {
      const report = join(dir, 'refused.html');
      const run = await runCli([
        'backtest',
        ...['--input', `${FIXTURES}burst.ndjson`, '--report', report],
        ...grid.flatMap((g) => ['--grid', g]),
      ]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr.split('\n').filter((l) => l !== '').length, 1, run.stderr);
      assert.ok(run.stderr.startsWith(`mailbox-radar: ${message}`), run.stderr);
      assert.equal(existsSync(report), false, 'no report');
    });
  }

  it('reports a missing input with exit code 2 and leaves no empty report', async () => {
    const report = join(dir, 'x.html');
    const run = await runCli(['backtest', '--input', join(dir, 'nope.ndjson'), '--report', report]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^mailbox-radar: input .*nope\.ndjson: no such file$/m);
    assert.equal(existsSync(report), false);
  });
});
