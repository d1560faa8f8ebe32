import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseRecord } from '../../src/detect/parse-record.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activityType } from '../../src/model/schemas.js';
import type { Manifest } from '../../src/simulate/simulation.js';
import {
  consumeMessages,
  decodeAll,
  deleteSubjects,
  runCli,
  stackEnv,
  startCli,
} from '../simulate/support.js';
import { createTopics, requireStack, uniqueName } from '../support/stack.js';

const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-simulate-it-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('simulate --count onto a topic: that many records plus the stated duplicates, keyed by mailbox_guid, equal to --output', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topic = uniqueName('it.simulate');
  const { cleanup } = await createTopics(stack, [topic], 3);
  t.after(async () => {
    await cleanup();
    await deleteSubjects(stack, [`${topic}-value`]);
  });
  const args = [
    'simulate',
    '--count',
    '3000',
    '--rate',
    '3000',
    '--seed',
    'it',
    '--start',
    '2026-11-25T09:00:00Z',
    '--duplicates',
    '0.02',
  ];
  const env = stackEnv(stack, { MAILBOX_RADAR_TOPICS__ACTIVITY: topic });
  const manifestFile = join(dir, 'manifest.json');
  const run = await runCli([...args, '--speed', 'max', '--manifest', manifestFile], { env });
  assert.equal(run.code, 0, run.stderr);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  assert.equal(manifest.totals.records, 3000);
  assert.ok(manifest.totals.duplicates > 0);
  assert.match(
    run.stderr,
    new RegExp(`done: 3,000 records \\+ ${manifest.totals.duplicates} duplicates to ${topic}`),
  );

  const messages = await consumeMessages(stack, topic, manifest.totals.messages);
  assert.equal(messages.length, manifest.totals.messages);
  const records = await decodeAll<ExchangeMailboxActivity>(
    stack,
    activityType,
    messages.map((m) => m.value),
  );
  assert.equal(new Set(records.map((r) => r.id)).size, 3000, 'distinct ids');
  records.forEach((r, i) => assert.equal(messages[i]!.key?.toString(), r.mailbox_guid));

  // The same seed and start written as NDJSON: the same records.
  const ndjson = await runCli([...args, '--output', '-'], { env });
  const expected = new Map(
    ndjson.stdout
      .trimEnd()
      .split('\n')
      .map((line) => parseRecord(JSON.parse(line)))
      .map((r) => [r.id, r]),
  );
  for (const record of records) assert.deepEqual({ ...record }, expected.get(record.id));
  for (const id of manifest.attacks.non_owner_burst[0]!.record_ids) assert.ok(expected.has(id));
});

test('simulate in live time: creation_time follows the wall clock; Ctrl-C stops it and still writes the manifest', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const topic = uniqueName('it.simulate-live');
  const { cleanup } = await createTopics(stack, [topic], 1);
  t.after(async () => {
    await cleanup();
    await deleteSubjects(stack, [`${topic}-value`]);
  });
  const manifestFile = join(dir, 'live.json');
  const sim = startCli(
    ['simulate', '--rate', '200', '--duration', '5m', '--attacks', '0', '--manifest', manifestFile],
    {
      env: stackEnv(stack, { MAILBOX_RADAR_TOPICS__ACTIVITY: topic }),
    },
  );
  await sim.stderrIncludes(`onto ${topic}`);
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  sim.child.kill('SIGINT');
  const result = await sim.result;
  assert.equal(result.code, 130, result.stderr);
  assert.match(result.stderr, /simulate: interrupted: /);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  assert.equal(manifest.complete, false);
  assert.ok(
    manifest.totals.messages > 200 && manifest.totals.messages < 1500,
    `${manifest.totals.messages} in ~3s at 200/s`,
  );

  const messages = await consumeMessages(stack, topic, manifest.totals.messages);
  const records = await decodeAll<ExchangeMailboxActivity>(
    stack,
    activityType,
    messages.map((m) => m.value),
  );
  // The apps' history is dated 14 days and 1 day back; everything else follows the wall clock.
  const past = records.filter((r) => r.creation_time < started - 3_600_000);
  assert.equal(past.length, manifest.totals.by_kind.history);
  assert.ok(past.length > 0);
  for (const r of records)
    if (!past.includes(r))
      assert.ok(Math.abs(r.creation_time - started) < 10_000, 'event time is the wall clock');
});
