/**
 * Chaos, measured (issue 8.11): `mailbox-radar run` is SIGKILLed at 20 random moments while activity with
 * bursts of all three rules flows in, and the broker and the registry are each restarted once at a random
 * moment; then the alert topics must hold every expected alert, any alert delivered twice with the same
 * alert_id, and nothing else. The expected alerts come from the pure core over the same input
 * (test/support/chaos.ts), as `replay` computes them.
 *
 * Seeded: RADAR_CHAOS_SEED=<seed> replays the same input, kill moments and restart positions (the
 * machine's timing still varies). RADAR_CHAOS_KILLS changes the number of kills (default 20). The figures
 * are printed, and each instance's log (debug level: its commits) is kept in the directory the test
 * prints; a failure names the offsets of the alert's records and each instance's last commit there.
 *
 * The stack: the one the harness gives, restarted through scripts/stack.sh (restart-kafka,
 * restart-registry), as test/app/broker-restart.itest.ts does. Integration test files run one at a time,
 * so nothing else uses that stack meanwhile, and a private second stack would cost half a minute and a
 * gigabyte more on a 2-core CI machine. A stack that stack.sh did not start (Docker, a remote cluster) is
 * skipped with the reason: it cannot be restarted from here. To run against a private stack:
 *   RADAR_STACK_DIR=/tmp/chaos RADAR_KAFKA_PORT=19192 RADAR_KAFKA_CONTROLLER_PORT=19193 \
 *   RADAR_KAFKA_SASL_PORT=19194 RADAR_REGISTRY_PORT=18181 scripts/stack.sh up
 * then the same RADAR_* variables plus KAFKA_BROKERS / SCHEMA_REGISTRY_URL for the test.
 *
 * Each kill costs about 6 s: the new instance's join waits until the killed member's session times out
 * (6 s, the broker's minimum). About 3 minutes in all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defaultConfig } from '../../src/config/load.js';
import { frame } from '../../src/kafka/avro-codec.js';
import { partitionOfKey } from '../../src/kafka/murmur2.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';
import { activitySchema, activityType } from '../../src/model/schemas.js';
import { Random } from '../../src/simulate/random.js';
import { chaosInput, commitsInLog, compareAlerts, expectedAlerts } from '../support/chaos.js';
import {
  allTopics,
  freePort,
  metric,
  pipelineEnv,
  readAlerts,
  sleep,
  startPipeline,
  uniqueTopics,
  type RunningPipeline,
  type Topics,
} from '../support/pipeline.js';
import { createTopics, kafkaFor, requireStack, skipOrFail, type Stack } from '../support/stack.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const STACK_SH = `${ROOT}scripts/stack.sh`;
const run = promisify(execFile);

const SEED = process.env.RADAR_CHAOS_SEED ?? Date.now().toString(36);
const KILLS = Number(process.env.RADAR_CHAOS_KILLS ?? 20);
const SEGMENTS = 40;
const OWNER_RECORDS = 1_500; // per segment: a few thousand records to catch up after each kill

/** scripts/stack.sh's environment for the stack the test found (its directory, when it knows it). */
function stackShEnv(stack: Stack): NodeJS.ProcessEnv {
  return stack.dir === undefined ? process.env : { ...process.env, RADAR_STACK_DIR: stack.dir };
}

/** Whether scripts/stack.sh, with this environment, manages exactly the stack the test found. */
async function restartable(stack: Stack): Promise<string | undefined> {
  try {
    const status = await run(STACK_SH, ['status'], { env: stackShEnv(stack) }).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }), // exit 3: something is not running
    );
    const stdout = status.stdout;
    const { stdout: env } = await run(STACK_SH, ['env'], { env: stackShEnv(stack) });
    const brokers = /^KAFKA_BROKERS=(.*)$/m.exec(env)?.[1];
    const registry = /^SCHEMA_REGISTRY_URL=(.*)$/m.exec(env)?.[1];
    if (!/kafka: running/.test(stdout) || !/registry: running/.test(stdout))
      return 'scripts/stack.sh did not start this stack';
    if (brokers !== stack.brokers.join(',') || registry !== stack.registryUrl)
      return `scripts/stack.sh manages ${brokers} / ${registry}, the test found ${stack.brokers.join(',')} / ${stack.registryUrl}`;
    return undefined;
  } catch (error) {
    return `scripts/stack.sh status: ${(error as Error).message}`;
  }
}

/**
 * Keeps one `run` instance alive like an orchestrator: a killed one is replaced at once, and one that
 * exits by itself is counted and replaced too. Every instance's output goes to its own log file.
 */
class Supervisor {
  current!: RunningPipeline;
  instances = 0;
  readonly exits: { instance: number; code: number | null }[] = [];
  private killing = false;
  private stopped = false;

  constructor(
    private readonly stack: Stack,
    private readonly topics: Topics,
    private readonly logDir: string,
  ) {}

  async start(): Promise<void> {
    const instance = ++this.instances;
    const env = pipelineEnv(this.stack, this.topics, await freePort(), {
      MAILBOX_RADAR_KAFKA__SESSION_TIMEOUT_MS: '6000',
      MAILBOX_RADAR_LOG__LEVEL: 'debug', // its commits, for the diagnosis of a failure
    });
    const p = startPipeline(env);
    this.current = p;
    void p.exit.then((code) => {
      writeFileSync(join(this.logDir, `instance-${instance}.log`), p.output());
      if (this.killing || this.stopped || this.current !== p) return;
      this.exits.push({ instance, code });
      void sleep(1_000).then(async () => {
        if (!this.stopped && this.current === p) await this.start();
      });
    });
  }

  /** Records each instance counted as late, read just before it is killed or stopped. */
  late = 0;

  private async countLate(p: RunningPipeline): Promise<void> {
    try {
      this.late += await metric(p, 'mailbox_radar_late_records_total');
    } catch {
      // not listening (yet): it has read nothing
    }
  }

  async kill(): Promise<void> {
    this.killing = true;
    const p = this.current;
    await this.countLate(p);
    p.process.kill('SIGKILL');
    await p.exit;
    this.killing = false;
    await this.start();
  }

  /** Waits until the current instance (whichever it is by then) answers /readyz. */
  async ready(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`http://127.0.0.1:${this.current.port}/readyz`)).ok) return;
      } catch {
        // starting
      }
      await sleep(100);
    }
    throw new Error(`no instance ready within ${timeoutMs} ms (logs in ${this.logDir})`);
  }

  /** SIGTERM to the current instance; its exit code. */
  async stop(): Promise<number | null> {
    await this.countLate(this.current);
    this.stopped = true;
    this.current.process.kill('SIGTERM');
    return this.current.exit;
  }

  kill9(): void {
    this.stopped = true;
    this.current?.process.kill('SIGKILL');
  }
}

test(
  'chaos: 20 kills, a broker and a registry restart; every expected alert, duplicates with the same id, nothing else',
  {
    timeout: 600_000,
  },
  async (t) => {
    const stack = await requireStack(t);
    if (!stack) return;
    const cannot = await restartable(stack);
    if (cannot !== undefined)
      return skipOrFail(t, `restarts only a stack that scripts/stack.sh started: ${cannot}`);
    const random = new Random(SEED);
    const logDir = join(tmpdir(), `mailbox-radar-chaos-${SEED}-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    console.log(`chaos: seed ${SEED} (RADAR_CHAOS_SEED=${SEED} replays it); logs in ${logDir}`);

    const input = chaosInput(random.fork('input'), {
      segments: SEGMENTS,
      ownerRecords: OWNER_RECORDS,
      start: Date.now() - 6 * 24 * 3_600_000,
    });
    const expected = expectedAlerts(defaultConfig().detection, input.segments.flat());

    const topics = uniqueTopics();
    const { admin, cleanup } = await createTopics(stack, allTopics(topics), 3);
    t.after(cleanup);

    // The schedule: 20 kills, the two restarts at random places among them (not first: something runs).
    const schedule = Array.from({ length: KILLS }, () => 'kill' as string);
    const events = random.fork('schedule');
    for (const restart of ['restart-kafka', 'restart-registry'])
      schedule.splice(events.int(1, schedule.length), 0, restart);

    const supervisor = new Supervisor(stack, topics, logDir);
    t.after(() => supervisor.kill9());
    await supervisor.start();

    // Activity flows in during the whole schedule: segment i once i/SEGMENTS of the events are done.
    const producer = kafkaFor(stack).producer({ idempotent: true, retry: { retries: 10 } });
    await producer.connect();
    t.after(() => producer.disconnect());
    // Each record sent to the partition the default partitioner gives its key, so that its offset is
    // known: a failure names the offsets of the alert's records beside the offsets the instances committed.
    const schemaId = await new RegistryClient({ url: stack.registryUrl }).registerValueSchema(
      topics.activity,
      activitySchema,
    );
    const where = new Map<string, { partition: number; offset: number }>();
    const send = async (records: ExchangeMailboxActivity[]) => {
      const messages = records.map((r) => ({
        key: r.mailbox_guid,
        value: frame(schemaId, activityType.toBuffer(r)),
        partition: partitionOfKey(r.mailbox_guid ?? '', 3),
      }));
      const sent = await producer.send({ topic: topics.activity, acks: -1, messages });
      for (const { partition, baseOffset } of sent) {
        let offset = Number(baseOffset);
        messages.forEach((m, i) => {
          if (m.partition === partition) where.set(records[i]!.id, { partition, offset: offset++ });
        });
      }
    };
    let done = 0;
    let restarting: Promise<unknown> | undefined; // the producer waits out stack restarts
    const pace = random.fork('producer');
    const producing = (async () => {
      for (let s = 0; s < input.segments.length; s++) {
        const due = s < SEGMENTS ? Math.floor((s * schedule.length) / SEGMENTS) : schedule.length;
        while (done < due) await sleep(100);
        await sleep(pace.int(0, 1_000));
        const records = input.segments[s]!;
        for (let i = 0; i < records.length; i += 500) {
          while (restarting) await restarting;
          await send(records.slice(i, i + 500));
        }
      }
    })();
    producing.catch(() => undefined); // awaited below; a failure there fails the test

    const moments = random.fork('moments');
    const restarts: string[] = [];
    let kills = 0;
    for (const event of schedule) {
      // A random moment: mostly soon after the instance has caught up (a backlog in flight), sometimes
      // during its start-up and join.
      if (event === 'kill' && moments.chance(0.25)) await sleep(moments.int(200, 5_000));
      else {
        await supervisor.ready();
        await sleep(Math.floor(moments.next() ** 2 * 3_000));
      }
      if (event === 'kill') {
        await supervisor.kill();
        kills++;
      } else {
        restarting = run(STACK_SH, [event], { env: stackShEnv(stack), timeout: 180_000 });
        await restarting;
        restarting = undefined;
        restarts.push(event);
      }
      done++;
    }
    await producing;

    // Drain: committed offsets reach the end once the last segment has moved the watermark past everything.
    await supervisor.ready();
    const ends = await admin.fetchTopicOffsets(topics.activity);
    const deadline = Date.now() + 90_000;
    let drained = false;
    while (!drained && Date.now() < deadline) {
      const [committed] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.activity] });
      drained = ends.every(
        (end) => committed!.partitions.find((c) => c.partition === end.partition)?.offset === end.offset,
      );
      if (!drained) await sleep(500);
    }
    const delivered = await readAlerts(stack, topics, {
      want: expected.length,
      timeoutMs: 60_000,
      quietMs: 5_000,
    });
    const exitCode = await supervisor.stop();
    const c = compareAlerts(expected, delivered, topics.alerts);
    const figures = [
      `seed ${SEED}`,
      `records ${input.records}`,
      `kills ${kills}`,
      `restarts ${restarts.join(', ')}`,
      `instances ${supervisor.instances}`,
      `exits on their own ${supervisor.exits.length}${supervisor.exits.length ? ` (${supervisor.exits.map((e) => `#${e.instance}: ${e.code}`).join(', ')})` : ''}`,
      `offsets committed to the end ${drained ? 'yes' : 'no'}`,
      `records counted late ${supervisor.late}`,
      `alerts expected ${c.expected}`,
      `found ${c.found}`,
      `missing ${c.missing.length}`,
      `delivered twice ${c.deliveredTwice}`,
      `unexpected ${c.unexpected.length}`,
      `messages ${c.messages}`,
    ];
    console.log(`chaos: ${figures.join('; ')}`);
    // The evidence for a failure: where the alert's records lie, which instance published it, and the
    // last offset each instance committed on that partition before it died.
    const logs = Array.from({ length: supervisor.instances }, (_, i) => {
      try {
        return readFileSync(join(logDir, `instance-${i + 1}.log`), 'utf8');
      } catch {
        return '';
      }
    });
    const commits = logs.map(commitsInLog);
    const explain = (alert: MailboxAccessAlert) => {
      const ids = alert.sample_record_ids;
      const at = (id: string) => {
        const w = where.get(id);
        return w ? `${id}@p${w.partition}:${w.offset}` : id;
      };
      const partition = where.get(ids[0] ?? '')?.partition;
      const publishedBy = logs.flatMap((log, i) => (log.includes(alert.alert_id) ? [`#${i + 1}`] : []));
      const last = commits.flatMap((byPartition, i) => {
        const list = partition === undefined ? undefined : byPartition.get(partition);
        return list?.length ? [`#${i + 1} ${list[list.length - 1]}`] : [];
      });
      return `${alert.rule} ${alert.alert_id} ${alert.mailbox_guid} ${alert.actor_user_id} (${alert.event_count} events): records ${ids.map(at).join(' ')}; published by ${publishedBy.join(', ') || 'none'}; last commit on p${partition} per instance: ${last.join(', ')}`;
    };
    for (const a of c.missing) console.log(`chaos: missing ${explain(a)}`);
    for (const d of c.unexpected) {
      console.log(`chaos: unexpected on ${d.topic}: ${explain(d.alert)}`);
      const twin = expected.find(
        (a) =>
          a.rule === d.alert.rule &&
          a.mailbox_guid === d.alert.mailbox_guid &&
          a.actor_user_id === d.alert.actor_user_id,
      );
      if (twin) console.log(`chaos:   the expected alert for that key: ${explain(twin)}`);
    }

    assert.equal(c.missing.length, 0, `expected alerts missing (seed ${SEED}, logs in ${logDir})`);
    assert.equal(c.unexpected.length, 0, `unexpected alerts (seed ${SEED}, logs in ${logDir})`);
    assert.deepEqual(supervisor.exits, [], 'no instance exits on its own through kills and restarts');
    assert.equal(exitCode, 0, 'the last instance stops cleanly on SIGTERM');
  },
);
