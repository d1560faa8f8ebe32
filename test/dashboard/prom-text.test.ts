import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../src/app/metrics.js';
import { parsePrometheusText, sampleNames } from '../../src/dashboard/prom-text.js';

describe('parsePrometheusText', () => {
  it('reads samples, labels with escapes, special values and types', () => {
    const { samples, types } = parsePrometheusText(
      [
        '# HELP a_total An "a".',
        '# TYPE a_total counter',
        'a_total 3',
        'b{topic="t.1",partition="0"} 12.5 1700000000000',
        String.raw`c{path="C:\\dir",quote="say \"hi\"",nl="x\ny"} -Inf`,
        'd NaN',
        'e{} +Inf',
        'not a sample',
        'f{unclosed="x} 1',
      ].join('\n'),
    );
    assert.equal(types.get('a_total'), 'counter');
    assert.deepEqual(samples.slice(0, 3), [
      { name: 'a_total', labels: {}, value: 3 },
      { name: 'b', labels: { topic: 't.1', partition: '0' }, value: 12.5 },
      {
        name: 'c',
        labels: { path: 'C:\\dir', quote: 'say "hi"', nl: 'x\ny' },
        value: Number.NEGATIVE_INFINITY,
      },
    ]);
    assert.ok(Number.isNaN(samples[3]!.value));
    assert.deepEqual(samples[4], { name: 'e', labels: {}, value: Number.POSITIVE_INFINITY });
    assert.equal(samples.length, 5, 'lines that are no sample are left out');
  });

  it("reads what the pipeline's registry serves", async () => {
    const metrics = createMetrics();
    metrics.classified.inc({ class: 'owner' }, 7);
    metrics.fetchLag.set({ topic: 'activity', partition: '2' }, 40);
    metrics.batchSeconds.observe(0.02);
    const { samples, types } = parsePrometheusText(await metrics.registry.metrics());
    const owner = samples.find(
      (s) => s.name === 'mailbox_radar_records_classified_total' && s.labels.class === 'owner',
    );
    assert.equal(owner?.value, 7);
    const lag = samples.find((s) => s.name === 'mailbox_radar_consumer_fetch_lag');
    assert.deepEqual(lag, {
      name: 'mailbox_radar_consumer_fetch_lag',
      labels: { topic: 'activity', partition: '2' },
      value: 40,
    });
    assert.equal(types.get('mailbox_radar_batch_duration_seconds'), 'histogram');
    assert.ok(samples.some((s) => s.name === 'mailbox_radar_batch_duration_seconds_bucket'));
  });

  it('sampleNames: a histogram is read through _bucket, _sum and _count', () => {
    assert.deepEqual(sampleNames('h', 'histogram'), ['h_bucket', 'h_sum', 'h_count']);
    assert.deepEqual(sampleNames('c_total', 'counter'), ['c_total']);
  });
});
