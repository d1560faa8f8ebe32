/**
 * `mailbox-radar run`: the Kafka pipeline of DESIGN.md, wired top-down, in two sub-topologies (Kafka
 * Streams' split; see sub-topology.ts):
 *
 *   mailbox  activity topic → decode → classify → non_owner_burst, cross_domain_burst; every non-owner
 *            access also to `<groupId>-mailbox-sweep-repartition`, keyed by actor, with progress markers
 *   actor    repartition topic → event-time order → mailbox_sweep
 *   sink     Avro alerts, one topic per rule, key = alert_id, idempotent producer, acks = all
 *   offsets  committed per partition only past records that no open window, no unacknowledged alert and
 *            no unacknowledged output (dead letters, repartition records) still needs
 *
 * One consumer subscribes to both source topics; the group spreads their partitions over the instances.
 * Batches go through decode and the cores one at a time; their output is sent without holding up the next
 * fetch. Backpressure: while more than `pipeline.maxInFlightRecords` consumed records wait for the broker to
 * acknowledge what they produced, the consumer is paused; it resumes at half. On every group join both
 * cores are rebuilt empty: kafkajs resumes every assigned partition from its committed offset, and
 * re-reading from there rebuilds exactly the state the windows need (re-emitted alerts keep their alert_id).
 */
import {
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Message,
  type Producer,
} from 'kafkajs';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { alertTopicOf } from '../config/alert-topics.js';
import type { Config } from '../config/types.js';
import { futureError } from '../detect/clock-skew.js';
import { orderBatchAt, type OrderItem, type OrderState } from '../detect/event-order.js';
import { parseDecoded } from '../detect/parse-record.js';
import type { ClassifiedInput, CoreStats } from '../detect/types.js';
import { ErrorCodes, RadarError } from '../errors.js';
import { AvroCodec } from '../kafka/avro-codec.js';
import { AvroTopicWriter } from '../kafka/avro-producer.js';
import { awaitKafka, createKafka } from '../kafka/client.js';
import { deadLetter } from '../kafka/dead-letter.js';
import { CoalescingSender } from '../kafka/coalescing-sender.js';
import { applyChange, changeMessage, changelogTopic } from '../kafka/changelog.js';
import { offsetsAtTime, readRanges, type PartitionRange } from '../kafka/partition-reader.js';
import {
  LogReplay,
  packEntries,
  type LogWrite,
  replayOrder,
  restartMessage,
  windowsChangelogTopic,
  type LogEntry,
} from '../kafka/record-log.js';
import { isGroupMoving } from '../kafka/group-errors.js';
import { FALLBACK, OWNER, RawClassifier } from '../kafka/raw-classify.js';
import { RegistryClient, isRegistryOutage } from '../kafka/registry.js';
import { resolveRegistryUrl } from '../kafka/registry-url.js';
import {
  markerMessage,
  markerOf,
  openRepartition,
  packRepartition,
  repartitionTopic,
  type OpenedAccess,
} from '../kafka/repartition.js';
import { SentPacks } from '../kafka/sent-packs.js';
import { ensureTopics } from '../kafka/topics.js';
import { decodeCommitMetadata, encodeCommitMetadata, type CommitMetadata } from '../kafka/watermarks.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import { RULES, type MailboxAccessAlert, type RuleName } from '../model/alert.js';
import {
  activityDetectionSchema,
  activityDetectionType,
  alertSchemaFor,
  alertType,
} from '../model/schemas.js';
import { abortable } from './abortable.js';
import { listeningAt, startHttp } from './http.js';
import { LagMetrics } from './lag.js';
import { HeapWatch } from './heap-watch.js';
import { inSlices } from './in-slices.js';
import { LateLog } from './late-log.js';
import type { WaitingEntry } from './lazy-restore.js';
import { MemberSlot, removeMember } from './member-slot.js';
import { createMetrics, type Metrics } from './metrics.js';
import { SubTopology, needsActorSide, type OrderedAccess, type Position, type Role } from './sub-topology.js';

const HEARTBEAT_EVERY = 2_000; // records between heartbeats inside a long batch
const REGISTRY_BACKOFF_MAX_MS = 30_000; // retries of an unavailable registry back off up to this
const HEARTBEAT_WAIT_MS = 2_000; // waiting for the registry, heartbeat at least this often
/** The timer's period: markers, watermarks on idleness, commits. */
function tickMs(pipeline: { commitIntervalMs: number; partitionIdleMs: number }): number {
  return Math.max(1_000, Math.min(pipeline.commitIntervalMs, pipeline.partitionIdleMs / 2));
}

/** An access on its way to the repartition topic, with the record it was encoded from (sent-packs.ts). */
type Onward = Message & { record?: ExchangeMailboxActivity };

const RESTORE_SLICE = 5_000; // a restore's entries between two turns of the event loop (~50–150 ms)
const REPLAY_RUN = 64; // entries decoded before they go to the core together
// Committed repartition records are deleted every 30 s (Kafka Streams' default), or 10 commit intervals.
const REPARTITION_PURGE_MS = 30_000;
/** A backpressure pause this long is logged as a warning (shorter ones are how a drain paces itself). */
const LONG_PAUSE_MS = 10_000;
const REPARTITION_RETENTION_MS = 7 * 24 * 3_600_000;
// Start-up asks whether a broker answers this many times, kafka.connectionTimeoutMs apart, then gives up.
const STARTUP_KAFKA_ATTEMPTS = 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One mailbox batch's entries for the windows' changelog, with their source offsets. */
interface WindowsLogBatch {
  partition: number;
  offsets: number[];
  entries: LogWrite[];
}

/**
 * An alert message is (alert_id, revision): the key is the id (a compacted topic keeps each alert's latest
 * state), the revision rides in a header, so reading the topics back needs no decoding.
 */
const REVISION_HEADER = 'radar.revision';

function revisionHeaders(alert: MailboxAccessAlert): Record<string, string> {
  return { [REVISION_HEADER]: String(alert.revision ?? 0), 'radar.status': alert.status ?? 'open' };
}

function revisionOf(message: KafkaMessage): number {
  const header = message.headers?.[REVISION_HEADER];
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined ? 0 : Number(value.toString());
}

function revisionKey(alertId: string, revision: number | undefined): string {
  return `${alertId}#${revision ?? 0}`;
}

/** Whether a publish carries output of its own (beyond progress markers). */
function ownOutputOf(
  dead: Message[],
  onward: Message[],
  changes: { topic: string; messages: Message[] }[],
  log: WindowsLogBatch | undefined,
): boolean {
  return dead.length > 0 || changes.length > 0 || log !== undefined || onward.some((m) => m.key !== null);
}

type StatKey =
  'duplicates' | 'late' | 'system' | 'owner' | 'allowListed' | 'nonOwner' | 'crossDomain' | 'app';

export class Pipeline {
  readonly metrics: Metrics;
  /** Records dropped as late, told in the log (rate-limited) as well as counted. */
  private readonly lateLog: LateLog;
  /** Warns before the windows' state outgrows the heap (heap-watch.ts). */
  private readonly heapWatch: HeapWatch;
  /** Resolves with the process exit code once the pipeline has stopped. */
  readonly done: Promise<number>;

  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly kafka: Kafka;
  /** Per sub-topology, how many partitions its source topic (and so each of its changelogs) has. */
  private readonly sourcePartitions = new Map<Role, number>();
  private registry!: RegistryClient;
  private codec!: AvroCodec<ExchangeMailboxActivity>;
  /** Owner and system records classified on their bytes (pipeline.classifyRawBytes); else undefined. */
  private raw: RawClassifier | undefined;
  /** The one input object fed for every record classified on its bytes (the core keeps none). */
  private readonly classified: ClassifiedInput = { kind: 'classified', time: 0, class: 'owner' };
  private writers!: Record<RuleName, AvroTopicWriter<MailboxAccessAlert>>;
  private mailbox!: SubTopology;
  /** The sweep's sub-topology and its repartition topic; absent when the sweep is disabled. */
  private actor: SubTopology | undefined;
  private repartition:
    | {
        topic: string;
        writer: AvroTopicWriter<ExchangeMailboxActivity>;
        schemaId: number;
        partitions: number;
      }
    | undefined;
  private readonly reported = new Map<Role, CoreStats>();
  /** The mailbox side's windows' changelog (record-log.ts). */
  private windowsLog!: string;
  /** Alert ids found on the alert topics at the last join: published already, never again. */
  private published = new Set<string>();
  /** While replaying the windows' changelog, core statistics are a baseline, not new traffic. */
  private baseline = false;
  private checkpointId = 0;
  private turn: Promise<unknown> = Promise.resolve();
  private lastCommitAt = 0;
  private lastPurgeAt = 0;
  /** Stream times restored from the commit metadata after a join; batches wait for it. */
  private restoring: Promise<void> | undefined;
  private generation = 0;
  /** Since when, and why, the schema registry cannot be used (consumption waits meanwhile). */
  private registryDown: { since: number; code: string; reason: string } | undefined;
  private inFlightRecords = 0;
  /** The batches' own output (changelog entries, dead letters, repartition records), coalesced. */
  private readonly ownOutput: CoalescingSender;
  private readonly sends = new Set<Promise<void>>();
  /** Repartition packs written to partitions this instance's actor side reads, with their records. */
  private readonly sentPacks = new SentPacks();
  private paused = false;
  /** When consumption paused for backpressure (Date.now()). */
  private pausedAt = 0;
  private joined = false;
  private running = false;
  private failed = false;
  private stopping: Promise<void> | undefined;
  /** Aborted by stop(): start-up stops waiting (for Kafka, the registry) when asked to stop. */
  private readonly stopRequest = new AbortController();
  private http: Server | undefined;
  /** This instance's slot in `pipeline.stateDir` (its member id, for the next start after a kill -9). */
  private slot: MemberSlot | undefined;
  private tick: NodeJS.Timeout | undefined;
  private finish!: (code: number) => void;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.metrics = createMetrics();
    this.lateLog = new LateLog(logger, config.detection.allowedLatenessMs);
    this.heapWatch = new HeapWatch(logger, config.detection.allowedLatenessMs, (ratio) =>
      this.metrics.heapLiveRatio.set(ratio),
    );
    const kafka = createKafka(config.kafka, logger.child({ component: 'kafka' }));
    this.kafka = kafka;
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
    this.ownOutput = new CoalescingSender((topicMessages) =>
      this.producer.sendBatch({ acks: -1, topicMessages }),
    );
    new LagMetrics(this.metrics, (topics) =>
      this.admin.fetchOffsets({ groupId: config.kafka.groupId, topics }),
    ).attach(this.consumer);
    this.useRegistry(config.registry.url);
  }

  /** The registry's clients, the decoder and the alert writers, for the schema registry at `url`. */
  private useRegistry(url: string): void {
    const config = this.config;
    this.registry = new RegistryClient({
      url,
      username: config.registry.username,
      password: config.registry.password,
      retries: config.registry.retries,
    });
    // Decoding asks the registry once per attempt: the batch waits and retries itself, heartbeating.
    this.codec = new AvroCodec(
      new RegistryClient({
        url,
        username: config.registry.username,
        password: config.registry.password,
        retries: 0,
      }),
      activityDetectionType,
    );
    this.raw = config.pipeline.classifyRawBytes
      ? new RawClassifier(config.detection, (id) => this.codec.writerType(id))
      : undefined;
    const topicOf = alertTopicOf(config);
    this.writers = Object.fromEntries(
      RULES.map((rule) => [
        rule,
        new AvroTopicWriter(this.producer, this.registry, topicOf[rule], alertType, alertSchemaFor(rule)),
      ]),
    ) as Record<RuleName, AvroTopicWriter<MailboxAccessAlert>>;
  }

  /** Connects, creates what is missing, joins the group; rejects at once if stop() is called meanwhile. */
  start(): Promise<void> {
    return abortable(this.startUp(), this.stopRequest.signal);
  }

  /** True once stop() was called (a signal, a failure): a start-up that ends then did not fail on its own. */
  get stopRequested(): boolean {
    return this.stopping !== undefined;
  }

  private async startUp(): Promise<void> {
    const { config, logger } = this;
    this.heapWatch.start();
    this.http = await startHttp(
      config.http.host,
      config.http.port,
      this.healthSource(),
      this.metrics.registry,
    );
    const { port, metrics } = listeningAt(this.http, config.http.host);
    logger.info(
      { host: config.http.host, port, metrics },
      `listening: metrics on ${metrics}, health on /healthz and /readyz`,
    );

    // Apicurio's base URL becomes its /apis/ccompat/v7; a URL that is no registry is a config error
    // (CONFIG_INVALID). Asked after the health port is bound: /healthz answers while the registry is retried.
    const url = await resolveRegistryUrl(config.registry, (message) => logger.info(message));
    if (url !== config.registry.url) this.useRegistry(url);

    // One bounded question first: kafkajs alone would retry an unreachable cluster for minutes.
    await awaitKafka(config.kafka, STARTUP_KAFKA_ATTEMPTS);
    await this.admin.connect();
    const spec = (topic: string, partitions = config.kafka.topicPartitions) => ({
      topic,
      partitions,
      replicationFactor: config.kafka.replicationFactor,
    });
    const created = await ensureTopics(this.admin, [
      spec(config.topics.activity),
      spec(config.topics.deadLetter),
      ...RULES.map((rule) => spec(this.writers[rule].topic)),
    ]);
    // The repartition topic: as many partitions as configured, by default as the activity topic has.
    const sources = await this.partitionCount(config.topics.activity);
    const hooks = {
      onError: (error: unknown) => void this.fail(error),
      onStats: (sub: SubTopology, stats: CoreStats, watermark: number) => this.report(sub, stats, watermark),
    };
    this.mailbox = new SubTopology(
      'mailbox',
      config.topics.activity,
      config.detection,
      config.pipeline.partitionIdleMs,
      hooks,
    );
    if (needsActorSide(config.detection)) {
      const topic = repartitionTopic(config.kafka.groupId);
      created.push(
        ...(await ensureTopics(this.admin, [
          {
            ...spec(topic, config.pipeline.repartitionPartitions || sources),
            // Records are deleted once committed (purgeRepartition); retention is only the safety net
            // for a group that stops for good, since these are copies of audit records.
            configs: { 'cleanup.policy': 'delete', 'retention.ms': String(REPARTITION_RETENTION_MS) },
          },
        ])),
      );
      const writer = new AvroTopicWriter<ExchangeMailboxActivity>(
        this.producer,
        this.registry,
        topic,
        activityDetectionType,
        activityDetectionSchema,
      );
      const schemaId = await writer.schemaIdForTopic();
      this.repartition = { topic, writer, schemaId, partitions: await this.partitionCount(topic) };
      this.actor = new SubTopology(
        'actor',
        topic,
        config.detection,
        config.pipeline.partitionIdleMs,
        hooks,
        sources,
        // An idle mailbox partition vouches for a record once it has had the idle time to report it
        // otherwise: its instance writes an idle marker every timer turn.
        Math.max(2, Math.ceil(config.pipeline.partitionIdleMs / tickMs(config.pipeline))),
      );
    }
    // The windows' changelog: co-partitioned with the activity topic. Committed entries are deleted as the
    // state moves on (purge); retention is the safety net for a group that stops for good.
    this.windowsLog = windowsChangelogTopic(config.kafka.groupId);
    created.push(
      ...(await ensureTopics(this.admin, [
        {
          ...spec(this.windowsLog, sources),
          configs: { 'cleanup.policy': 'delete', 'retention.ms': String(REPARTITION_RETENTION_MS) },
        },
      ])),
    );
    // Changelog topics of the rules' state stores, partitioned like their sub-topology's source topic.
    this.sourcePartitions.set('mailbox', sources);
    if (this.repartition) this.sourcePartitions.set('actor', this.repartition.partitions);
    for (const sub of this.subs())
      created.push(
        ...(await ensureTopics(
          this.admin,
          sub.stores.map((store) => ({
            ...spec(changelogTopic(config.kafka.groupId, store.name), this.sourcePartitions.get(sub.role)),
            configs: { 'cleanup.policy': 'compact' },
          })),
        )),
      );
    if (created.length > 0) logger.info({ topics: created }, 'created topics');
    // Fail fast when the registry is unreachable; this also registers the alert schemas once.
    for (const rule of RULES) await this.writers[rule].schemaIdForTopic();
    if (this.stopping) return; // stopped during start-up (start() has rejected): connect nothing more

    await this.takeSlot();
    if (this.stopping) return;
    await this.producer.connect();
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      if (this.slot?.remember(event.payload.memberId) === false)
        logger.warn(
          { stateDir: config.pipeline.stateDir },
          'could not write the member id to pipeline.stateDir: after a kill -9, a restart waits kafka.sessionTimeoutMs',
        );
      this.onGroupJoin(event.payload.memberAssignment);
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      if (!event.payload.restart) void this.fail(event.payload.error);
      else logger.warn({ err: event.payload.error }, 'consumer crashed; kafkajs restarts it');
    });
    await this.consumer.subscribe({ topics: this.subscribed(), fromBeginning: true });
    if (this.stopping) return;
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatchAutoResolve: true,
      eachBatch: (payload) => this.serialize(() => this.processBatch(payload)),
    });
    // Idle topics still advance: watermark, state eviction, progress markers and commits move on a timer.
    this.tick = setInterval(
      () => void this.serialize(() => this.advance()).catch((error) => this.fail(error)),
      tickMs(config.pipeline),
    );
    this.tick.unref();
    logger.info(
      {
        topics: this.subscribed(),
        groupId: config.kafka.groupId,
        repartitionPartitions: this.repartition?.partitions,
      },
      'pipeline running',
    );
  }

  /**
   * Claims this instance's slot in `pipeline.stateDir` (member-slot.ts). When the process that held it
   * before died in the group (kill -9, a crash), its member is removed now: the group rebalances at once
   * instead of waiting `kafka.sessionTimeoutMs` for a member that will never answer.
   */
  private async takeSlot(): Promise<void> {
    const { config, logger } = this;
    const stateDir = config.pipeline.stateDir;
    try {
      this.slot = MemberSlot.claim(stateDir, config.kafka.groupId);
    } catch (error) {
      logger.warn(
        { err: error, stateDir },
        'pipeline.stateDir is not writable: after a kill -9, a restart waits kafka.sessionTimeoutMs to rejoin',
      );
      return;
    }
    const previous = this.slot.previous;
    if (previous === undefined) return;
    try {
      const removed = await removeMember(this.kafka, this.admin, config.kafka.groupId, previous.memberId);
      if (removed)
        logger.info(
          { memberId: previous.memberId, pid: previous.pid },
          `removed the member ${previous.memberId} of this instance's previous run (pid ${previous.pid}, ` +
            'no longer running): the group need not wait kafka.sessionTimeoutMs for it',
        );
    } catch (error) {
      logger.warn(
        { err: error, memberId: previous.memberId },
        "could not remove the previous run's member from the group; the join waits for its session to expire",
      );
    }
  }

  private subs(): SubTopology[] {
    if (this.mailbox === undefined) return [];
    return this.actor ? [this.mailbox, this.actor] : [this.mailbox];
  }

  private subscribed(): string[] {
    return this.subs().map((sub) => sub.topic);
  }

  private subOf(topic: string): SubTopology | undefined {
    return this.subs().find((sub) => sub.topic === topic);
  }

  private async partitionCount(topic: string): Promise<number> {
    const metadata = await this.admin.fetchTopicMetadata({ topics: [topic] });
    return metadata.topics[0]?.partitions.length ?? this.config.kafka.topicPartitions;
  }

  /** Finish the batch in flight, commit, disconnect. Idempotent. */
  stop(reason: string, code = 0): Promise<void> {
    this.stopping ??= this.shutdown(reason, code);
    this.stopRequest.abort(new Error(`stopped during start-up (${reason})`));
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
        this.consumer.pause(this.subscribed().map((topic) => ({ topic })));
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
    const [left] = await Promise.allSettled([
      this.consumer.disconnect(),
      this.producer.disconnect(),
      this.admin.disconnect(),
    ]);
    // The consumer left the group: nothing for the next start to remove.
    if (left.status === 'fulfilled') this.slot?.release();
    for (const sub of this.subs()) sub.dispose();
    this.lateLog.close();
    this.heapWatch.stop();
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

  private async processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, isRunning, isStale } = payload;
    if (this.stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
    const started = performance.now();
    const sub = this.subOf(batch.topic);
    if (sub === undefined) return;
    if (sub.role === 'mailbox') this.metrics.consumed.inc(batch.messages.length);
    else this.metrics.repartitionConsumed.inc(batch.messages.length);
    // Restoring stream times and state stores may take a few seconds: keep the session alive meanwhile.
    while (this.restoring) {
      const restoring = this.restoring;
      const done = await Promise.race([
        restoring.then(() => true),
        sleep(HEARTBEAT_WAIT_MS).then(() => false),
      ]);
      if (done && this.restoring === restoring) break;
      if (this.stopping || !isRunning()) return;
      await payload.heartbeat();
    }
    // The actor side's packs opened once, before the writer schemas of their accesses are fetched.
    const opened =
      sub.role === 'actor'
        ? openRepartition(batch.messages, (message) =>
            this.sentPacks.take(batch.partition, Number(message.offset), message.value),
          )
        : undefined;
    if (!(await this.prepare(opened ?? batch.messages, payload.heartbeat, isRunning))) return;
    const now = Date.now();
    if (opened === undefined) await this.mailboxBatch(sub, payload, now);
    else await this.actorBatch(sub, payload, opened, now);
    sub.awaitingFirstFetch.delete(batch.partition);
    if (Date.now() - this.lastCommitAt >= this.config.pipeline.commitIntervalMs) await this.commit(false);
    this.metrics.batchSeconds.observe((performance.now() - started) / 1_000);
  }

  /** Activity records: dead letters, future and late records out; the per-mailbox rules; accesses on. */
  private async mailboxBatch(
    sub: SubTopology,
    { batch, heartbeat }: EachBatchPayload,
    now: number,
  ): Promise<void> {
    const { topic, partition, messages } = batch;
    // Records are judged against the watermark as it stands (restored after a join), never a blank one.
    const watermark = sub.watermarks.watermark(now);
    sub.feedWatermark(watermark);
    const streamTimeBefore = sub.watermarks.streamTime(partition);
    // Where processing stood before this batch: its output holds the commit there until acknowledged.
    const before = sub.tracker.positions();
    if (!before.has(partition))
      before.set(partition, { offset: Number(messages[0]!.offset), streamTime: streamTimeBefore });
    const dead: Message[] = [];
    const onward: Onward[] = [];
    const log: WindowsLogBatch = { partition, offsets: [], entries: [] };
    let maxEventTime = Number.NEGATIVE_INFINITY;
    let minEventTime = Number.POSITIVE_INFINITY;
    let decoded = 0;
    let onBytes = 0;
    let late = 0;
    const raw = this.raw;
    const futureBound = now + this.config.detection.maxClockSkewMs;
    const classified = this.classified;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      if (raw !== undefined) {
        // Owner and system records: classified on their bytes, counted, never decoded (raw-classify.ts).
        // A record from the future takes the full path below, which dead-letters it.
        const verdict = raw.classify(message.value);
        if (verdict !== FALLBACK && raw.time <= futureBound) {
          const time = raw.time;
          decoded++;
          onBytes++;
          if (!sub.watermarks.admit(partition, time)) {
            late++;
            this.lateLog.dropped(topic, partition, time, sub.watermarks.streamTime(partition));
          } else {
            if (time > maxEventTime) maxEventTime = time;
            if (time < minEventTime) minEventTime = time;
            classified.time = time;
            classified.class = verdict === OWNER ? 'owner' : 'system';
            sub.core.input.next(classified);
          }
          if (i % HEARTBEAT_EVERY === HEARTBEAT_EVERY - 1) await heartbeat();
          continue;
        }
      }
      let record: ExchangeMailboxActivity;
      try {
        record = parseDecoded(this.codec.decode(message.value, raw?.walkedWhole === message.value));
      } catch (error) {
        dead.push(this.deadLetter(topic, partition, message, error));
        continue;
      }
      decoded++;
      const future = futureError(record, now, this.config.detection.maxClockSkewMs);
      if (future !== undefined) {
        // Never into the core: its event time would make every real record late.
        dead.push(this.deadLetter(topic, partition, message, future));
        continue;
      }
      // Late against its own partition's stream time: the same verdict whatever the restarts.
      if (!sub.watermarks.admit(partition, record.creation_time)) {
        late++;
        this.lateLog.dropped(topic, partition, record.creation_time, sub.watermarks.streamTime(partition));
        continue;
      }
      if (record.creation_time > maxEventTime) maxEventTime = record.creation_time;
      if (record.creation_time < minEventTime) minEventTime = record.creation_time;
      sub.wake(record); // its mailbox's state first, if a lazy restore has not replayed it yet
      sub.feeding = partition;
      sub.core.input.next({ kind: 'record', record });
      sub.feeding = undefined;
      if (sub.forwarded.length > 0) {
        // The rules took it: into the windows' changelog, for a restart to replay.
        const offset = Number(message.offset);
        log.offsets.push(offset);
        log.entries.push({
          offset,
          watermark,
          value: message.value,
          time: record.creation_time,
          mailbox: sub.forwarded[0]!.mailbox,
        });
        if (this.repartition)
          for (const access of sub.forwarded)
            if (!access.owner)
              onward.push({
                key: access.actor,
                value: this.repartition.writer.encode(this.repartition.schemaId, access.record),
                record: access.record,
              });
        sub.forwarded.length = 0;
      }
      if (i % HEARTBEAT_EVERY === HEARTBEAT_EVERY - 1) await heartbeat();
    }
    this.metrics.decoded.inc(decoded);
    if (onBytes > 0) this.metrics.classifiedOnBytes.inc(onBytes);
    this.metrics.late.inc(late);
    this.endBatch(sub, batch, { min: minEventTime, max: maxEventTime, before: streamTimeBefore }, now);
    // The partition's progress goes behind its records on every repartition partition.
    if (this.repartition) onward.push(...this.markers(partition, now));
    const first = Number(messages[0]!.offset);
    this.publishInBackground(sub, { partition, first, records: messages.length }, dead, onward, log, before);
  }

  /**
   * Repartition records: progress markers, and accesses put back into event-time order for the sweep. On a
   * restart's re-read, the accesses the event order released before the last commit (below `lazyUntil`)
   * are ordered by the time and id their pack gives and wait for their actor undecoded (`SubTopology.released`).
   */
  private async actorBatch(
    sub: SubTopology,
    { batch }: EachBatchPayload,
    messages: OpenedAccess[],
    now: number,
  ): Promise<void> {
    const { topic, partition } = batch;
    const order = sub.order(partition);
    const lazyUntil = sub.lazyUntil.get(partition) ?? Number.NEGATIVE_INFINITY;
    let shared = 0;
    const orderBefore = order.state();
    const streamTimeBefore = sub.watermarks.streamTime(partition);
    // Where processing stood before this batch: its output holds `lazyUntil` there until acknowledged.
    const before = sub.tracker.positions();
    if (!before.has(partition))
      before.set(partition, { offset: Number(messages[0]!.offset), streamTime: streamTimeBefore });
    const dead: Message[] = [];
    let maxEventTime = Number.NEGATIVE_INFINITY;
    let minEventTime = Number.POSITIVE_INFINITY;
    const items: OrderItem<OrderedAccess>[] = [];
    for (const message of messages) {
      const at = Number(message.offset);
      const progress = markerOf(message.headers, message.value);
      if (progress !== undefined) {
        items.push({ kind: 'progress', source: progress.source, time: progress.time, at });
        continue;
      }
      let record: OrderedAccess;
      try {
        if (message.error !== undefined) throw message.error;
        if (message.record !== undefined) {
          record = message.record; // as the mailbox side held it (sent-packs.ts)
          shared++;
        } else if (at < lazyUntil && message.time !== undefined)
          record = {
            lazy: true,
            creation_time: message.time,
            id: message.id!,
            actor: message.actor!,
            partition,
            offset: at,
            value: message.value,
          };
        else record = parseDecoded(this.codec.decode(message.value));
      } catch (error) {
        dead.push(this.deadLetter(topic, partition, message, error));
        continue;
      }
      if (record.creation_time > maxEventTime) maxEventTime = record.creation_time;
      if (record.creation_time < minEventTime) minEventTime = record.creation_time;
      items.push({ kind: 'record', record, at });
    }
    if (shared > 0) this.metrics.repartitionShared.inc(shared);
    orderBatchAt(order, items, (access, at) => sub.released(partition, access, at));
    this.heldForOrder(sub);
    this.endBatch(sub, batch, { min: minEventTime, max: maxEventTime, before: streamTimeBefore }, now, {
      before: orderBefore,
      after: order.state(),
    });
    const first = Number(messages[0]!.offset);
    this.publishInBackground(
      sub,
      { partition, first, records: messages.length },
      dead,
      [],
      undefined,
      before,
    );
  }

  /**
   * A batch's bookkeeping once its records went to the core: whether the partition is caught up (a batch
   * with no records, progress markers only, is silence), the segment of offsets with its event times and
   * stream times for the commits, and a checkpoint of the core.
   */
  private endBatch(
    sub: SubTopology,
    batch: EachBatchPayload['batch'],
    times: { min: number; max: number; before: number },
    now: number,
    order?: { before: OrderState; after: OrderState },
  ): void {
    const { partition, messages } = batch;
    const first = Number(messages[0]!.offset);
    const next = Number(messages[messages.length - 1]!.offset) + 1;
    const records = times.max > Number.NEGATIVE_INFINITY;
    sub.watermarks.fetched(partition, next >= Number(batch.highWatermark), now, records);
    const after = sub.watermarks.streamTime(partition);
    if (Number.isFinite(after))
      this.metrics.streamTime.set({ topic: batch.topic, partition: String(partition) }, after / 1_000);
    sub.tracker.track(partition, first, next, times.max, times.before, after, times.min, now, order);
    sub.checkpoint(now, ++this.checkpointId);
  }

  /** Accesses each repartition partition holds back for the event order (a metric). */
  private heldForOrder(sub: SubTopology): void {
    let held = 0;
    for (const order of sub.orders.values()) held += order.size;
    this.metrics.heldForOrder.set(held);
  }

  /** One progress marker of a mailbox partition per repartition partition. */
  private markers(source: number, now: number): Message[] {
    const repartition = this.repartition;
    if (repartition === undefined) return [];
    const time = this.mailbox.watermarks.progress(source, now);
    return Array.from({ length: repartition.partitions }, (_, p) => markerMessage(p, { source, time }));
  }

  private deadLetter(topic: string, partition: number, message: KafkaMessage, error: unknown): Message {
    const code = error instanceof RadarError ? error.code : 'UNEXPECTED';
    this.metrics.rejected.inc({ code });
    this.logger.warn(
      { topic, partition, offset: message.offset, code, reason: (error as Error).message },
      'record dead-lettered',
    );
    return deadLetter(
      message,
      { topic, partition, offset: message.offset, timestamp: message.timestamp },
      error,
    );
  }

  /** Timer turn: markers, watermarks on idleness, what that emits, commits. */
  private async advance(): Promise<void> {
    if (this.stopping || !this.joined || this.restoring || this.registryDown) return;
    const now = Date.now();
    const markers = this.mailbox.partitions.flatMap((source) => this.markers(source, now));
    this.mailbox.checkpoint(now, ++this.checkpointId);
    this.publishInBackground(this.mailbox, undefined, [], markers);
    if (this.actor) {
      // Nothing is released here: only at the markers on the partitions (event-order.ts), so that what
      // goes to the actor rules, in what order, follows from the partitions' content, not from this timer.
      this.actor.checkpoint(now, ++this.checkpointId);
      this.publishInBackground(this.actor, undefined, [], []);
    }
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
   * Sends a batch's alerts, dead letters and repartition records without awaiting them here. Alerts hold
   * every partition of their sub-topology at their earliest record; the batch's own output holds its
   * partition at the batch. Too much unacknowledged → pause.
   */
  private publishInBackground(
    sub: SubTopology,
    batch: { partition: number; first: number; records: number } | undefined,
    dead: Message[],
    onward: Onward[],
    log?: WindowsLogBatch,
    before?: Map<number, Position>,
  ): void {
    const raised = sub.takeAlerts();
    const alerts = this.unpublished(raised);
    if (alerts.length < raised.length) {
      const sent = new Set(alerts);
      sub.holdPublished(raised.filter((alert) => !sent.has(alert)));
    }
    const changes = this.changelogMessages(sub);
    const logged = log !== undefined && log.entries.length > 0 ? log : undefined;
    if (
      alerts.length === 0 &&
      dead.length === 0 &&
      onward.length === 0 &&
      changes.length === 0 &&
      logged === undefined
    )
      return;
    const held = sub.holdAlerts(alerts);
    const ownOutput = ownOutputOf(dead, onward, changes, logged);
    // Whatever this publish holds keeps the commit where processing stood before it (mailbox side), and the
    // actor side's `lazyUntil` there.
    const positionHold =
      alerts.length > 0 || ownOutput ? sub.holdPositions(before ?? sub.tracker.positions()) : undefined;
    const entry = batch && ownOutput ? sub.holdBatch(batch.partition, batch.first) : undefined;
    const records = batch?.records ?? 0;
    this.inFlightRecords += records;
    const send: Promise<void> = this.publish(alerts, dead, onward, changes, sub, logged).then(
      () => {
        if (held) held.done = true;
        if (entry) entry.done = true;
        if (positionHold) positionHold.done = true;
        this.inFlightRecords -= records;
        this.sends.delete(send);
        if (this.paused && this.inFlightRecords <= this.config.pipeline.maxInFlightRecords / 2) {
          this.paused = false;
          this.consumer.resume(this.subscribed().map((topic) => ({ topic })));
          for (const s of this.subs()) s.watermarks.resume(Date.now());
          const pausedMs = Date.now() - this.pausedAt;
          this.metrics.backpressureSeconds.inc(pausedMs / 1_000);
          // Short pauses are how a drain runs at the broker's pace (counted, logged at debug); a long
          // one means the broker is slow to acknowledge, which an operator should hear about.
          if (pausedMs >= LONG_PAUSE_MS)
            this.logger.warn(
              { pausedMs, inFlightRecords: this.inFlightRecords },
              'resumed after a long pause: the broker was slow to acknowledge',
            );
          else this.logger.debug({ pausedMs, inFlightRecords: this.inFlightRecords }, 'resumed');
        }
      },
      (error: unknown) => void this.fail(error), // nothing from this batch on is ever committed
    );
    this.sends.add(send);
    if (!this.paused && this.inFlightRecords > this.config.pipeline.maxInFlightRecords) {
      this.paused = true;
      this.pausedAt = Date.now();
      this.consumer.pause(this.subscribed().map((topic) => ({ topic })));
      for (const s of this.subs()) s.watermarks.pause(); // paused partitions are behind, never idle
      this.metrics.backpressurePauses.inc();
      this.logger.debug(
        { inFlightRecords: this.inFlightRecords },
        'paused: waiting for the broker to acknowledge',
      );
    }
  }

  /**
   * Drops the alerts found on their topics at the last join: a restart reprocesses the records after the
   * last commit, and the alerts they cause again were acknowledged before the stop.
   */
  private unpublished(alerts: MailboxAccessAlert[]): MailboxAccessAlert[] {
    if (this.published.size === 0 || alerts.length === 0) return alerts;
    return alerts.filter((alert) => {
      if (!this.published.has(revisionKey(alert.alert_id, alert.revision))) return true;
      this.metrics.republishSkipped.inc({ rule: alert.rule });
      return false;
    });
  }

  /** The sub-topology's state changes as changelog messages, on the partition of the record behind each. */
  private changelogMessages(sub: SubTopology): { topic: string; messages: Message[] }[] {
    const changes = sub.takeChanges();
    if (changes.length === 0) return [];
    const partitions = this.sourcePartitions.get(sub.role) ?? 1;
    const byTopic = new Map<string, Message[]>();
    for (const change of changes) {
      const topic = changelogTopic(this.config.kafka.groupId, change.store);
      const message = changeMessage(change.key, change.value, partitions);
      if (change.partition !== undefined) message.partition = change.partition;
      const list = byTopic.get(topic) ?? [];
      list.push(message);
      byTopic.set(topic, list);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  /** Alerts, dead letters and repartition records, sent and acknowledged (acks = all). */
  private async publish(
    alerts: MailboxAccessAlert[],
    dead: Message[],
    repartition: Onward[],
    changes: { topic: string; messages: Message[] }[] = [],
    sub?: SubTopology,
    log?: WindowsLogBatch,
  ): Promise<void> {
    const sends: Promise<unknown>[] = [];
    // The batch's own output — windows' changelog entries, dead letters, repartition records — in one
    // produce request with the other batches' that wait meanwhile (the idempotent producer sends one
    // request at a time; coalescing-sender.ts).
    const own: { topic: string; messages: Message[] }[] = [];
    const packed = log !== undefined && sub !== undefined ? packEntries(log.partition, log.entries) : [];
    if (packed.length > 0) own.push({ topic: this.windowsLog, messages: packed });
    if (dead.length > 0) own.push({ topic: this.config.topics.deadLetter, messages: dead });
    // The packs for partitions this instance's actor side reads, with the records they hold: once the broker
    // says where they went, the actor side can take those records instead of decoding them again.
    const local = new Map<Message, readonly ExchangeMailboxActivity[]>();
    const readHere = this.actor?.reads;
    const repartitionMessages =
      repartition.length > 0 && this.repartition
        ? packRepartition(repartition, this.repartition.partitions, (pack, sources) => {
            if (readHere?.has(pack.partition!) === true)
              local.set(
                pack,
                sources.map((source) => source.record!),
              );
          })
        : [];
    if (repartitionMessages.length > 0)
      own.push({ topic: this.repartition!.topic, messages: repartitionMessages });
    if (own.length > 0)
      sends.push(
        this.ownOutput.submit(own).then((written) => {
          for (const [pack, records] of local) {
            const offset = written.offsetOf(pack);
            if (offset !== undefined)
              this.sentPacks.add(pack.partition!, offset, pack.value as Buffer, records);
          }
          if (log === undefined || sub === undefined) return;
          const base = written.base(this.windowsLog, log.partition);
          if (base !== undefined) sub.logPositions.written(log.partition, log.offsets, base, packed.length);
        }),
      );
    for (const rule of RULES) {
      const mine = alerts.filter((a) => a.rule === rule);
      if (mine.length > 0)
        sends.push(
          this.writers[rule].send(
            mine.map((a) => ({ key: a.alert_id, value: a, headers: revisionHeaders(a) })),
          ),
        );
    }
    await Promise.all(sends);
    // State changes only after the alerts of the same records: a stored change whose alert was lost
    // would silence it for good after a restart.
    if (changes.length > 0) await this.producer.sendBatch({ acks: -1, topicMessages: changes });
    this.metrics.repartitionProduced.inc(repartition.filter((m) => m.key !== null).length);
    for (const alert of alerts) {
      if ((alert.revision ?? 0) === 0) this.metrics.alerts.inc({ rule: alert.rule });
      this.metrics.alertRevisions.inc({ rule: alert.rule, status: alert.status ?? 'open' });
      this.logger.info(
        {
          alert_id: alert.alert_id,
          rule: alert.rule,
          status: alert.status ?? 'open',
          revision: alert.revision ?? 0,
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
   * Commits both sub-topologies' partitions, each with its metadata (see CommitMetadata).
   *
   * - mailbox: the offset is where processing stands, short of any batch whose output (alerts included) is
   *   unacknowledged (Kafka Streams flushes its producer instead; here processing never waits); the
   *   metadata says from which source offset (R, as far
   *   back as open windows, unacknowledged alerts and closed episodes need) and from which changelog offset
   *   the windows' state is replayed on a restore.
   * - actor: the offset is R itself (its source, the repartition topic, is already the compact share a
   *   restore re-reads), with the stream time and the event order there, and `lazyUntil`: where processing
   *   stands short of unacknowledged output, below which the re-read's accesses wait for their actor.
   *
   * Both carry `since`, when the records from R on were first processed: a restore reads the alert topics
   * back from there, so an alert published then is not published again.
   */
  private async commit(force: boolean): Promise<void> {
    if (this.restoring) return;
    const now = Date.now();
    const offsets: { topic: string; partition: number; offset: string; metadata: string }[] = [];
    const changed: { sub: SubTopology; partition: number; offset: number; metadata: string; log?: number }[] =
      [];
    for (const sub of this.subs()) {
      const points = sub.commitPoints();
      if (points === undefined) continue;
      // Where processing stands, short of unacknowledged output: the mailbox side commits there; the actor
      // side commits where its state begins, and says where its lazy restore may stop (`lazyUntil`).
      const positions = sub.commitPositions();
      for (const [partition, point] of points) {
        let since = Number.isFinite(point.processedAt) ? point.processedAt : now;
        // Records a restore read again were first processed before it, by this instance or another.
        const floor = sub.sinceFloor.get(partition);
        if (floor !== undefined && point.offset < floor.until) since = Math.min(since, floor.since);
        let offset = point.offset;
        let meta: CommitMetadata = { streamTime: point.streamTime, since, order: point.order };
        let log: number | undefined;
        if (sub.role === 'actor') {
          const position = positions.get(partition);
          if (position !== undefined) meta = { ...meta, lazyUntil: position.offset };
        } else {
          const position = positions.get(partition);
          if (position === undefined) continue;
          const restoreFrom = Math.min(point.offset, position.offset);
          log = sub.logPositions.logOffsetFor(partition, restoreFrom);
          offset = position.offset;
          meta = { streamTime: position.streamTime, restoreFrom, logOffset: log, since };
        }
        // `since` alone moving is no reason to commit.
        const key = encodeCommitMetadata({ ...meta, since: undefined });
        if ((sub.committed.get(partition) ?? -1) >= offset && sub.committedMeta.get(partition) === key)
          continue;
        offsets.push({
          topic: sub.topic,
          partition,
          offset: String(offset),
          metadata: encodeCommitMetadata(meta),
        });
        changed.push({ sub, partition, offset, metadata: key, log });
      }
    }
    if (offsets.length === 0 && !force) return;
    if (offsets.length > 0) {
      const generation = this.generation;
      try {
        await this.consumer.commitOffsets(offsets);
      } catch (error) {
        // The group is moving (a member joined or left, or we were dropped): this commit is void, and the
        // join that follows restores state from the last commit that went through.
        if (!isGroupMoving(error)) throw error;
        this.logger.info({ reason: (error as Error).message }, 'commit skipped: the group is rebalancing');
        return;
      }
      if (generation !== this.generation) return;
      for (const { sub, partition, offset, metadata, log } of changed) {
        sub.committed.set(partition, offset);
        sub.committedMeta.set(partition, metadata);
        if (log !== undefined) sub.committedLog.set(partition, log);
        this.metrics.committed.set({ topic: sub.topic, partition: String(partition) }, offset);
      }
      this.logger.debug({ offsets }, 'committed');
    }
    this.lastCommitAt = Date.now();
    const purgeEvery = Math.min(REPARTITION_PURGE_MS, 10 * this.config.pipeline.commitIntervalMs);
    if (this.lastCommitAt - this.lastPurgeAt >= purgeEvery) this.purge();
  }

  /**
   * Deletes what nothing will read again, as Kafka Streams purges its repartition topics: repartition
   * records below this instance's committed offsets, and windows' changelog entries below where its
   * committed state begins. Both are copies of audit records.
   */
  private purge(): void {
    this.lastPurgeAt = this.lastCommitAt;
    const below = (offsets: Map<number, number>) =>
      [...offsets].map(([partition, offset]) => ({ partition, offset: String(offset) }));
    const actor = this.actor;
    if (actor !== undefined && actor.committed.size > 0)
      this.admin.deleteTopicRecords({ topic: actor.topic, partitions: below(actor.committed) }).then(
        () => this.metrics.repartitionPurges.inc(),
        (error: unknown) =>
          this.logger.warn({ err: error }, 'could not purge the repartition topic; retried later'),
      );
    if (this.mailbox.committedLog.size > 0)
      this.admin
        .deleteTopicRecords({ topic: this.windowsLog, partitions: below(this.mailbox.committedLog) })
        .catch((error: unknown) =>
          this.logger.warn({ err: error }, "could not purge the windows' changelog; retried later"),
        );
  }

  /** Core statistics are cumulative per core; metrics get the increments (classes from the mailbox side). */
  private report(sub: SubTopology, stats: CoreStats, watermark: number): void {
    const before = this.reported.get(sub.role);
    const delta = (key: StatKey) => (this.baseline ? 0 : stats[key] - (before?.[key] ?? 0));
    this.metrics.late.inc(delta('late'));
    this.lateLog.droppedBehindWatermark(sub.topic, delta('late'), watermark);
    if (sub.role === 'mailbox') {
      this.metrics.duplicates.inc(delta('duplicates'));
      this.metrics.classified.inc({ class: 'system' }, delta('system'));
      this.metrics.classified.inc({ class: 'owner' }, delta('owner'));
      this.metrics.classified.inc({ class: 'allow_listed' }, delta('allowListed'));
      this.metrics.classified.inc({ class: 'non_owner' }, delta('nonOwner'));
      this.metrics.classified.inc({ class: 'cross_domain' }, delta('crossDomain'));
      this.metrics.classified.inc({ class: 'app' }, delta('app'));
      if (Number.isFinite(watermark)) this.metrics.watermark.set(watermark / 1_000);
    }
    this.reported.set(sub.role, { ...stats, alerts: { ...stats.alerts } });
    let openKeys = 0;
    let retained = 0;
    for (const s of this.reported.values()) {
      openKeys += s.openKeys;
      retained += s.retainedRecords;
    }
    this.metrics.openKeys.set(openKeys);
    this.metrics.retained.set(retained);
    this.metrics.restoreWaiting.set(this.mailbox.waiting.entries);
    if (this.actor !== undefined) this.metrics.restoreWaitingAccesses.set(this.actor.waiting.entries);
    this.heapWatch.retainedRecords = retained;
  }

  /**
   * A (re)join: both cores start empty and are restored (see `restore`) before any batch is processed;
   * batches wait meanwhile, heartbeating.
   */
  private onGroupJoin(assignment: Record<string, number[]>): void {
    this.metrics.rebalances.inc();
    this.reported.clear();
    this.sentPacks.clear();
    for (const sub of this.subs()) {
      sub.reset(assignment[sub.topic] ?? []);
      this.metrics.assigned.set({ sub_topology: sub.role, topic: sub.topic }, sub.partitions.length);
    }
    const generation = ++this.generation;
    this.joined = true;
    this.logger.info(
      Object.fromEntries(
        this.subs().map((sub) => [sub.role, { topic: sub.topic, partitions: sub.partitions }]),
      ),
      'joined the group; restoring state',
    );
    const restoring = this.restore(generation).catch((error: unknown) => {
      if (generation === this.generation && !this.stopping) void this.fail(error);
    });
    this.restoring = restoring;
    void restoring.finally(() => {
      if (this.restoring === restoring) this.restoring = undefined;
    });
  }

  /** Retries a restore step (the broker or registry may be away for a moment) while this join holds. */
  private async retrying<T>(
    generation: number,
    what: string,
    step: () => Promise<T>,
  ): Promise<T | undefined> {
    let delay = 1_000;
    for (;;) {
      if (generation !== this.generation || this.stopping) return undefined;
      try {
        return await step();
      } catch (error) {
        if (generation !== this.generation || this.stopping) return undefined;
        this.logger.warn({ err: error, retryInMs: delay }, `restore: ${what} failed; retrying`);
        await sleep(delay);
        delay = Math.min(delay * 2, REGISTRY_BACKOFF_MAX_MS);
      }
    }
  }

  /**
   * After a join, as Kafka Streams restores its tasks:
   * - each partition's stream time as it was at its committed offset (the commit metadata), so lateness is
   *   decided exactly as before; partitions with nothing to read are caught up;
   * - the mailbox side's windows, by replaying its changelog's entries of the source offsets between where
   *   the committed state begins and the committed offset (record-log.ts), instead of re-reading the
   *   activity topic; then a restart marker per partition supersedes a previous owner's uncommitted tail;
   * - the rules' state stores (all partitions of a global store);
   * - the alert ids published since the records to be reprocessed were first processed (`since`), read
   *   back from the alert topics: they are not published again.
   * Everything is read through one short-lived group; the cores change only once every read succeeded.
   */
  private async restore(generation: number): Promise<void> {
    const started = Date.now();
    const plan = await this.retrying(generation, 'reading committed offsets and changelogs', () =>
      this.readRestore(),
    );
    if (plan === undefined || generation !== this.generation) return;
    const readMs = Date.now() - started;
    const restored = await this.applyRestore(plan, generation);
    if (restored === undefined || generation !== this.generation) return;
    const applyMs = Date.now() - started - readMs;
    const fences = this.mailbox.partitions.map((p) =>
      restartMessage(p, plan.commits.get('mailbox')?.get(p)?.offset ?? 0),
    );
    if (fences.length > 0) {
      // Through the coalescing sender, behind whatever a previous generation's batches still have waiting
      // there: an entry written after the marker would not be superseded by it.
      const sent = await this.retrying(generation, 'writing restart markers', () =>
        this.ownOutput.submit([{ topic: this.windowsLog, messages: fences }]),
      );
      if (sent === undefined) return;
    }
    this.published = plan.published;
    const ms = Date.now() - started;
    this.metrics.restoreSeconds.set(ms / 1_000);
    this.logger.info(
      {
        ms,
        readMs,
        applyMs,
        restoredRecords: restored,
        // Lazy restore: mailboxes (and their records) not replayed yet, each waiting until it is needed.
        waitingMailboxes: this.mailbox.waiting.size,
        waitingRecords: this.mailbox.waiting.entries,
        alertsReadBack: plan.published.size,
        since: plan.since === undefined ? null : new Date(plan.since).toISOString(),
      },
      'state restored',
    );
  }

  private async readRestore() {
    const subs = this.subs();
    const [committed, logEnds, ...ends] = await Promise.all([
      this.admin.fetchOffsets({ groupId: this.config.kafka.groupId, topics: subs.map((sub) => sub.topic) }),
      this.admin.fetchTopicOffsets(this.windowsLog),
      ...subs.map((sub) => this.admin.fetchTopicOffsets(sub.topic)),
    ]);
    const commits = new Map<
      Role,
      Map<number, { offset: number; meta: CommitMetadata; high: number; caughtUp: boolean }>
    >();
    let since: number | undefined;
    subs.forEach((sub, i) => {
      const byPartition = new Map(
        committed.find((c) => c.topic === sub.topic)?.partitions.map((p) => [p.partition, p]) ?? [],
      );
      const mine = new Map<
        number,
        { offset: number; meta: CommitMetadata; high: number; caughtUp: boolean }
      >();
      for (const partition of sub.partitions) {
        const commit = byPartition.get(partition);
        const meta = decodeCommitMetadata(commit?.metadata);
        const end = ends[i]?.find((e) => e.partition === partition);
        const low = Number(end?.low ?? 0);
        const high = Number(end?.high ?? 0);
        const offset = Number(commit?.offset ?? -1);
        mine.set(partition, {
          offset,
          meta,
          high,
          caughtUp: high === low || (offset >= 0 && offset >= high),
        });
        if (meta.since !== undefined) since = Math.min(since ?? meta.since, meta.since);
      }
      commits.set(sub.role, mine);
    });
    // One read: windows' changelog, stores' changelogs, the alert topics' recent tail.
    const ranges: PartitionRange[] = [];
    for (const [partition, { offset, meta }] of commits.get('mailbox') ?? [])
      if (meta.restoreFrom !== undefined && meta.restoreFrom < offset)
        ranges.push({ topic: this.windowsLog, partition, from: meta.logOffset ?? 'earliest' });
    const stores = new Map<
      string,
      { sub: SubTopology; store: string; state: Map<string, number>; partitions: number[] }
    >();
    for (const sub of subs)
      for (const store of sub.stores) {
        const partitions = store.global
          ? Array.from({ length: this.sourcePartitions.get(sub.role) ?? 1 }, (_, p) => p)
          : sub.partitions;
        const topic = changelogTopic(this.config.kafka.groupId, store.name);
        stores.set(topic, { sub, store: store.name, state: new Map(), partitions });
        for (const partition of partitions) ranges.push({ topic, partition, from: 'earliest' });
      }
    const alertTopics = new Set(RULES.map((rule) => this.writers[rule].topic));
    if (since !== undefined) {
      const from = since - 1_000;
      // A second of margin: the alert's timestamp is taken when it is sent, after its records.
      const starts = await Promise.all(
        [...alertTopics].map(async (topic) => ({
          topic,
          offsets: await offsetsAtTime(this.admin, topic, from),
        })),
      );
      for (const { topic, offsets } of starts)
        for (const [partition, from] of offsets) ranges.push({ topic, partition, from });
    }
    const replays = new Map<number, LogReplay>();
    const published = new Set<string>();
    await readRanges(
      this.kafka,
      this.admin,
      ranges,
      (topic, partition, message) => {
        if (topic === this.windowsLog) {
          let replay = replays.get(partition);
          if (replay === undefined) replays.set(partition, (replay = new LogReplay()));
          replay.add(message);
        } else if (alertTopics.has(topic)) {
          if (message.key !== null)
            published.add(revisionKey(message.key.toString('utf8'), revisionOf(message)));
        } else {
          const store = stores.get(topic);
          if (store !== undefined) applyChange(store.state, message);
          store?.sub.restoredEntry(message.key, partition);
        }
      },
      { groupPrefix: this.config.kafka.groupId },
    );
    for (const [partition, replay] of replays)
      for (const problem of replay.problems)
        this.logger.warn(
          { partition, problem },
          "a windows' changelog message does not parse; its entries are left out of the restore",
        );
    // The entries to replay, decoded (their writer schemas fetched now, before any core changes).
    const entries = new Map<number, LogEntry[]>();
    for (const [partition, { offset, meta }] of commits.get('mailbox') ?? [])
      if (meta.restoreFrom !== undefined)
        entries.set(partition, replays.get(partition)?.between(meta.restoreFrom, offset) ?? []);
    await this.codec.prepare([...entries.values()].flatMap((list) => list.map((e) => e.value)));
    return { commits, stores, entries, published, since, logEnds };
  }

  /**
   * Feeds a restore into the cores and bookkeeping. Batches and commits wait for the restore; the event loop
   * gets a turn every RESTORE_SLICE entries (in-slices.ts), so heartbeats go out during a restore of millions
   * of entries. A rebalance or a stop meanwhile ends it (undefined): the join that follows restores anew.
   */
  private async applyRestore(
    plan: Awaited<ReturnType<Pipeline['readRestore']>>,
    generation: number,
  ): Promise<number | undefined> {
    const stale = () => generation !== this.generation || this.stopping !== undefined;
    const now = Date.now();
    for (const sub of this.subs())
      for (const [partition, { meta, caughtUp, high }] of plan.commits.get(sub.role) ?? []) {
        sub.watermarks.assign(partition, now, meta.streamTime);
        // The event order as it was at the committed offset: the re-read decides as live processing did.
        if (meta.order !== undefined && sub.role === 'actor') sub.order(partition).restore(meta.order);
        if (meta.lazyUntil !== undefined && sub.role === 'actor')
          sub.lazyUntil.set(partition, meta.lazyUntil);
        if (meta.since !== undefined) sub.sinceFloor.set(partition, { until: high, since: meta.since });
        if (caughtUp) {
          sub.awaitingFirstFetch.delete(partition);
          sub.watermarks.caughtUp(partition);
        }
      }
    for (const { sub, store, state, partitions } of plan.stores.values()) {
      for (const [key, value] of state) sub.core.input.next({ kind: 'restore', store, key, value });
      this.logger.info({ store, partitions, keys: state.size }, 'state store restored');
    }
    const mailbox = this.mailbox;
    // Each entry is decoded and fed to the core at once, a few at a time: the strings a decoded record
    // repeats die young once the core's string pool has shared them. Decoding every entry first held them
    // all through the collections of the whole restore, to be dropped from the old generation afterwards.
    let replayed = 0;
    const run: { partition: number; watermark: number; record: ExchangeMailboxActivity }[] = [];
    // Entries that carry their mailbox and event time wait for their mailbox to be needed (lazy-restore.ts);
    // a changelog with entries of the format before (an upgrade) is replayed whole, at once, as it was.
    const lazy = [...plan.entries.values()].every((list) =>
      list.every((entry) => entry.mailbox !== undefined && entry.time !== undefined),
    );
    // The bytes of a changelog entry decoded when it was first processed: its blocks were checked then.
    mailbox.decodeEntry = this.entryDecoder(
      mailbox,
      true,
      "a windows' changelog entry no longer decodes; left out of the restore",
    );
    if (this.actor !== undefined)
      this.actor.decodeEntry = this.entryDecoder(
        this.actor,
        false,
        'a repartition access read again no longer decodes; left out of the sweep',
      );
    this.baseline = true;
    try {
      if (lazy) {
        for (const { partition, entry } of replayOrder(plan.entries))
          mailbox.waiting.add(entry.mailbox!, {
            partition,
            offset: entry.offset,
            time: entry.time!,
            value: entry.value,
          });
        // The mailboxes with an entry the watermark has passed are replayed now, a slice at a time.
        const due: WaitingEntry[][][] = [[]];
        let size = 0;
        for (const entries of mailbox.waiting.takeBefore(mailbox.watermark(now))) {
          if (size >= RESTORE_SLICE) {
            due.push([]);
            size = 0;
          }
          due[due.length - 1]!.push(entries);
          size += entries.length;
          replayed += entries.length;
        }
        const done = await inSlices(
          due,
          1,
          ([slice]) => {
            for (const entries of slice!) mailbox.replayMailbox(entries);
          },
          stale,
        );
        if (!done) return undefined;
        mailbox.checkpoint(now, ++this.checkpointId);
        return this.restoreBookkeeping(plan, replayed + mailbox.waiting.entries);
      }
      const done = await inSlices(
        [...replayOrder(plan.entries)],
        RESTORE_SLICE,
        (slice) => {
          for (const { partition, entry } of slice) {
            const record = mailbox.decodeEntry({
              partition,
              offset: entry.offset,
              time: 0,
              value: entry.value,
            });
            if (record !== undefined) {
              entry.time = record.creation_time;
              run.push({ partition, watermark: entry.watermark, record });
            }
            if (run.length === REPLAY_RUN) {
              mailbox.replay(run, now);
              replayed += run.length;
              run.length = 0;
            }
          }
          mailbox.replay(run, now);
          replayed += run.length;
          run.length = 0;
        },
        stale,
      );
      if (!done) return undefined;
      mailbox.checkpoint(now, ++this.checkpointId);
    } finally {
      this.baseline = false;
    }
    return this.restoreBookkeeping(plan, replayed);
  }

  /** How a sub-topology's waiting entries decode when replayed; one that no longer does is logged and left out. */
  private entryDecoder(
    sub: SubTopology,
    checked: boolean,
    warning: string,
  ): (entry: WaitingEntry) => ExchangeMailboxActivity | undefined {
    return (entry) => {
      try {
        return parseDecoded(this.codec.decode(entry.value, checked));
      } catch (error) {
        this.logger.warn(
          { topic: sub.topic, partition: entry.partition, offset: entry.offset, err: error },
          warning,
        );
        return undefined;
      }
    };
  }

  /**
   * After a restore: the tracker and the changelog's positions as if the restored entries (replayed, or
   * waiting for their mailbox) had just been processed, in chunks of the tracker's segments.
   */
  private restoreBookkeeping(plan: Awaited<ReturnType<Pipeline['readRestore']>>, restored: number): number {
    const mailbox = this.mailbox;
    const CHUNK = 256;
    for (const [partition, { offset, meta }] of plan.commits.get('mailbox') ?? []) {
      if (offset < 0) continue;
      const list = plan.entries.get(partition) ?? [];
      const end = plan.logEnds.find((e) => e.partition === partition);
      mailbox.logPositions.endAt(partition, Number(end?.high ?? 0));
      // Runs of consecutive changelog messages as one batch each (one pair of numbers per run); the entries
      // of a packed message share its offset.
      for (let i = 0; i < list.length;) {
        let j = i + 1;
        while (j < list.length && list[j]!.logOffset - list[j - 1]!.logOffset <= 1) j++;
        mailbox.logPositions.written(
          partition,
          list.slice(i, j).map((entry) => entry.offset),
          list[i]!.logOffset,
          list[j - 1]!.logOffset - list[i]!.logOffset + 1,
        );
        i = j;
      }
      for (let i = 0; i < list.length; i += CHUNK) {
        const chunk = list.slice(i, i + CHUNK);
        const next = list[i + CHUNK]?.offset ?? offset;
        let min = Number.POSITIVE_INFINITY;
        let max = Number.NEGATIVE_INFINITY;
        for (const entry of chunk) {
          const time = entry.time ?? Number.NEGATIVE_INFINITY;
          if (time < min) min = time;
          if (time > max) max = time;
        }
        mailbox.tracker.track(
          partition,
          chunk[0]!.offset,
          next,
          max,
          meta.streamTime,
          meta.streamTime,
          min,
          meta.since,
        );
      }
      mailbox.tracker.track(partition, offset, offset, Number.NEGATIVE_INFINITY, meta.streamTime);
    }
    this.metrics.restoredRecords.inc(restored);
    return restored;
  }

  private healthSource() {
    return {
      live: () => !this.failed,
      ready: () =>
        this.joined &&
        this.restoring === undefined &&
        this.subs().every((sub) => sub.awaitingFirstFetch.size === 0) &&
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
        subTopologies: Object.fromEntries(
          this.subs().map((sub) => [
            sub.role,
            {
              topic: sub.topic,
              partitions: sub.partitions,
              awaitingFirstFetch: [...sub.awaitingFirstFetch],
              watermark: sub.core.checkpoint?.watermark ?? null,
              openKeys: sub.core.checkpoint?.stats.openKeys ?? 0,
              ...(sub.role === 'actor'
                ? { heldForOrder: [...sub.orders.values()].reduce((n, o) => n + o.size, 0) }
                : {}),
            },
          ]),
        ),
      }),
    };
  }
}
