import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseRecord } from '../../src/detect/parse-record.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activityType } from '../../src/model/schemas.js';
import { toManagementApi } from '../../src/simulate/management-api.js';
import { Simulation } from '../../src/simulate/simulation.js';
import { consumeMessages, decodeAll, deleteSubjects, runCli, stackEnv } from '../simulate/support.js';
import { createTopics, requireStack, uniqueName, type Stack } from '../support/stack.js';

const dir = mkdtempSync(join(tmpdir(), 'mailbox-radar-ingest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Management Activity API records from a small simulated tenant. */
function apiRecords(seed: string, count: number): Record<string, unknown>[] {
  const simulation = new Simulation({
    seed,
    start: Date.UTC(2026, 10, 25, 9),
    rate: 100,
    count,
    attacks: 0,
    duplicates: 0,
  });
  return [...simulation].map((i) => toManagementApi(i.record));
}

/** Ingests `file` onto a fresh topic; returns the decoded records by id, the message keys, and the run. */
async function ingestInto(
  stack: Stack,
  t: { after: (fn: () => Promise<void>) => void },
  file: string,
  expected: number,
  extra: string[] = [],
) {
  const topic = uniqueName('it.ingest');
  const { cleanup } = await createTopics(stack, [topic], 3);
  t.after(async () => {
    await cleanup();
    await deleteSubjects(stack, [`${topic}-value`]);
  });
  const run = await runCli(['ingest', '--input', file, ...extra], {
    env: stackEnv(stack, { MAILBOX_RADAR_TOPICS__ACTIVITY: topic }),
  });
  assert.equal(run.code, 0, run.stderr);
  const messages = await consumeMessages(stack, topic, expected);
  assert.equal(messages.length, expected);
  const records = await decodeAll<ExchangeMailboxActivity>(
    stack,
    activityType,
    messages.map((m) => m.value),
  );
  records.forEach((r, i) =>
    assert.equal(messages[i]!.key?.toString(), r.mailbox_guid, 'keyed by mailbox_guid'),
  );
  return { run, byId: new Map(records.map((r) => [r.id, { ...r }])) };
}

test('ingest: Management Activity API NDJSON → the records on the topic equal parseRecord of the input; bad lines reported by line', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const records = apiRecords('ndjson', 300);
  const lines = records.map((r) => JSON.stringify(r));
  lines.splice(2, 0, '{"Id": "broken", "CreationTime": '); // line 3: not JSON
  const { CreationTime: _dropped, ...noTime } = records[10]!;
  lines.splice(6, 0, JSON.stringify(noTime), ''); // line 7: no CreationTime; line 8 blank
  const file = join(dir, 'audit.ndjson');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const rejects = join(dir, 'rejects.ndjson');

  const { run, byId } = await ingestInto(stack, t, file, 300, ['--rejects', rejects]);
  assert.match(run.stderr, /ingest: line 3: not JSON/);
  assert.match(run.stderr, /ingest: line 7: CreationTime: /);
  assert.match(run.stderr, /done: 302 read, 300 sent to it\.ingest-[^,]+, 2 rejected/);
  for (const input of records) assert.deepEqual(byId.get(input.Id as string), parseRecord(input));

  const written = readFileSync(rejects, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    written.map((w) => w.position),
    [
      { line: 3, index: null },
      { line: 7, index: null },
    ],
  );
  assert.equal(written[0]!.original, '{"Id": "broken", "CreationTime": ');
  assert.deepEqual(written[1]!.original, noTime);
  assert.match(written[1]!.reason as string, /CreationTime/);
});

test('ingest: a content-blob file (one pretty-printed JSON array) → each element; a bad element reported as line [index]', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const records = apiRecords('blob', 250);
  const blob: unknown[] = [...records];
  blob.splice(4, 0, { ...records[0], Id: 'bad-type', RecordType: 'NotAType' });
  const file = join(dir, 'blob.json');
  writeFileSync(file, JSON.stringify(blob, null, 2));
  const text = readFileSync(file, 'utf8').split('\n');
  // The element's first line: the `{` above its Id (1-based).
  const badLine =
    text
      .slice(
        0,
        text.findIndex((l) => l.includes('"bad-type"')),
      )
      .lastIndexOf('  {') + 1;

  const { run, byId } = await ingestInto(stack, t, file, 250);
  assert.match(run.stderr, new RegExp(`ingest: line ${badLine} \\[4\\]: RecordType: `));
  assert.match(run.stderr, /done: 251 read, 250 sent to .*, 1 rejected/);
  for (const input of records) assert.deepEqual(byId.get(input.Id as string), parseRecord(input));
});

test('ingest: a missing input file is exit code 2 with one line', async () => {
  const run = await runCli(['ingest', '--input', join(dir, 'nope.json')]);
  assert.equal(run.code, 2);
  assert.equal(run.stderr, `mailbox-radar: input ${join(dir, 'nope.json')}: no such file\n`);
});
