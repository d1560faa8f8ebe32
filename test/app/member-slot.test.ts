import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemberSlot, processRuns } from '../../src/app/member-slot.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'radar-slot-'));

/** A pid that surely runs no process: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

test('a first start takes slot 0 with no previous member', () => {
  const dir = fresh();
  const slot = MemberSlot.claim(dir, 'radar.group');
  assert.equal(slot.previous, undefined);
  assert.equal(slot.file, join(dir, 'radar.group', 'member-0.json'));
  assert.deepEqual(JSON.parse(readFileSync(slot.file, 'utf8')), { pid: process.pid });
  slot.remember('member-a');
  assert.deepEqual(JSON.parse(readFileSync(slot.file, 'utf8')), { pid: process.pid, memberId: 'member-a' });
});

test('a slot whose process died names the member it left in the group', async () => {
  const dir = fresh();
  const pid = await deadPid();
  assert.equal(processRuns(pid), false);
  mkdirSync(join(dir, 'g'));
  writeFileSync(join(dir, 'g', 'member-0.json'), JSON.stringify({ pid, memberId: 'dead-member' }));
  const slot = MemberSlot.claim(dir, 'g');
  assert.deepEqual(slot.previous, { memberId: 'dead-member', pid });
  assert.equal(slot.file, join(dir, 'g', 'member-0.json'));
});

test('a slot held by a running process is skipped: instances on one host take one slot each', () => {
  const dir = fresh();
  mkdirSync(join(dir, 'g'));
  // The parent of this test process runs.
  writeFileSync(join(dir, 'g', 'member-0.json'), JSON.stringify({ pid: process.ppid, memberId: 'alive' }));
  const slot = MemberSlot.claim(dir, 'g');
  assert.equal(slot.file, join(dir, 'g', 'member-1.json'));
  assert.equal(slot.previous, undefined);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'g', 'member-0.json'), 'utf8')).memberId, 'alive');
});

test('a clean stop frees the slot: the next start removes no one', () => {
  const dir = fresh();
  const first = MemberSlot.claim(dir, 'g', 1_000_000_001);
  first.remember('left-cleanly');
  first.release();
  assert.equal(existsSync(first.file), false);
  assert.deepEqual(readdirSync(dir), [], 'the group directory goes with its last slot');
  const next = MemberSlot.claim(dir, 'g');
  assert.equal(next.previous, undefined);
});

test('an unreadable slot (cut short by a crash) is free; group ids become one safe directory name', () => {
  const dir = fresh();
  mkdirSync(join(dir, 'a_b_.._c'));
  writeFileSync(join(dir, 'a_b_.._c', 'member-0.json'), '{"pid": 12');
  const slot = MemberSlot.claim(dir, 'a/b/../c');
  assert.equal(slot.file, join(dir, 'a_b_.._c', 'member-0.json'));
  assert.equal(slot.previous, undefined);
  assert.deepEqual(readdirSync(dir), ['a_b_.._c']);
});

test('a state directory that cannot be created throws (the pipeline warns and goes on without a slot)', () => {
  const dir = fresh();
  writeFileSync(join(dir, 'file'), '');
  assert.throws(() => MemberSlot.claim(join(dir, 'file'), 'g'), /ENOTDIR|EEXIST/);
});

test('remember never throws: a group directory removed under it (a tmp cleaner) is made again', () => {
  const dir = fresh();
  const slot = MemberSlot.claim(dir, 'g');
  rmSync(join(dir, 'g'), { recursive: true });
  assert.equal(slot.remember('member-b'), true);
  assert.deepEqual(JSON.parse(readFileSync(slot.file, 'utf8')), { pid: process.pid, memberId: 'member-b' });
  // A directory that cannot be made again (a file in its way): false, no exception into kafkajs's join.
  rmSync(join(dir, 'g'), { recursive: true });
  writeFileSync(join(dir, 'g'), '');
  assert.equal(slot.remember('member-c'), false);
});
