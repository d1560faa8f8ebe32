/**
 * Issue 14 in `run`: app-only reads go behind the repartition keyed by the app (app_mailbox_sweep,
 * first_app_access), and first_app_access's state — the apps seen and when learning started — lives in a
 * changelog topic, restored after kill -9: a known app is not re-alerted, learning does not start again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { kafkaFor } from '../support/stack.js';
import { fullActivity, minutes } from '../support/records.js';
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

/** An app-only read of mailbox n (UserType 5, LogonType 0, the owner's ids in UserId and the SIDs). */
function appRead(app: string, n: number, time: number): ExchangeMailboxActivity {
  return fullActivity(0, {
    id: `${app}-${n}-${time}`,
    creation_time: time,
    user_type: 5,
    user_key: app,
    app_id: '00000003-0000-0000-c000-000000000000',
    client_app_id: app,
    user_id: `user${n}@contoso.com`,
    logon_type: 0,
    internal_logon_type: 0,
    logon_user_sid: `S-1-5-21-${1000 + n}`,
    mailbox_guid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    mailbox_owner_upn: `user${n}@contoso.com`,
    mailbox_owner_sid: `S-1-5-21-${1000 + n}`,
    mailbox_owner_master_account_sid: null,
    client_info_string: 'Client=REST;Client=RESTSystem;;',
    mail_access_type: 'Bind',
    external_access: false,
  });
}

test('14: app reads in run — app_mailbox_sweep behind the repartition; first_app_access state survives kill -9', async (t) => {
  const given = await pipelineTopics(t, 3);
  if (!given) return;
  const { stack, topics, admin } = given;
  const env = pipelineEnv(stack, topics, await freePort(), {
    MAILBOX_RADAR_DETECTION__RULES__FIRST_APP_ACCESS__LEARN_FOR: '30m',
    MAILBOX_RADAR_PIPELINE__PARTITION_IDLE_MS: '2000',
  });
  const start = Date.now() - minutes(360);
  const known = 'aaaaaaaa-0000-4000-8000-000000000001';
  const sweeper = 'bbbbbbbb-0000-4000-8000-000000000002';
  const later = 'cccccccc-0000-4000-8000-000000000003';
  // Learning starts with the known app's reads; after 30 minutes a new app sweeps 6 mailboxes.
  const learning = [1, 2].map((n) => appRead(known, n, start + n * 60_000));
  const sweep = Array.from({ length: 6 }, (_, i) =>
    appRead(sweeper, i + 1, start + minutes(40) + i * 30_000),
  );

  const first = await startReady(t, env);
  // The known app again 200 minutes in: event time moves 2 h 20 min past the sweep, so the commits pass
  // every record so far and a restart re-reads none of them — only the changelog can bring the state back.
  const onward = appRead(known, 9, start + minutes(200));
  await produceActivity(stack, kafkaFor(stack), topics.activity, [...learning, ...sweep, onward]);
  // The sweep's open and (event time having moved past it) its close, and first_app_access (one message).
  const before = (await readAlerts(stack, topics, { want: 3, timeoutMs: 60_000, quietMs: 3_000 })).filter(
    (a) => a.alert.revision === 0,
  );
  assert.deepEqual(
    before.map((a) => `${a.alert.rule} ${a.alert.actor_user_id}`).sort(),
    [`app_mailbox_sweep ${sweeper}`, `first_app_access ${sweeper}`],
    first.output().slice(-4_000),
  );
  await waitFor('the commits pass the early reads', async () => {
    const [activity] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.activity] });
    return (activity?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) >= 9;
  });
  first.process.kill('SIGKILL');
  await first.exit;

  // After the restart: the known app again (silent), the sweeper again (silent), and a new app (alert).
  const second = await startReady(t, env, [], 60_000);
  const after = [
    appRead(known, 3, start + minutes(210)),
    appRead(sweeper, 7, start + minutes(211)),
    appRead(later, 8, start + minutes(212)),
  ];
  await produceActivity(stack, kafkaFor(stack), topics.activity, after);
  await waitFor(
    'the new reads decoded',
    async () => (await metric(second, 'mailbox_radar_records_decoded_total')) >= 3,
  );
  const all = await readAlerts(stack, topics, { want: 3, timeoutMs: 60_000, quietMs: 4_000 });
  const distinct = [
    ...new Set(all.map((a) => `${a.alert.rule} ${a.alert.actor_user_id} ${a.alert.alert_id}`)),
  ];
  assert.deepEqual(
    distinct.map((d) => d.split(' ').slice(0, 2).join(' ')).sort(),
    [`app_mailbox_sweep ${sweeper}`, `first_app_access ${sweeper}`, `first_app_access ${later}`],
    'no re-alert of a known app, no second learning period',
  );
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);
});
