import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ErrorCodes } from '../errors.js';
import { DEAD_LETTER_CODES } from '../kafka/dead-letter.js';
import { RULES } from '../model/alert.js';

/** The access classes counted in mailbox_radar_records_classified_total. */
export const CLASSES = ['system', 'owner', 'allow_listed', 'non_owner', 'cross_domain', 'app'] as const;

/** Registry failures that make consumption wait (the others are bugs or dead letters). */
const REGISTRY_FAILURE_CODES = [ErrorCodes.REGISTRY_UNAVAILABLE, ErrorCodes.REGISTRY_UNAUTHORIZED];

/**
 * The pipeline's Prometheus metrics: the one place instruments are defined. Names follow Prometheus
 * conventions (`_total` counters, base units). Served on /metrics by src/app/http.ts.
 *
 * Counters with labels start at 0 for every label they can take (each rule, dead-letter code, class), so
 * `rate()` and `increase()` see the first event instead of a series that appears out of nowhere.
 */
export function createMetrics() {
  const registry = new Registry();
  // prom-client's process_* and nodejs_* under their standard names (every Prometheus client library
  // exports process_cpu_seconds_total and the like unprefixed; stock dashboards look for those).
  collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    consumed: new Counter({
      name: 'mailbox_radar_records_consumed_total',
      help: 'Activity messages read from Kafka',
      registers: [registry],
    }),
    decoded: new Counter({
      name: 'mailbox_radar_records_decoded_total',
      help: 'Activity records decoded and valid (those classified on their bytes included)',
      registers: [registry],
    }),
    classifiedOnBytes: new Counter({
      name: 'mailbox_radar_records_classified_on_bytes_total',
      help: 'Activity records classified owner or system on their Avro bytes, never decoded (pipeline.classifyRawBytes)',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'mailbox_radar_records_rejected_total',
      help: 'Activity messages that could not be decoded or validated, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'mailbox_radar_records_dead_lettered_total',
      help: 'Messages written to the dead-letter topic',
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'mailbox_radar_duplicates_total',
      help: 'Records counted once already (same record id)',
      registers: [registry],
    }),
    late: new Counter({
      name: 'mailbox_radar_late_records_total',
      help: 'Records older than the watermark, dropped',
      registers: [registry],
    }),
    classified: new Counter({
      name: 'mailbox_radar_records_classified_total',
      help: 'Records by access class',
      labelNames: ['class'],
      registers: [registry],
    }),
    alerts: new Counter({
      name: 'mailbox_radar_alerts_total',
      help: 'Alerts published (opened: revision 0), by rule; their updates and closes are in alert_messages_total',
      labelNames: ['rule'],
      registers: [registry],
    }),
    openKeys: new Gauge({
      name: 'mailbox_radar_open_keys',
      help: 'Keys with open window state',
      registers: [registry],
    }),
    retained: new Gauge({
      name: 'mailbox_radar_retained_records',
      help: 'Records held in window state',
      registers: [registry],
    }),
    heapLiveRatio: new Gauge({
      name: 'mailbox_radar_heap_live_ratio',
      help: 'V8 heap in use right after the last full collection (live objects) divided by the heap limit; the windows\' state is most of it (README "Memory")',
      registers: [registry],
    }),
    watermark: new Gauge({
      name: 'mailbox_radar_watermark_seconds',
      help: 'Event-time watermark (unix seconds)',
      registers: [registry],
    }),
    streamTime: new Gauge({
      name: 'mailbox_radar_partition_stream_time_seconds',
      help:
        'Stream time of each assigned input partition: the largest event time read from it (unix seconds). ' +
        "Now minus this is how far the partition's events are behind the clock (the dashboard's watermark delay)",
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    // Two lags, named apart: "consumer lag" alone means commit lag to kafka-consumer-groups and Burrow.
    fetchLag: new Gauge({
      name: 'mailbox_radar_consumer_fetch_lag',
      help:
        'Fetch lag: records on the partition not yet fetched by this instance (high watermark − next offset ' +
        'to fetch), per partition; 0 once caught up. See mailbox_radar_consumer_commit_lag for what a restart re-reads',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    commitLag: new Gauge({
      name: 'mailbox_radar_consumer_commit_lag',
      help:
        "Commit lag: records between the partition's high watermark and the group's committed offset, per " +
        'partition (the LAG of kafka-consumer-groups); what a restart reads again. On the activity topic 0 ' +
        'once caught up and acknowledged (open windows come back from their changelog); on the repartition ' +
        'topic about detection.allowedLateness + the longest window of non-owner accesses, by design',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    committed: new Gauge({
      name: 'mailbox_radar_committed_offset',
      help: 'Last committed offset per partition',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'mailbox_radar_batch_duration_seconds',
      help: 'Time to process one fetched batch, alerts acknowledged included',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    rebalances: new Counter({
      name: 'mailbox_radar_rebalances_total',
      help: 'Group joins (state rebuilt from committed offsets)',
      registers: [registry],
    }),
    repartitionConsumed: new Counter({
      name: 'mailbox_radar_repartition_records_consumed_total',
      help: 'Messages read from the internal repartition topic (packs of accesses, progress markers)',
      registers: [registry],
    }),
    repartitionShared: new Counter({
      name: 'mailbox_radar_repartition_accesses_shared_total',
      help: 'Accesses the actor side read back from packs this process wrote and took as the mailbox side held them, without decoding them again',
      registers: [registry],
    }),
    repartitionProduced: new Counter({
      name: 'mailbox_radar_repartition_records_produced_total',
      help: 'Accesses written to the internal repartition topic (progress markers not counted)',
      registers: [registry],
    }),
    repartitionPurges: new Counter({
      name: 'mailbox_radar_repartition_purges_total',
      help: 'Deletions of committed records from the repartition topic',
      registers: [registry],
    }),
    alertRevisions: new Counter({
      name: 'mailbox_radar_alert_messages_total',
      help: 'Alert messages published, by rule and status (open, update, closed); alerts_total counts the opens',
      labelNames: ['rule', 'status'],
      registers: [registry],
    }),
    backpressurePauses: new Counter({
      name: 'mailbox_radar_backpressure_pauses_total',
      help: 'Times consumption paused because pipeline.maxInFlightRecords records awaited the broker',
      registers: [registry],
    }),
    backpressureSeconds: new Counter({
      name: 'mailbox_radar_backpressure_paused_seconds_total',
      help: 'Seconds consumption stood paused, waiting for the broker to acknowledge what it had sent',
      registers: [registry],
    }),
    restoredRecords: new Counter({
      name: 'mailbox_radar_restored_records_total',
      help: 'Records restored from the windows changelog at a restore (instead of re-reading the activity topic): replayed at once, or left waiting for their mailbox',
      registers: [registry],
    }),
    restoreWaiting: new Gauge({
      name: 'mailbox_radar_restore_waiting_records',
      help: 'Restored records of mailboxes not replayed yet: a mailbox is replayed when a record of it arrives or the watermark reaches its earliest record',
      registers: [registry],
    }),
    restoreWaitingAccesses: new Gauge({
      name: 'mailbox_radar_restore_waiting_accesses',
      help: 'Accesses a restart read again from the repartition topic, released before it, of actors not replayed yet: an actor is replayed when a live access of it is released or the watermark reaches its earliest access',
      registers: [registry],
    }),
    restoreSeconds: new Gauge({
      name: 'mailbox_radar_restore_seconds',
      help: 'How long the last restore after a group join took (commit metadata, changelogs, alert read-back)',
      registers: [registry],
    }),
    republishSkipped: new Counter({
      name: 'mailbox_radar_alerts_republish_skipped_total',
      help: 'Alerts found on their topic already (read back at the last join), not published again',
      labelNames: ['rule'],
      registers: [registry],
    }),
    assigned: new Gauge({
      name: 'mailbox_radar_assigned_partitions',
      help: 'Partitions this instance owns, per sub-topology (mailbox: activity topic; actor: repartition topic)',
      labelNames: ['sub_topology', 'topic'] as const,
      registers: [registry],
    }),
    heldForOrder: new Gauge({
      name: 'mailbox_radar_repartition_held_records',
      help: 'Accesses the sweep side holds back until every mailbox partition has passed them (event-time order)',
      registers: [registry],
    }),
    registryFailures: new Counter({
      name: 'mailbox_radar_registry_failures_total',
      help: 'Attempts to read writer schemas that found the registry unavailable or refusing us (consumption waits)',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
  };
  for (const rule of RULES) {
    m.alerts.labels({ rule }).inc(0);
    for (const status of ['open', 'update', 'closed']) m.alertRevisions.labels({ rule, status }).inc(0);
  }
  for (const code of DEAD_LETTER_CODES) m.rejected.labels({ code }).inc(0);
  for (const name of CLASSES) m.classified.labels({ class: name }).inc(0);
  for (const code of REGISTRY_FAILURE_CODES) m.registryFailures.labels({ code }).inc(0);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
