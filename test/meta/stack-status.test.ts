/**
 * `make stack-status` (scripts/stack.sh status) says what runs and what is down, and is no make error when
 * the stack is down (issue 15.6). A private stack directory and ports: the shared stack is not looked at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function privateStack(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'radar-status-'));
  return {
    PATH: process.env.PATH ?? '',
    RADAR_STACK_DIR: dir,
    RADAR_STACK_DOWNLOADS: dir,
    RADAR_KAFKA_PORT: String(await freePort()),
    RADAR_REGISTRY_PORT: String(await freePort()),
  };
}

function run(file: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(file, args, { env, cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('stack status with the stack down: exit 0 (make too), and what is down', async () => {
  const env = await privateStack();
  const status = await run(join(ROOT, 'scripts/stack.sh'), ['status'], env);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(
    status.stdout,
    new RegExp(`^kafka: not running.*no answer on 127\\.0\\.0\\.1:${env.RADAR_KAFKA_PORT}$`, 'm'),
  );
  assert.match(
    status.stdout,
    /^registry: not running.*no answer on http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/m,
  );
  assert.match(status.stdout, /^down: kafka, registry \(make stack-up starts them\)$/m);

  const make = await run('make', ['-s', 'stack-status'], env);
  assert.equal(make.code, 0, make.stdout + make.stderr);
  assert.doesNotMatch(make.stderr, /Error/);
  assert.match(make.stdout, /^down: kafka, registry/m);
});

test('stack status: a broker that answers, not started by the script, and the registry down', async (t) => {
  const env = await privateStack();
  const broker = createServer((socket) => socket.end()).listen(Number(env.RADAR_KAFKA_PORT), '127.0.0.1');
  await new Promise((r) => broker.once('listening', r));
  t.after(() => broker.close());
  const status = await run(join(ROOT, 'scripts/stack.sh'), ['status'], env);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /^kafka: not started by this script; answers on 127\.0\.0\.1:\d+$/m);
  assert.match(status.stdout, /^down: registry \(make stack-up starts it\)$/m);
});
