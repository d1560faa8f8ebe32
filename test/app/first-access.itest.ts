/**
 * Issue 10 in `run`: first_access runs on the mailbox side, and its state — each (mailbox, actor) pair's
 * last-seen time and when learning started — lives in compacted changelog topics partitioned like the
 * activity topic, restored after kill -9: a known pair is not re-alerted, learning does not start again. A
 * pair out of the lookback is forgotten with a tombstone in its own partition. Policies apply in `run` too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEARNING_STORE, SEEN_STORE } from '../../src/detect/first-access.js';
import { changelogTopic } from '../../src/kafka/changelog.js';
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
  readTopics,
  waitFor,
  startReady,
} from '../support/pipeline.js';

const mailboxOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** `actor` opens user n's mailbox at `time` (a delegate, same organization). */
function open(actor: string, n: number, time: number): ExchangeMailboxActivity {
  return fullActivity(0, {
    id: `${actor}-${n}-${time}`,
    creation_time: time,
    user_id: actor,
    logon_user_sid: `S-1-5-21-${actor.length}${actor.charCodeAt(0)}`,
    logon_user_display_name: actor,
    mailbox_guid: mailboxOf(n),
    mailbox_owner_upn: `user${n}@contoso.com`,
    mailbox_owner_sid: `S-1-5-21-${1000 + n}`,
    mailbox_owner_master_account_sid: null,
    external_access: false,
  });
}

test('10.2: first_access in run — state survives kill -9, expiry tombstones its own partition; policies apply', async (t) => {
  const given = await pipelineTopics(t, 3);
  if (!given) return;
  const { stack, topics, admin } = given;
  const env = pipelineEnv(stack, topics, await freePort(), {
    MAILBOX_RADAR_DETECTION__RULES__FIRST_ACCESS__LEARN_FOR: '30m',
    MAILBOX_RADAR_DETECTION__RULES__FIRST_ACCESS__LOOKBACK: '3h',
    MAILBOX_RADAR_DETECTION__POLICIES: JSON.stringify([
      {
        name: 'executives',
        match: { mailboxes: ['user1@contoso.com'] },
        rules: { firstAccess: { severity: 'high' } },
      },
      {
        name: 'helpdesk',
        match: { actors: ['adm-*@contoso.com'] },
        rules: { firstAccess: { enabled: false } },
      },
    ]),
    MAILBOX_RADAR_PIPELINE__PARTITION_IDLE_MS: '2000',
  });
  const start = Date.now() - minutes(360);
  const learner = open('learner@contoso.com', 0, start);

  const first = await startReady(t, env);
  // The deployment's first access: learning starts here (before the rest is read, whatever the partitions).
  await produceActivity(stack, kafkaFor(stack), topics.activity, [learner]);
  await waitFor(
    'the first access decoded',
    async () => (await metric(first, 'mailbox_radar_records_decoded_total')) >= 1,
  );
  await produceActivity(stack, kafkaFor(stack), topics.activity, [
    open('eve@contoso.com', 1, start + minutes(40)), // after learning, an executive's mailbox: high
    open('adm-joe@contoso.com', 2, start + minutes(41)), // the helpdesk: off by policy
    open('carol@contoso.com', 3, start + minutes(200)),
    open('eve@contoso.com', 1, start + minutes(200)), // within the lookback: silent, remembered anew
    // 310 minutes in: the watermark (stream time − 2 h) passes 0 + 3 h, so the learner's pair expires.
    open('dave@contoso.com', 4, start + minutes(310)),
  ]);
  const before = await readAlerts(stack, topics, { want: 3, timeoutMs: 60_000, quietMs: 3_000 });
  assert.deepEqual(
    before
      .map((a) => `${a.alert.rule} ${a.alert.actor_user_id} ${a.alert.severity} ${a.alert.policy}`)
      .sort(),
    [
      'first_access carol@contoso.com low null',
      'first_access dave@contoso.com low null',
      'first_access eve@contoso.com high executives',
    ],
    first.output().slice(-4_000),
  );

  // The learner's pair: written with its record, then a tombstone on expiry, both in the partition of its
  // mailbox's records (the activity topic's), so compaction deletes it and no restore brings it back.
  const learnerKey = `${mailboxOf(0)}\nlearner@contoso.com`;
  const seenTopic = changelogTopic(topics.groupId, SEEN_STORE);
  let entries: { partition: number; value: Buffer | null }[] = [];
  await waitFor(
    "the learner's pair forgotten",
    async () => {
      entries = (await readTopics(stack, [seenTopic], { timeoutMs: 5_000, quietMs: 1_000 }))
        .filter((m) => m.message.key?.toString() === learnerKey)
        .map((m) => ({ partition: m.partition, value: m.message.value }));
      return entries.at(-1)?.value === null;
    },
    60_000,
  );
  const [activity] = (await readTopics(stack, [topics.activity], { want: 6, quietMs: 1_000 })).filter(
    (m) => m.message.key?.toString() === mailboxOf(0),
  );
  assert.ok(activity !== undefined);
  assert.deepEqual(
    entries.map((e) => e.partition),
    entries.map(() => activity.partition),
    'value and tombstone in the partition of the mailbox',
  );
  assert.ok(entries.length >= 2 && entries[0]!.value !== null);

  await waitFor('the commits pass every record so far', async () => {
    const [offsets] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.activity] });
    return (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) >= 6;
  });
  first.process.kill('SIGKILL');
  await first.exit;

  // After the restart: known pairs again (silent), a new pair (alert), the forgotten learner (new again).
  const second = await startReady(t, env, [], 60_000);
  const after = [
    open('eve@contoso.com', 1, start + minutes(320)), // last seen at 200: known
    open('carol@contoso.com', 3, start + minutes(321)), // last seen at 200: known
    open('adm-joe@contoso.com', 5, start + minutes(322)), // still off by policy
    open('erin@contoso.com', 5, start + minutes(322)), // new
    open('learner@contoso.com', 0, start + minutes(323)), // forgotten: new again
  ];
  await produceActivity(stack, kafkaFor(stack), topics.activity, after);
  await waitFor(
    'the new reads decoded',
    async () => (await metric(second, 'mailbox_radar_records_decoded_total')) >= after.length,
  );
  const all = await readAlerts(stack, topics, { want: 5, timeoutMs: 60_000, quietMs: 4_000 });
  const ids = new Map<string, Set<string>>();
  for (const { alert } of all) {
    const pair = `${alert.actor_user_id} → ${alert.mailbox_owner_upn}`;
    ids.set(pair, (ids.get(pair) ?? new Set()).add(alert.alert_id));
  }
  assert.deepEqual(
    [...ids.keys()].sort(),
    [
      'carol@contoso.com → user3@contoso.com',
      'dave@contoso.com → user4@contoso.com',
      'erin@contoso.com → user5@contoso.com',
      'eve@contoso.com → user1@contoso.com',
      'learner@contoso.com → user0@contoso.com',
    ],
    second.output().slice(-4_000),
  );
  assert.ok(
    [...ids.values()].every((set) => set.size === 1),
    'no known pair alerted again',
  );
  assert.match(second.output(), new RegExp(`"store":"${SEEN_STORE}".*"state store restored"`));
  assert.match(second.output(), new RegExp(`"store":"${LEARNING_STORE}","partitions":\\[0,1,2\\],"keys":1`));
  second.process.kill('SIGTERM');
  assert.equal(await second.exit, 0);
});
