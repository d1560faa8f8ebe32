import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../src/app/metrics.js';
import { ErrorCodes } from '../../src/errors.js';
import { RULES } from '../../src/model/alert.js';

/** The codes a record can be dead-lettered with in `run` (docs/errors.md: where "decode"). */
const DEAD_LETTER_CODES = Object.values(ErrorCodes).filter(
  (code) => code.startsWith('DECODE_') || code === 'RECORD_INVALID' || code === 'RECORD_FROM_FUTURE',
);

describe('the metrics registry', () => {
  it('counters with labels start at 0 for every known label, before anything happened', async () => {
    const text = await createMetrics().registry.metrics();
    for (const rule of RULES)
      assert.match(text, new RegExp(`^mailbox_radar_alerts_total\\{rule="${rule}"\\} 0$`, 'm'));
    for (const code of DEAD_LETTER_CODES)
      assert.match(
        text,
        new RegExp(`^mailbox_radar_records_rejected_total\\{code="${code}"\\} 0$`, 'm'),
        code,
      );
    for (const name of ['system', 'owner', 'allow_listed', 'non_owner', 'cross_domain', 'app'])
      assert.match(
        text,
        new RegExp(`^mailbox_radar_records_classified_total\\{class="${name}"\\} 0$`, 'm'),
        name,
      );
    for (const code of ['REGISTRY_UNAVAILABLE', 'REGISTRY_UNAUTHORIZED'])
      assert.match(
        text,
        new RegExp(`^mailbox_radar_registry_failures_total\\{code="${code}"\\} 0$`, 'm'),
        code,
      );
  });

  it('process metrics have their standard names, not …_process_process_…', async () => {
    const text = await createMetrics().registry.metrics();
    assert.doesNotMatch(text, /process_process/);
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });

  it('fetch lag and commit lag, each saying which it is; no ambiguous consumer_lag', async () => {
    const text = await createMetrics().registry.metrics();
    assert.match(text, /^# HELP mailbox_radar_consumer_fetch_lag Fetch lag: .*not yet fetched/m);
    assert.match(text, /^# HELP mailbox_radar_consumer_commit_lag Commit lag: .*committed offset/m);
    assert.doesNotMatch(text, /mailbox_radar_consumer_lag\b/);
  });
});
