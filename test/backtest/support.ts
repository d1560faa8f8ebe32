/** A backtest over the burst fixture whose actor's name is markup, run in-process (no CLI). */
import { readFileSync } from 'node:fs';
import { parseGrid } from '../../src/backtest/grid.js';
import { Backtest, type BacktestResult } from '../../src/backtest/runner.js';
import { parseRecord } from '../../src/detect/parse-record.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

/** An actor (user id, display name) that is markup: the report must show it as text. */
export const XSS_ACTOR = '<script>window.__pwned=1</script>@contoso.com';

/** The burst fixture with eve as XSS_ACTOR, backtested over nonOwnerBurst.threshold=5,20,40. */
export function xssBacktest(): { keys: readonly string[]; result: BacktestResult } {
  const text = readFileSync(`${FIXTURES}burst.ndjson`, 'utf8').replaceAll(
    'eve@contoso.com',
    XSS_ACTOR.replaceAll('"', '\\"'),
  );
  const grid = parseGrid(['nonOwnerBurst.threshold=5,20,40', 'mailboxSweep.window=5m,10m'], {});
  const run = new Backtest(grid.settings);
  for (const line of text.split('\n'))
    if (line.trim() !== '') run.record(parseRecord(JSON.parse(line) as unknown));
  return { keys: grid.keys, result: run.finish() };
}
