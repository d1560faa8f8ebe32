/**
 * The two lags an operator asks about, per assigned partition of each source topic:
 *
 *   fetch lag   high watermark − next offset to fetch: records this instance has not read yet (0 once
 *               caught up). Says whether it keeps up.
 *   commit lag  high watermark − the group's committed offset: what a restart reads again, the LAG of
 *               `kafka-consumer-groups --describe`. On the activity topic offsets are committed where
 *               processing stands once its output is acknowledged (open windows are restored from their
 *               changelog), so it is 0 once caught up; on the repartition topic they stay as far behind as
 *               the sweep's open windows need, so it stays large while the fetch lag is 0.
 *
 * Fed by the consumer's instrumentation events (kafkajs), so the pipeline only attaches it: each batch's
 * high watermark and last offset (END_BATCH_PROCESS), the offsets the broker accepted (COMMIT_OFFSETS),
 * and each join's assignment (GROUP_JOIN), whose committed offsets are read once so that the commit lag is
 * right before this member's first commit. A partition without a committed offset has no commit-lag series.
 */
import type { Consumer } from 'kafkajs';
import type { Metrics } from './metrics.js';

/** The group's committed offsets, as admin.fetchOffsets gives them (offset -1: none). */
export type CommittedOffsets = { topic: string; partitions: { partition: number; offset: string }[] }[];

export type LagEvents = Pick<Consumer, 'on' | 'events'>;

interface PartitionLag {
  highWatermark: number | undefined;
  committed: number | undefined;
}

export class LagMetrics {
  private partitions = new Map<string, PartitionLag>();
  private generation = 0;

  constructor(
    private readonly metrics: Pick<Metrics, 'fetchLag' | 'commitLag' | 'streamTime'>,
    private readonly readCommitted: (topics: string[]) => Promise<CommittedOffsets>,
  ) {}

  /** Listens to the consumer's batches, commits and joins. */
  attach(consumer: LagEvents): this {
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
      this.fetched(
        payload.topic,
        payload.partition,
        Number(payload.highWatermark),
        Number(payload.lastOffset),
      ),
    );
    consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      for (const { topic, partitions } of payload.topics)
        for (const { partition, offset } of partitions) this.committed(topic, partition, Number(offset));
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => void this.assigned(payload.memberAssignment));
    return this;
  }

  /**
   * A join: only the partitions now assigned have series; their committed offsets are read (a commit
   * that lands meanwhile is newer and wins). Never rejects: without them, the lag waits for a commit.
   */
  async assigned(assignment: Record<string, number[]>): Promise<void> {
    const generation = ++this.generation;
    this.partitions = new Map();
    this.metrics.fetchLag.reset();
    this.metrics.commitLag.reset();
    this.metrics.streamTime.reset(); // set by the pipeline per batch; a revoked partition's would go stale
    for (const [topic, partitions] of Object.entries(assignment))
      for (const partition of partitions)
        this.partitions.set(key(topic, partition), { highWatermark: undefined, committed: undefined });
    const topics = Object.keys(assignment).filter((topic) => (assignment[topic] ?? []).length > 0);
    if (topics.length === 0) return;
    let offsets: CommittedOffsets;
    try {
      offsets = await this.readCommitted(topics);
    } catch {
      return;
    }
    if (generation !== this.generation) return;
    for (const { topic, partitions } of offsets)
      for (const { partition, offset } of partitions) {
        const state = this.partitions.get(key(topic, partition));
        const committed = Number(offset);
        if (state === undefined || state.committed !== undefined || !(committed >= 0)) continue;
        state.committed = committed;
        this.update(topic, partition, state);
      }
  }

  /** A batch was processed: offsets up to `lastOffset` fetched, `highWatermark` the log's end then. */
  fetched(topic: string, partition: number, highWatermark: number, lastOffset: number): void {
    const state = this.state(topic, partition);
    state.highWatermark = highWatermark;
    this.metrics.fetchLag.set(labels(topic, partition), Math.max(0, highWatermark - (lastOffset + 1)));
    this.update(topic, partition, state);
  }

  /** The broker accepted a commit of `offset` (the next offset to read) for the partition. */
  committed(topic: string, partition: number, offset: number): void {
    const state = this.state(topic, partition);
    state.committed = offset;
    this.update(topic, partition, state);
  }

  private state(topic: string, partition: number): PartitionLag {
    let state = this.partitions.get(key(topic, partition));
    if (state === undefined) {
      state = { highWatermark: undefined, committed: undefined };
      this.partitions.set(key(topic, partition), state);
    }
    return state;
  }

  private update(topic: string, partition: number, state: PartitionLag): void {
    if (state.highWatermark === undefined || state.committed === undefined) return;
    this.metrics.commitLag.set(labels(topic, partition), Math.max(0, state.highWatermark - state.committed));
  }
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const labels = (topic: string, partition: number) => ({ topic, partition: String(partition) });
