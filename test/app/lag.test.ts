import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { LagMetrics, type CommittedOffsets, type LagEvents } from '../../src/app/lag.js';
import { createMetrics } from '../../src/app/metrics.js';

const FETCH = 'mailbox_radar_consumer_fetch_lag';
const COMMIT = 'mailbox_radar_consumer_commit_lag';

/** A metric's samples as `topic/partition → value`. */
async function samples(registry: Registry, name: string): Promise<Record<string, number>> {
  const text = await registry.metrics();
  const out: Record<string, number> = {};
  for (const match of text.matchAll(
    new RegExp(`^${name}\\{topic="([^"]+)",partition="(\\d+)"\\} (\\S+)$`, 'gm'),
  ))
    out[`${match[1]}/${match[2]}`] = Number(match[3]);
  return out;
}

/** The group's committed offsets, answered when the test says so. */
function committedSource(offsets: CommittedOffsets) {
  const asked: string[][] = [];
  let answer!: () => void;
  const read = (topics: string[]) => {
    asked.push(topics);
    return new Promise<CommittedOffsets>((resolve) => (answer = () => resolve(offsets)));
  };
  return { read, asked, answer: () => answer() };
}

describe('LagMetrics: fetch lag and commit lag per partition', () => {
  it('fetch lag is the high watermark minus the next offset to fetch', async () => {
    const metrics = createMetrics();
    const lag = new LagMetrics(metrics, async () => []);
    lag.fetched('activity', 0, 1_000, 399); // offsets up to 399 fetched: 400 … 999 are not
    lag.fetched('activity', 1, 50, 49);
    assert.deepEqual(await samples(metrics.registry, FETCH), { 'activity/0': 600, 'activity/1': 0 });
  });

  it('commit lag is the high watermark minus the committed offset, from the join on and at each commit', async () => {
    const metrics = createMetrics();
    const source = committedSource([
      {
        topic: 'activity',
        partitions: [
          { partition: 0, offset: '100' },
          { partition: 1, offset: '-1' },
        ],
      },
    ]);
    const lag = new LagMetrics(metrics, source.read);
    const joined = lag.assigned({ activity: [0, 1] });
    assert.deepEqual(source.asked, [['activity']]);
    source.answer();
    await joined;
    lag.fetched('activity', 0, 1_000, 999);
    lag.fetched('activity', 1, 30, 29);
    // Caught up (fetch lag 0), yet a restart would read 900 records again.
    assert.deepEqual(await samples(metrics.registry, FETCH), { 'activity/0': 0, 'activity/1': 0 });
    assert.deepEqual(
      await samples(metrics.registry, COMMIT),
      { 'activity/0': 900 },
      'nothing committed on 1',
    );
    lag.committed('activity', 0, 700);
    lag.committed('activity', 1, 30);
    assert.deepEqual(await samples(metrics.registry, COMMIT), { 'activity/0': 300, 'activity/1': 0 });
    lag.fetched('activity', 0, 1_200, 999);
    assert.deepEqual(await samples(metrics.registry, COMMIT), { 'activity/0': 500, 'activity/1': 0 });
  });

  it('a commit after the join wins over the join’s slower read; revoked partitions leave no series', async () => {
    const metrics = createMetrics();
    const source = committedSource([{ topic: 'activity', partitions: [{ partition: 0, offset: '20' }] }]);
    const lag = new LagMetrics(metrics, source.read);
    await lag.assigned({});
    lag.fetched('activity', 2, 100, 99);
    lag.committed('activity', 2, 40);
    metrics.streamTime.set({ topic: 'activity', partition: '2' }, 1_700_000_000); // the pipeline sets it
    const joined = lag.assigned({ activity: [0] });
    assert.deepEqual(await samples(metrics.registry, FETCH), {}, 'partition 2 is no longer ours');
    assert.deepEqual(await samples(metrics.registry, COMMIT), {});
    assert.deepEqual(
      await samples(metrics.registry, 'mailbox_radar_partition_stream_time_seconds'),
      {},
      'nor its stream time, which would grow stale here',
    );
    lag.fetched('activity', 0, 100, 99);
    lag.committed('activity', 0, 90);
    source.answer(); // the join's read says 20: older than the commit that came since
    await joined;
    assert.deepEqual(await samples(metrics.registry, COMMIT), { 'activity/0': 10 }, '100 − 90');
  });

  it('listens to the consumer: batches, commits and joins', async () => {
    const metrics = createMetrics();
    const emitter = new EventEmitter();
    const consumer = {
      events: { GROUP_JOIN: 'join', END_BATCH_PROCESS: 'batch', COMMIT_OFFSETS: 'commit' },
      on: (name: string, listener: (event: unknown) => void) => emitter.on(name, listener),
    } as unknown as LagEvents;
    const source = committedSource([{ topic: 'activity', partitions: [{ partition: 0, offset: '5' }] }]);
    new LagMetrics(metrics, source.read).attach(consumer);
    emitter.emit('join', { payload: { memberAssignment: { activity: [0] } } });
    source.answer();
    await new Promise((resolve) => setImmediate(resolve));
    emitter.emit('batch', {
      payload: { topic: 'activity', partition: 0, highWatermark: '20', lastOffset: '14' },
    });
    assert.deepEqual(await samples(metrics.registry, FETCH), { 'activity/0': 5 });
    assert.deepEqual(await samples(metrics.registry, COMMIT), { 'activity/0': 15 });
    emitter.emit('commit', {
      payload: { topics: [{ topic: 'activity', partitions: [{ partition: 0, offset: '12' }] }] },
    });
    assert.deepEqual(await samples(metrics.registry, COMMIT), { 'activity/0': 8 });
  });
});
