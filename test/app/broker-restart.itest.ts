import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createTopics, kafkaFor, requireStack, skipOrFail } from '../support/stack.js';
import { burst, minutes } from '../support/records.js';
import {
  allTopics,
  freePort,
  metric,
  pipelineEnv,
  produceActivity,
  readAlerts,
  uniqueTopics,
  waitFor,
  startReady,
} from '../support/pipeline.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const KAFKA_PID = `${process.env.RADAR_STACK_DIR ?? `${ROOT}.stack`}/pids/kafka.pid`;

test('the pipeline rides out a broker restart in the middle of a burst and still alerts once', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  if (stack.source !== 'local' || !existsSync(KAFKA_PID))
    return skipOrFail(t, 'restarts only a broker that scripts/stack.sh started');
  const topics = uniqueTopics();
  const { cleanup } = await createTopics(stack, allTopics(topics), 1);
  t.after(cleanup);
  const records = burst('restart', 24, Date.now() - minutes(30), 5_000, {
    actor: 'eve@contoso.com',
    owner: 'ceo@contoso.com',
    mailbox: 'mbx-restart',
  });
  const pipeline = await startReady(t, pipelineEnv(stack, topics, await freePort()));
  await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(0, 10));
  await waitFor(
    'the first part consumed',
    async () => (await metric(pipeline, 'mailbox_radar_records_consumed_total')) === 10,
  );

  // Stop the broker (SIGTERM, as an orchestrator would), wait, start it again.
  const pid = Number(readFileSync(KAFKA_PID, 'utf8'));
  process.kill(pid, 'SIGTERM');
  await waitFor(
    'the broker gone',
    async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    60_000,
  );
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(pipeline.process.exitCode, null, 'the pipeline keeps running while the broker is away');
  execFileSync(`${ROOT}scripts/stack.sh`, ['up'], { stdio: 'ignore', timeout: 120_000 });

  await produceActivity(stack, kafkaFor(stack), topics.activity, records.slice(10));
  const alerts = await readAlerts(stack, topics, { want: 1, timeoutMs: 90_000, quietMs: 3_000 });
  assert.equal(alerts.length, 1, 'one alert for the burst, not lost and not doubled');
  assert.equal(alerts[0]!.alert.event_count, 20);
  assert.equal(pipeline.process.exitCode, null);
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0);
});
