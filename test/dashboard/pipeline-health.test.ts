import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../src/app/metrics.js';
import { PipelineHealth } from '../../src/dashboard/pipeline-health.js';
import { parsePrometheusText } from '../../src/dashboard/prom-text.js';

/** What the registry serves now, as the dashboard reads it from /metrics. */
async function samplesOf(metrics: ReturnType<typeof createMetrics>) {
  return parsePrometheusText(await metrics.registry.metrics()).samples;
}

describe('PipelineHealth', () => {
  it('records per second by class, late and dead-lettered, summed over the instances', async () => {
    const a = createMetrics();
    const b = createMetrics();
    const health = new PipelineHealth(10);
    const first = health.add(0, [
      { url: 'a', samples: await samplesOf(a) },
      { url: 'b', samples: await samplesOf(b) },
    ]);
    assert.equal(first.records.owner, null, 'one read is no rate');
    a.classified.inc({ class: 'owner' }, 100);
    b.classified.inc({ class: 'owner' }, 50);
    a.classified.inc({ class: 'cross_domain' }, 10);
    a.late.inc(5);
    b.deadLettered.inc(2);
    const second = health.add(5_000, [
      { url: 'a', samples: await samplesOf(a) },
      { url: 'b', samples: await samplesOf(b) },
    ]);
    assert.equal(second.records.owner, 30); // (100 + 50) / 5 s
    assert.equal(second.records.cross_domain, 2);
    assert.equal(second.records.late, 1);
    assert.equal(second.records.dead_lettered, 0.4);
    assert.equal(second.records.system, 0);
    assert.deepEqual(
      second.instances.map((i) => i.up),
      [true, true],
    );
  });

  it('a counter that went down is a restart: counted from 0; an instance down is said and left out', async () => {
    const health = new PipelineHealth(10);
    const before = createMetrics();
    before.classified.inc({ class: 'non_owner' }, 1_000);
    health.add(0, [{ url: 'a', samples: await samplesOf(before) }]);
    const restarted = createMetrics();
    restarted.classified.inc({ class: 'non_owner' }, 20);
    assert.equal(
      health.add(10_000, [{ url: 'a', samples: await samplesOf(restarted) }]).records.non_owner,
      2,
    );
    const down = health.add(15_000, [{ url: 'a', error: 'ECONNREFUSED' }]);
    assert.deepEqual(down.instances, [{ url: 'a', up: false, error: 'ECONNREFUSED' }]);
    assert.equal(down.records.non_owner, null);
  });

  it('lags per partition (max over instances) and event-time delay = read time − stream time', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.fetchLag.set({ topic: 'activity', partition: '0' }, 12);
    b.fetchLag.set({ topic: 'activity', partition: '0' }, 3); // stale after a rebalance
    b.fetchLag.set({ topic: 'activity', partition: '1' }, 0);
    a.commitLag.set({ topic: 'activity', partition: '0' }, 900);
    a.streamTime.set({ topic: 'activity', partition: '0' }, 1_000);
    b.streamTime.set({ topic: 'repartition', partition: '2' }, 1_030);
    const point = new PipelineHealth(10).add(1_060_000, [
      { url: 'a', samples: await samplesOf(a) },
      { url: 'b', samples: await samplesOf(b) },
    ]);
    assert.deepEqual(point.fetchLag, { 'activity[0]': 12, 'activity[1]': 0 });
    assert.deepEqual(point.commitLag, { 'activity[0]': 900 });
    assert.deepEqual(point.eventDelay, { 'activity[0]': 60, 'repartition[2]': 30 });
  });

  it('keeps the last `limit` points', () => {
    const health = new PipelineHealth(3);
    for (let i = 0; i < 5; i++) health.add(i * 1_000, []);
    assert.deepEqual(
      health.points().map((p) => p.at),
      [2_000, 3_000, 4_000],
    );
  });
});
