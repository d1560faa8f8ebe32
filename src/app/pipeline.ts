/**
 * `mailbox-radar run`: the Kafka pipeline of DESIGN.md, wired top-down.
 *
 *   source   kafkajs consumer group, eachBatch; a batch is done only when processed and its alerts acked
 *   decode   Confluent framing → registry (cached) → avsc resolver → parseRecord; poison → dead-letter topic
 *   core     the pure RxJS detection core behind a Subject, fed records, watermarks and checkpoints
 *   sink     Avro alerts, one topic per rule, key = alert_id, idempotent producer, acks = all
 *   offsets  committed per partition only past records that no open window still needs
 *
 * Batches go through decode and the core one at a time; their alerts and dead letters are sent without
 * holding up the next fetch. Backpressure: while more than `pipeline.maxInFlightRecords` consumed records
 * wait for the broker to acknowledge what they produced, the consumer is paused; it resumes at half.
 * Offsets are committed only below the first record whose output is unacknowledged. On every group join
 * the core is rebuilt empty: kafkajs resumes every assigned partition from its committed offset, and
 * re-reading from there rebuilds exactly the state the windows need (re-emitted alerts keep their alert_id).
 */
import { Subject, type Subscription } from 'rxjs';
import {
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Message,
  type Producer,
} from 'kafkajs';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { futureError } from '../detect/clock-skew.js';
import { detect } from '../detect/detect.js';
import { parseRecord } from '../detect/parse-record.js';
import type { CoreInput, CoreOutput, CoreStats } from '../detect/types.js';
import { ErrorCodes, RadarError } from '../errors.js';
import { AvroCodec } from '../kafka/avro-codec.js';
import { AvroTopicWriter } from '../kafka/avro-producer.js';
import { createKafka } from '../kafka/client.js';
import { deadLetter } from '../kafka/dead-letter.js';
import { OffsetTracker } from '../kafka/offset-tracker.js';
import { isGroupMoving } from '../kafka/group-errors.js';
import { RegistryClient, isRegistryOutage } from '../kafka/registry.js';
import { ensureTopics } from '../kafka/topics.js';
import { PartitionWatermarks, decodeStreamTime, encodeStreamTime } from '../kafka/watermarks.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import { RULES, type MailboxAccessAlert, type RuleName } from '../model/alert.js';
import { activityDetectionType, alertSchema, alertType } from '../model/schemas.js';
import { startHttp } from './http.js';
import { createMetrics, type Metrics } from './metrics.js';

const HEARTBEAT_EVERY = 2_000; // records between heartbeats inside a long batch
const REGISTRY_BACKOFF_MAX_MS = 30_000; // retries of an unavailable registry back off up to this
const HEARTBEAT_WAIT_MS = 2_000; // waiting for the registry, heartbeat at least this often

interface Core {
  input: Subject<CoreInput>;
  subscription: Subscription;
  alerts: MailboxAccessAlert[];
  checkpoint: { watermark: number; neededFrom: number; stats: CoreStats } | undefined;
  reported: CoreStats | undefined;
}

export class Pipeline {
  readonly metrics: Metrics;
  /** Resolves with the process exit code once the pipeline has stopped. */
  readonly done: Promise<number>;

  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly registry: RegistryClient;
  private readonly codec: AvroCodec<ExchangeMailboxActivity>;
  private readonly writers: Record<RuleName, AvroTopicWriter<MailboxAccessAlert>>;
  private readonly tracker = new OffsetTracker();
  private readonly watermarks: PartitionWatermarks;
  private core: Core;
  private checkpointId = 0;
  private turn: Promise<unknown> = Promise.resolve();
  private committed = new Map<number, number>();
  private lastCommitAt = 0;
  private awaitingFirstFetch = new Set<number>();
  /** Per partition, batches whose dead letters are not acknowledged yet, in offset order. */
  private unacked = new Map<number, { first: number; done: boolean }[]>();
  /**
   * Alerts sent and not acknowledged yet, by the earliest event time of the records they were built from:
   * no partition's commit may pass a record that recent (a sweep's records sit on several partitions).
   */
  private heldAlerts: { from: number; done: boolean }[] = [];
  /** Stream times restored from the commit metadata after a join; batches wait for it. */
  private restoring: Promise<void> | undefined;
  private generation = 0;
  /** Since when, and why, the schema registry cannot be used (consumption waits meanwhile). */
  private registryDown: { since: number; code: string; reason: string } | undefined;
  private inFlightRecords = 0;
  private readonly sends = new Set<Promise<void>>();
  private paused = false;
  private joined = false;
  private running = false;
  private failed = false;
  private stopping: Promise<void> | undefined;
  private http: Server | undefined;
  private tick: NodeJS.Timeout | undefined;
  private finish!: (code: number) => void;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.metrics = createMetrics();
    const kafka = createKafka(config.kafka, logger.child({ component: 'kafka' }));
    this.consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      sessionTimeout: config.kafka.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(config.kafka.sessionTimeoutMs / 5)),
      // Latency: return a fetch as soon as there is data, wait at most 100 ms otherwise.
      maxWaitTimeInMs: 100,
      retry: {
        retries: 10,
        // The registry being gone for good is not a reason to restart forever: stop with a clear error.
        // kafkajs wraps errors (KafkaJSNumberOfRetriesExceeded): look through the chain.
        restartOnFailure: async (error) => !isRegistryOutage(error),
      },
    });
    // The Java client's partitioner (murmur2 of the key), so alert keys land where Java consumers expect.
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.admin = kafka.admin();
    this.registry = new RegistryClient({
      url: config.registry.url,
      username: config.registry.username,
      password: config.registry.password,
      retries: config.registry.retries,
    });
    // Decoding asks the registry once per attempt: the batch waits and retries itself, heartbeating.
    this.codec = new AvroCodec(
      new RegistryClient({
        url: config.registry.url,
        username: config.registry.username,
        password: config.registry.password,
        retries: 0,
      }),
      activityDetectionType,
    );
    const topics = config.topics.alerts;
    const topicOf: Record<RuleName, string> = {
      non_owner_burst: topics.nonOwnerBurst,
      cross_domain_burst: topics.crossDomainBurst,
      mailbox_sweep: topics.mailboxSweep,
    };
    this.writers = Object.fromEntries(
      RULES.map((rule) => [
        rule,
        new AvroTopicWriter(this.producer, this.registry, topicOf[rule], alertType, alertSchema),
      ]),
    ) as Record<RuleName, AvroTopicWriter<MailboxAccessAlert>>;
    this.watermarks = new PartitionWatermarks(
      config.detection.allowedLatenessMs,
      config.pipeline.partitionIdleMs,
    );
    this.core = this.newCore();
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    this.http = await startHttp(
      config.http.host,
      config.http.port,
      this.healthSource(),
      this.metrics.registry,
    );
    logger.info({ host: config.http.host, port: config.http.port }, 'health and metrics listening');

    await this.admin.connect();
    const created = await ensureTopics(this.admin, [
      {
        topic: config.topics.activity,
        partitions: config.kafka.topicPartitions,
        replicationFactor: config.kafka.replicationFactor,
      },
      {
        topic: config.topics.deadLetter,
        partitions: config.kafka.topicPartitions,
        replicationFactor: config.kafka.replicationFactor,
      },
      ...RULES.map((rule) => ({
        topic: this.writers[rule].topic,
        partitions: config.kafka.topicPartitions,
        replicationFactor: config.kafka.replicationFactor,
      })),
    ]);
    if (created.length > 0) logger.info({ topics: created }, 'created topics');
    // Fail fast when the registry is unreachable; this also registers the alert schemas once.
    for (const rule of RULES) await this.writers[rule].schemaIdForTopic();

    await this.producer.connect();
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) =>
      this.onGroupJoin(event.payload.memberAssignment),
    );
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      if (!event.payload.restart) void this.fail(event.payload.error);
      else logger.warn({ err: event.payload.error }, 'consumer crashed; kafkajs restarts it');
    });
    await this.consumer.subscribe({ topics: [config.topics.activity], fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatchAutoResolve: true,
      eachBatch: (payload) => this.serialize(() => this.processBatch(payload)),
    });
    // Idle topics still advance: watermark, state eviction and commits move on a timer too.
    this.tick = setInterval(
      () => void this.serialize(() => this.advance()).catch((error) => this.fail(error)),
      Math.max(1_000, Math.min(config.pipeline.commitIntervalMs, config.pipeline.partitionIdleMs / 2)),
    );
    this.tick.unref();
    logger.info({ topic: config.topics.activity, groupId: config.kafka.groupId }, 'pipeline running');
  }

  /** Finish the batch in flight, commit, disconnect. Idempotent. */
  stop(reason: string, code = 0): Promise<void> {
    this.stopping ??= this.shutdown(reason, code);
    return this.stopping;
  }

  private async shutdown(reason: string, code: number): Promise<void> {
    this.logger.info({ reason }, 'stopping');
    if (this.tick) clearInterval(this.tick);
    const timeout = setTimeout(() => {
      const error = new RadarError(
        ErrorCodes.SHUTDOWN_TIMEOUT,
        `shutdown did not finish within ${this.config.pipeline.shutdownTimeoutMs} ms`,
      );
      this.logger.error({ err: error, code: error.code }, error.message);
      this.finish(1);
    }, this.config.pipeline.shutdownTimeoutMs);
    timeout.unref();
    try {
      // No new batches (processBatch returns at once while stopping); the commit queues behind the
      // batch in flight, and must happen before the consumer leaves the group.
      if (this.running) {
        this.consumer.pause([{ topic: this.config.topics.activity }]);
        await this.serialize(async () => {
          await Promise.allSettled([...this.sends]); // what was consumed gets its output out first
          if (!this.failed) await this.commit(true);
        });
        await this.consumer.stop();
      }
    } catch (error) {
      this.logger.error({ err: error }, 'final commit failed');
      code = code || 1;
    }
    await Promise.allSettled([
      this.consumer.disconnect(),
      this.producer.disconnect(),
      this.admin.disconnect(),
    ]);
    this.core.subscription.unsubscribe();
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
    clearTimeout(timeout);
    this.logger.info({ code }, 'stopped');
    this.finish(code);
  }

  private async fail(error: unknown): Promise<void> {
    if (this.failed) return;
    this.failed = true;
    this.logger.fatal({ err: error }, error instanceof Error ? error.message : 'pipeline failed');
    await this.stop('failure', 1);
  }

  /** One turn at a time: batches and timer ticks never interleave around the core. */
  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(work, work);
    this.turn = next.catch(() => undefined);
    return next;
  }

  private async processBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
    const started = performance.now();
    const { topic, partition, messages } = batch;
    this.metrics.consumed.inc(messages.length);

    if (this.restoring) await this.restoring;
    if (!(await this.prepare(messages, heartbeat, isRunning))) return;
    const now = Date.now();
    // Records are judged against the watermark as it stands (restored after a join), never a blank one.
    this.core.input.next({ kind: 'watermark', time: this.watermarks.watermark(now) });
    const streamTimeBefore = this.watermarks.streamTime(partition);
    const dead: Message[] = [];
    let maxEventTime = Number.NEGATIVE_INFINITY;
    let decoded = 0;
    let late = 0;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      let record: ExchangeMailboxActivity;
      try {
        record = parseRecord(this.codec.decode(message.value));
      } catch (error) {
        const code = error instanceof RadarError ? error.code : 'UNEXPECTED';
        this.metrics.rejected.inc({ code });
        this.logger.warn(
          { topic, partition, offset: message.offset, code, reason: (error as Error).message },
          'record dead-lettered',
        );
        dead.push(
          deadLetter(
            message,
            { topic, partition, offset: message.offset, timestamp: message.timestamp },
            error,
          ),
        );
        continue;
      }
      decoded++;
      const future = futureError(record, now, this.config.detection.maxClockSkewMs);
      if (future !== undefined) {
        // Never into the core: its event time would make every real record late.
        this.metrics.rejected.inc({ code: future.code });
        this.logger.warn(
          { topic, partition, offset: message.offset, code: future.code, reason: future.message },
          'record dead-lettered',
        );
        dead.push(
          deadLetter(
            message,
            { topic, partition, offset: message.offset, timestamp: message.timestamp },
            future,
          ),
        );
        continue;
      }
      // Late against its own partition's stream time: the same verdict whatever the restarts.
      if (!this.watermarks.admit(partition, record.creation_time)) {
        late++;
        continue;
      }
      if (record.creation_time > maxEventTime) maxEventTime = record.creation_time;
      this.core.input.next({ kind: 'record', record });
      if (i % HEARTBEAT_EVERY === HEARTBEAT_EVERY - 1) await heartbeat();
    }
    this.metrics.decoded.inc(decoded);
    this.metrics.late.inc(late);
    const next = Number(messages[messages.length - 1]!.offset) + 1;
    this.watermarks.fetched(partition, next >= Number(batch.highWatermark), now);
    this.tracker.track(
      partition,
      Number(messages[0]!.offset),
      next,
      maxEventTime,
      streamTimeBefore,
      this.watermarks.streamTime(partition),
    );
    this.checkpoint(now);

    this.publishInBackground(
      { partition, first: Number(messages[0]!.offset), records: messages.length },
      dead,
    );
    this.awaitingFirstFetch.delete(partition);
    this.metrics.lag.set(
      { topic, partition: String(partition) },
      Math.max(0, Number(batch.highWatermark) - next),
    );
    if (Date.now() - this.lastCommitAt >= this.config.pipeline.commitIntervalMs) await this.commit(false);
    this.metrics.batchSeconds.observe((performance.now() - started) / 1_000);
  }

  /** Timer turn: move the watermark on wall-clock idleness, publish what that releases, commit. */
  private async advance(): Promise<void> {
    if (this.stopping || !this.joined || this.restoring || this.registryDown) return;
    this.checkpoint(Date.now());
    this.publishInBackground(undefined, []);
    await this.commit(false);
  }

  /**
   * The writer schemas of a batch, waiting out a registry that does not answer or refuses us: consumption
   * stays on this batch (nothing is skipped, nothing dead-lettered), retries back off up to 30 s with
   * heartbeats in between, /readyz says why. Past `registry.maxOutage` the pipeline fails (exit 1) so an
   * orchestrator restarts it. False when the batch is to be abandoned (stopping, or the group moved on).
   */
  private async prepare(
    messages: { value: Buffer | null }[],
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
  ): Promise<boolean> {
    let delay = 500;
    for (;;) {
      try {
        await this.codec.prepare(messages.map((m) => m.value));
        if (this.registryDown) {
          this.logger.info(
            { downForMs: Date.now() - this.registryDown.since },
            'schema registry available again; consuming',
          );
          this.registryDown = undefined;
        }
        return true;
      } catch (error) {
        if (!isRegistryOutage(error)) throw error;
        const now = Date.now();
        this.metrics.registryFailures.inc({ code: error.code });
        if (this.registryDown === undefined) {
          this.registryDown = { since: now, code: error.code, reason: error.message };
          this.logger.warn(
            { code: error.code, reason: error.message, maxOutageMs: this.config.registry.maxOutageMs },
            'schema registry unavailable: consumption waits',
          );
        } else {
          this.registryDown.code = error.code;
          this.registryDown.reason = error.message;
        }
        const left = this.registryDown.since + this.config.registry.maxOutageMs - now;
        if (left <= 0) {
          void this.fail(
            new RadarError(
              error.code,
              `schema registry unusable for more than registry.maxOutage (${this.config.registry.maxOutageMs} ms): ${error.message}`,
              { cause: error },
            ),
          );
          return false;
        }
        const until = now + Math.min(delay, left);
        delay = Math.min(delay * 2, REGISTRY_BACKOFF_MAX_MS);
        while (Date.now() < until) {
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(HEARTBEAT_WAIT_MS, until - Date.now())),
          );
          if (this.stopping || !isRunning()) return false;
          await heartbeat(); // a rebalance throws here: kafkajs rejoins, the batch comes again
        }
      }
    }
  }

  /**
   * Sends this batch's alerts and dead letters without awaiting them here; the offsets of the batch are
   * held back from commits until the broker has acknowledged them. Too much unacknowledged → pause.
   */
  private publishInBackground(
    batch: { partition: number; first: number; records: number } | undefined,
    dead: Message[],
  ): void {
    const alerts = this.core.alerts.splice(0);
    if (alerts.length === 0 && dead.length === 0) return; // nothing to wait for
    // An alert holds every partition's commit at the earliest record it was built from.
    let from = Number.POSITIVE_INFINITY;
    for (const alert of alerts) if (alert.first_seen < from) from = alert.first_seen;
    const held = alerts.length > 0 ? { from, done: false } : undefined;
    if (held) this.heldAlerts.push(held);
    // Dead letters hold their own batch's partition at its first offset.
    const entry = batch && dead.length > 0 ? { first: batch.first, done: false } : undefined;
    if (batch && entry) {
      const queue = this.unacked.get(batch.partition) ?? [];
      queue.push(entry);
      this.unacked.set(batch.partition, queue);
    }
    const records = batch?.records ?? 0;
    this.inFlightRecords += records;
    const send: Promise<void> = this.publish(alerts, dead).then(
      () => {
        if (held) held.done = true;
        if (entry) entry.done = true;
        this.inFlightRecords -= records;
        this.sends.delete(send);
        if (this.paused && this.inFlightRecords <= this.config.pipeline.maxInFlightRecords / 2) {
          this.paused = false;
          this.consumer.resume([{ topic: this.config.topics.activity }]);
          this.watermarks.resume(Date.now());
          this.logger.info({ inFlightRecords: this.inFlightRecords }, 'resumed');
        }
      },
      (error: unknown) => void this.fail(error), // nothing from this batch on is ever committed
    );
    this.sends.add(send);
    if (!this.paused && this.inFlightRecords > this.config.pipeline.maxInFlightRecords) {
      this.paused = true;
      this.consumer.pause([{ topic: this.config.topics.activity }]);
      this.watermarks.pause(); // paused partitions are behind, never idle
      this.logger.warn(
        { inFlightRecords: this.inFlightRecords },
        'paused: waiting for the broker to acknowledge',
      );
    }
  }

  /** The first offset of a partition whose output is not acknowledged yet, if any. */
  private firstUnacked(partition: number): number | undefined {
    const queue = this.unacked.get(partition);
    if (queue === undefined) return undefined;
    while (queue.length > 0 && queue[0]!.done) queue.shift();
    return queue[0]?.first;
  }

  /** Feed the watermark and a checkpoint marker; the core answers synchronously. */
  private checkpoint(now: number): void {
    this.core.input.next({ kind: 'watermark', time: this.watermarks.watermark(now) });
    this.core.input.next({ kind: 'checkpoint', id: ++this.checkpointId });
  }

  /** Alerts and dead letters, sent and acknowledged (acks = all). */
  private async publish(alerts: MailboxAccessAlert[], dead: Message[]): Promise<void> {
    const sends: Promise<unknown>[] = [];
    for (const rule of RULES) {
      const mine = alerts.filter((a) => a.rule === rule);
      if (mine.length > 0)
        sends.push(this.writers[rule].send(mine.map((a) => ({ key: a.alert_id, value: a }))));
    }
    if (dead.length > 0)
      sends.push(this.producer.send({ topic: this.config.topics.deadLetter, acks: -1, messages: dead }));
    await Promise.all(sends);
    for (const alert of alerts) {
      this.metrics.alerts.inc({ rule: alert.rule });
      this.logger.info(
        {
          alert_id: alert.alert_id,
          rule: alert.rule,
          mailbox: alert.mailbox_owner_upn,
          actor: alert.actor_user_id,
          count: alert.event_count,
        },
        'alert published',
      );
    }
    this.metrics.deadLettered.inc(dead.length);
  }

  /**
   * Commit, per partition, up to the first record that an open window may still need, that an
   * unacknowledged alert was built from, or whose dead letter is unacknowledged; with the partition's stream
   * time at that offset in the commit metadata, restored on the next assignment.
   */
  private async commit(force: boolean): Promise<void> {
    const checkpoint = this.core.checkpoint;
    if (checkpoint === undefined) return;
    while (this.heldAlerts.length > 0 && this.heldAlerts[0]!.done) this.heldAlerts.shift();
    let neededFrom = checkpoint.neededFrom;
    for (const held of this.heldAlerts) if (!held.done && held.from < neededFrom) neededFrom = held.from;
    const holds = new Map<number, number>();
    for (const partition of this.unacked.keys()) {
      const first = this.firstUnacked(partition);
      if (first !== undefined) holds.set(partition, first);
    }
    const points = this.tracker.commitPoints(neededFrom, holds);
    const changed = [...points].filter(
      ([partition, point]) => (this.committed.get(partition) ?? -1) < point.offset,
    );
    if (changed.length === 0 && !force) return;
    if (changed.length > 0) {
      const topic = this.config.topics.activity;
      const generation = this.generation;
      try {
        await this.consumer.commitOffsets(
          changed.map(([partition, point]) => ({
            topic,
            partition,
            offset: String(point.offset),
            metadata: encodeStreamTime(point.streamTime),
          })),
        );
      } catch (error) {
        // The group is moving (a member joined or left, or we were dropped): this commit is void, and the
        // join that follows rebuilds state from the last commit that went through.
        if (!isGroupMoving(error)) throw error;
        this.logger.info({ reason: (error as Error).message }, 'commit skipped: the group is rebalancing');
        return;
      }
      if (generation !== this.generation) return;
      for (const [partition, { offset }] of changed) {
        this.committed.set(partition, offset);
        this.metrics.committed.set({ topic, partition: String(partition) }, offset);
      }
      this.logger.debug({ offsets: Object.fromEntries(changed) }, 'committed');
    }
    this.lastCommitAt = Date.now();
  }

  private newCore(): Core {
    const core: Core = {
      input: new Subject<CoreInput>(),
      subscription: undefined as unknown as Subscription,
      alerts: [],
      checkpoint: undefined,
      reported: undefined,
    };
    core.subscription = core.input.pipe(detect(this.config.detection, { watermarks: 'external' })).subscribe({
      next: (output: CoreOutput) => {
        if (output.kind === 'alert') core.alerts.push(output.alert);
        else {
          core.checkpoint = {
            watermark: output.watermark,
            neededFrom: output.neededFrom,
            stats: output.stats,
          };
          this.report(core, output.stats, output.watermark);
        }
      },
      error: (error: unknown) => void this.fail(error),
    });
    return core;
  }

  /** Core statistics are cumulative per core; metrics get the increments. */
  private report(core: Core, stats: CoreStats, watermark: number): void {
    const before = core.reported;
    const delta = (
      key: 'duplicates' | 'late' | 'system' | 'owner' | 'allowListed' | 'nonOwner' | 'crossDomain',
    ) => stats[key] - (before?.[key] ?? 0);
    this.metrics.duplicates.inc(delta('duplicates'));
    this.metrics.late.inc(delta('late'));
    this.metrics.classified.inc({ class: 'system' }, delta('system'));
    this.metrics.classified.inc({ class: 'owner' }, delta('owner'));
    this.metrics.classified.inc({ class: 'allow_listed' }, delta('allowListed'));
    this.metrics.classified.inc({ class: 'non_owner' }, delta('nonOwner'));
    this.metrics.classified.inc({ class: 'cross_domain' }, delta('crossDomain'));
    this.metrics.openKeys.set(stats.openKeys);
    this.metrics.retained.set(stats.retainedRecords);
    if (Number.isFinite(watermark)) this.metrics.watermark.set(watermark / 1_000);
    core.reported = { ...stats, alerts: { ...stats.alerts } };
  }

  /** A (re)join: every assigned partition resumes from its committed offset, so state restarts empty. */
  private onGroupJoin(assignment: Record<string, number[]>): void {
    const partitions = assignment[this.config.topics.activity] ?? [];
    this.metrics.rebalances.inc();
    this.core.subscription.unsubscribe();
    this.core = this.newCore();
    this.tracker.clear();
    this.watermarks.clear();
    this.committed = new Map();
    this.unacked = new Map(); // a pending send that fails still fails the pipeline
    this.heldAlerts = [];
    const generation = ++this.generation;
    this.joined = true;
    this.awaitingFirstFetch = new Set(partitions);
    this.logger.info({ partitions }, 'joined the group; state rebuilds from committed offsets');
    const restoring = this.restore(partitions, generation).then(
      () => undefined,
      (error: unknown) => {
        // Without the metadata, partitions start from an unknown stream time, as on a first run.
        this.logger.warn({ err: error }, 'could not read committed offsets; stream times start unknown');
        const now = Date.now();
        if (generation === this.generation) for (const p of partitions) this.watermarks.assign(p, now);
      },
    );
    this.restoring = restoring;
    void restoring.finally(() => {
      if (this.restoring === restoring) this.restoring = undefined;
    });
  }

  /**
   * After a join: each partition's stream time as it was at its committed offset (the commit metadata),
   * so lateness is decided exactly as before the restart; partitions with nothing to read are caught up.
   */
  private async restore(partitions: number[], generation: number): Promise<void> {
    const topic = this.config.topics.activity;
    const [ends, committed] = await Promise.all([
      this.admin.fetchTopicOffsets(topic),
      this.admin.fetchOffsets({ groupId: this.config.kafka.groupId, topics: [topic] }),
    ]);
    if (generation !== this.generation) return;
    const committedOf = new Map(committed[0]?.partitions.map((p) => [p.partition, p]) ?? []);
    const now = Date.now();
    for (const partition of partitions) {
      const commit = committedOf.get(partition);
      this.watermarks.assign(partition, now, decodeStreamTime(commit?.metadata));
      const end = ends.find((e) => e.partition === partition);
      const low = Number(end?.low ?? 0);
      const high = Number(end?.high ?? 0);
      const from = Number(commit?.offset ?? -1);
      if (high === low || (from >= 0 && from >= high)) {
        this.awaitingFirstFetch.delete(partition);
        this.watermarks.caughtUp(partition);
      }
    }
    this.logger.info(
      {
        streamTimes: Object.fromEntries(
          partitions.map((p) => [
            p,
            Number.isFinite(this.watermarks.streamTime(p))
              ? new Date(this.watermarks.streamTime(p)).toISOString()
              : null,
          ]),
        ),
      },
      'stream times restored from the committed offsets',
    );
  }

  private healthSource() {
    return {
      live: () => !this.failed,
      ready: () =>
        this.joined &&
        this.awaitingFirstFetch.size === 0 &&
        this.registryDown === undefined &&
        !this.failed &&
        !this.stopping,
      describe: () => ({
        joined: this.joined,
        registry:
          this.registryDown === undefined
            ? 'available'
            : {
                status: 'unavailable: consumption waits',
                code: this.registryDown.code,
                since: new Date(this.registryDown.since).toISOString(),
                reason: this.registryDown.reason,
              },
        awaitingFirstFetch: [...this.awaitingFirstFetch],
        watermark: this.core.checkpoint?.watermark ?? null,
        openKeys: this.core.checkpoint?.stats.openKeys ?? 0,
      }),
    };
  }
}
