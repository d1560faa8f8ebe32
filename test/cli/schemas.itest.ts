import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deleteSubjects, runCli, stackEnv } from '../simulate/support.js';
import { kafkaFor, requireStack, uniqueName } from '../support/stack.js';

test('schemas register --create-topics: topics and subjects the first time, "already registered" with the same ids the second', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topics = {
    MAILBOX_RADAR_TOPICS__ACTIVITY: uniqueName('it.schemas.activity'),
    MAILBOX_RADAR_TOPICS__DEAD_LETTER: uniqueName('it.schemas.dlq'),
    MAILBOX_RADAR_TOPICS__ALERTS__NON_OWNER_BURST: uniqueName('it.schemas.a1'),
    MAILBOX_RADAR_TOPICS__ALERTS__CROSS_DOMAIN_BURST: uniqueName('it.schemas.a2'),
    MAILBOX_RADAR_TOPICS__ALERTS__MAILBOX_SWEEP: uniqueName('it.schemas.a3'),
  };
  const names = Object.values(topics);
  const subjects = names.filter((n) => !n.includes('dlq')).map((n) => `${n}-value`);
  const admin = kafkaFor(stack).admin();
  await admin.connect();
  t.after(async () => {
    await admin.deleteTopics({ topics: names }).catch(() => undefined);
    await admin.disconnect();
    await deleteSubjects(stack, subjects);
  });
  const env = stackEnv(stack, { ...topics, MAILBOX_RADAR_KAFKA__TOPIC_PARTITIONS: '2' });

  const first = await runCli(['schemas', 'register', '--create-topics'], { env });
  assert.equal(first.code, 0, first.stderr);
  for (const name of names)
    assert.match(first.stdout, new RegExp(`topic ${name} created \\(2 partitions\\)`));
  const ids = new Map<string, string>();
  for (const subject of subjects) {
    const match = new RegExp(`${subject} → id (\\d+) \\(new\\)`).exec(first.stdout);
    assert.ok(match, `${subject} registered as new:\n${first.stdout}`);
    ids.set(subject, match[1]!);
  }
  const metadata = await admin.fetchTopicMetadata({ topics: names });
  assert.ok(metadata.topics.every((m) => m.partitions.length === 2));

  const second = await runCli(['schemas', 'register', '--create-topics'], { env });
  assert.equal(second.code, 0, second.stderr);
  for (const name of names) assert.match(second.stdout, new RegExp(`topic ${name} exists`));
  for (const subject of subjects)
    assert.match(second.stdout, new RegExp(`${subject} → id ${ids.get(subject)} \\(already registered\\)`));

  // The activity subject holds the activity schema, the alert subjects the alert schema.
  const base = stack.registryUrl.replace(/\/+$/, '');
  const latest = async (subject: string) =>
    JSON.parse(
      ((await (await fetch(`${base}/subjects/${subject}/versions/latest`)).json()) as { schema: string })
        .schema,
    ) as {
      name: string;
    };
  assert.equal((await latest(subjects[0]!)).name, 'ExchangeMailboxActivity');
  assert.equal((await latest(subjects[1]!)).name, 'MailboxAccessAlert');
});

test('schemas register: an unreachable registry is one clear line and exit code 1', async () => {
  const run = await runCli(['schemas', 'register'], {
    env: { SCHEMA_REGISTRY_URL: 'http://127.0.0.1:59999', MAILBOX_RADAR_REGISTRY__RETRIES: '0' },
  });
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /^mailbox-radar schemas register: schema registry http:\/\/127\.0\.0\.1:59999 unavailable: .*ECONNREFUSED/,
  );
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});
