/**
 * The dashboard's charts of the pipeline, from its instances' /metrics read at intervals: records per
 * second by class (and late, dead-lettered), fetch lag and commit lag per partition, and each partition's
 * event-time delay (now − its stream time). Counters become rates between two reads of the same instance
 * (a counter that went down is a restart: it counts from 0); per-partition gauges are combined over the
 * instances with max (after a rebalance two may briefly both report a partition).
 */
import { CLASSES } from '../app/metrics.js';
import type { Sample } from './prom-text.js';

/** The series of the records chart: the access classes, then records dropped as late and dead letters. */
export const RECORD_SERIES = [...CLASSES, 'late', 'dead_lettered'] as const;
export type RecordSeries = (typeof RECORD_SERIES)[number];

/** One read of one instance: its samples, or why there are none. */
export interface InstanceRead {
  url: string;
  samples?: Sample[] | undefined;
  error?: string | undefined;
}

export interface HealthPoint {
  /** Wall-clock time of the read, epoch ms. */
  at: number;
  instances: { url: string; up: boolean; error?: string | undefined }[];
  /** Per second since the previous read; null where no instance was read twice yet. */
  records: Record<RecordSeries, number | null>;
  /** `topic[partition]` → records. */
  fetchLag: Record<string, number>;
  commitLag: Record<string, number>;
  /** `topic[partition]` → seconds between the read and the partition's stream time. */
  eventDelay: Record<string, number>;
}

type CounterOf = { name: string; labels?: Record<string, string> };

const COUNTERS: Record<RecordSeries, CounterOf> = {
  ...(Object.fromEntries(
    CLASSES.map((c): [string, CounterOf] => [
      c,
      { name: 'mailbox_radar_records_classified_total', labels: { class: c } },
    ]),
  ) as Record<(typeof CLASSES)[number], CounterOf>),
  late: { name: 'mailbox_radar_late_records_total' },
  dead_lettered: { name: 'mailbox_radar_records_dead_lettered_total' },
};

/** Points from successive reads; keeps the last `limit`. */
export class PipelineHealth {
  private readonly previous = new Map<string, { at: number; counters: Record<RecordSeries, number> }>();
  private readonly kept: HealthPoint[] = [];

  constructor(private readonly limit: number) {}

  /** The point for one round of reads made at `at`. */
  add(at: number, reads: readonly InstanceRead[]): HealthPoint {
    const records = Object.fromEntries(RECORD_SERIES.map((s) => [s, null])) as Record<
      RecordSeries,
      number | null
    >;
    const fetchLag: Record<string, number> = {};
    const commitLag: Record<string, number> = {};
    const eventDelay: Record<string, number> = {};
    for (const read of reads) {
      if (read.samples === undefined) {
        this.previous.delete(read.url);
        continue;
      }
      const counters = counterValues(read.samples);
      const before = this.previous.get(read.url);
      this.previous.set(read.url, { at, counters });
      if (before !== undefined && at > before.at) {
        const seconds = (at - before.at) / 1_000;
        for (const series of RECORD_SERIES) {
          const now = counters[series];
          const then = before.counters[series];
          const delta = now >= then ? now - then : now; // went down: the instance restarted
          records[series] = (records[series] ?? 0) + delta / seconds;
        }
      }
      for (const sample of read.samples) {
        const partition = partitionKey(sample);
        if (partition === undefined) continue;
        if (sample.name === 'mailbox_radar_consumer_fetch_lag') max(fetchLag, partition, sample.value);
        else if (sample.name === 'mailbox_radar_consumer_commit_lag') max(commitLag, partition, sample.value);
        else if (sample.name === 'mailbox_radar_partition_stream_time_seconds' && sample.value > 0)
          max(eventDelay, partition, Math.max(0, at / 1_000 - sample.value));
      }
    }
    const point: HealthPoint = {
      at,
      instances: reads.map((r) => ({ url: r.url, up: r.samples !== undefined, error: r.error })),
      records,
      fetchLag,
      commitLag,
      eventDelay,
    };
    this.kept.push(point);
    if (this.kept.length > this.limit) this.kept.splice(0, this.kept.length - this.limit);
    return point;
  }

  points(): HealthPoint[] {
    return [...this.kept];
  }
}

function counterValues(samples: readonly Sample[]): Record<RecordSeries, number> {
  const values = Object.fromEntries(RECORD_SERIES.map((s) => [s, 0])) as Record<RecordSeries, number>;
  for (const series of RECORD_SERIES) {
    const { name, labels = {} } = COUNTERS[series];
    for (const sample of samples)
      if (sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v))
        values[series] += sample.value;
  }
  return values;
}

function partitionKey(sample: Sample): string | undefined {
  const { topic, partition } = sample.labels;
  return topic === undefined || partition === undefined ? undefined : `${topic}[${partition}]`;
}

function max(into: Record<string, number>, key: string, value: number): void {
  if (!Number.isFinite(value)) return;
  into[key] = Math.max(into[key] ?? Number.NEGATIVE_INFINITY, value);
}
