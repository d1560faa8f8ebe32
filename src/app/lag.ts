/** Fetch lag and commit lag per partition (to be written: issue 15.5). */
import type { Consumer } from 'kafkajs';
import type { Metrics } from './metrics.js';

/** The group's committed offsets, as admin.fetchOffsets gives them (offset -1: none). */
export type CommittedOffsets = { topic: string; partitions: { partition: number; offset: string }[] }[];

export type LagEvents = Pick<Consumer, 'on' | 'events'>;

export class LagMetrics {
  constructor(
    readonly metrics: Metrics,
    readonly readCommitted: (topics: string[]) => Promise<CommittedOffsets>,
  ) {}

  attach(_consumer: LagEvents): this {
    return this;
  }

  assigned(_assignment: Record<string, number[]>): Promise<void> {
    return Promise.resolve();
  }

  fetched(_topic: string, _partition: number, _highWatermark: number, _lastOffset: number): void {}

  committed(_topic: string, _partition: number, _offset: number): void {}
}
