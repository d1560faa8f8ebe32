import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaFor } from '../support/stack.js';
import { burst, minutes } from '../support/records.js';
import {
  freePort,
  metric,
  pipelineEnv,
  pipelineTopics,
  produceActivity,
  readAlerts,
  waitFor,
  startReady,
} from '../support/pipeline.js';

test('a rebalance hands partitions over: the new owner rebuilds state from committed offsets and alerts', async (t) => {
  const given = await pipelineTopics(t, 3);
  if (!given) return;
  const { stack, topics } = given;
  const start = Date.now() - minutes(30);
  // Six mailboxes, so that each of the two instances owns some of them.
  const bursts = Array.from({ length: 6 }, (_, i) =>
    burst(`rb${i}`, 20, start, 5_000, {
      actor: `eve${i}@contoso.com`,
      owner: `vip${i}@contoso.com`,
      mailbox: `mbx-rb-${i}`,
    }),
  );
  const a = await startReady(t, pipelineEnv(stack, topics, await freePort()));
  const b = await startReady(t, pipelineEnv(stack, topics, await freePort()));
  await waitFor(
    'both instances own partitions',
    async () => (await metric(a, 'mailbox_radar_rebalances_total')) >= 2,
  );

  // The first half of every burst is read by whichever instance owns its partition…
  await produceActivity(
    stack,
    kafkaFor(stack),
    topics.activity,
    bursts.flatMap((r) => r.slice(0, 10)),
  );
  await waitFor(
    'the first halves consumed',
    async () =>
      (await metric(a, 'mailbox_radar_records_consumed_total')) +
        (await metric(b, 'mailbox_radar_records_consumed_total')) ===
      60,
  );
  assert.ok((await metric(b, 'mailbox_radar_records_consumed_total')) > 0, 'b read some of them');
  // …then b leaves; a takes its partitions over and must rebuild b's windows by re-reading.
  b.process.kill('SIGTERM');
  assert.equal(await b.exit, 0);
  await produceActivity(
    stack,
    kafkaFor(stack),
    topics.activity,
    bursts.flatMap((r) => r.slice(10)),
  );

  const alerts = await readAlerts(stack, topics, { want: 6, timeoutMs: 60_000, quietMs: 3_000 });
  const mailboxes = new Set(alerts.map((x) => x.alert.mailbox_guid));
  assert.equal(mailboxes.size, 6, `alerts for ${[...mailboxes].join(', ')}`);
  const ids = new Map<string, string>();
  for (const x of alerts) {
    const seen = ids.get(x.alert.mailbox_guid!);
    assert.ok(seen === undefined || seen === x.alert.alert_id, 'a re-emitted alert keeps its alert_id');
    ids.set(x.alert.mailbox_guid!, x.alert.alert_id);
  }
  a.process.kill('SIGTERM');
  assert.equal(await a.exit, 0);
});
