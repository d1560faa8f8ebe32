/**
 * One stack per test run (issue 8.8): `make test` chooses once (scripts/with-stack.sh) and tells the run
 * by KAFKA_BROKERS / SCHEMA_REGISTRY_URL; the harness (test/support/stack.ts) never starts a second one.
 * No Docker engine runs here, so the Docker path is checked with a fake `docker` on PATH that records the
 * calls, and the local path with fake listeners on private ports (a fake `java`: nothing is started).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { chooseStack } from '../support/stack.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

test('chooseStack: the stack given by env, else one that answers locally, else containers, never two', () => {
  const cases = [
    [{ envSet: true, localAnswers: false, dockerAnswers: true }, 'env'],
    [{ envSet: true, localAnswers: true, dockerAnswers: true }, 'env'],
    [{ envSet: false, localAnswers: true, dockerAnswers: true }, 'local'],
    [{ envSet: false, localAnswers: true, dockerAnswers: false }, 'local'],
    [{ envSet: false, localAnswers: false, dockerAnswers: true }, 'testcontainers'],
    [{ envSet: false, localAnswers: false, dockerAnswers: false }, 'none'],
  ] as const;
  for (const [seen, want] of cases) assert.equal(chooseStack(seen), want, JSON.stringify(seen));
});

/** A directory with fake `docker` and `java` that log their arguments; `docker info` exits with dockerInfo. */
function fakeTools(dockerInfo: number): { path: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'radar-fake-'));
  const log = join(dir, 'calls.log');
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >>"${log}"\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  tool('docker', `[ "$1" = info ] && exit ${dockerInfo}\nexit 0`);
  tool('java', 'exit 0');
  return {
    path: `${dir}:${process.env.PATH}`,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
  };
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Runs scripts/with-stack.sh with only the given environment; returns what the command saw. */
async function withStack(env: Record<string, string>): Promise<Record<string, string>> {
  const { stdout } = await run(join(ROOT, 'scripts/with-stack.sh'), ['env'], { env, timeout: 60_000 });
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

async function privateStack(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'radar-stack-'));
  return {
    RADAR_STACK_DIR: dir,
    RADAR_STACK_DOWNLOADS: dir,
    RADAR_KAFKA_PORT: String(await freePort()),
    RADAR_REGISTRY_PORT: String(await freePort()),
    RADAR_STACK_WAIT_SECONDS: '10',
  };
}

test('with-stack: KAFKA_BROKERS and SCHEMA_REGISTRY_URL set → that stack, nothing started', async () => {
  const tools = fakeTools(0);
  const seen = await withStack({
    PATH: tools.path,
    ...(await privateStack()),
    KAFKA_BROKERS: 'kafka.example:9092',
    SCHEMA_REGISTRY_URL: 'http://registry.example:8081',
  });
  assert.equal(seen.KAFKA_BROKERS, 'kafka.example:9092');
  assert.equal(seen.SCHEMA_REGISTRY_URL, 'http://registry.example:8081');
  assert.deepEqual(tools.calls(), []);
});

test('with-stack: a Docker engine answers and no local stack → docker compose up --wait, its addresses', async () => {
  const tools = fakeTools(0);
  const seen = await withStack({ PATH: tools.path, ...(await privateStack()) });
  assert.deepEqual(tools.calls(), [
    'docker info',
    `docker compose -f ${ROOT}docker-compose.yml up -d --wait kafka schema-registry`,
  ]);
  assert.equal(seen.KAFKA_BROKERS, '127.0.0.1:9092');
  assert.equal(seen.SCHEMA_REGISTRY_URL, 'http://127.0.0.1:8081');
});

test('with-stack: the local stack answers → it is used, Docker is not even asked', async (t) => {
  const tools = fakeTools(0);
  const env = await privateStack();
  // Downloads already there, so scripts/stack.sh up fetches nothing; the fake java starts nothing.
  for (const name of ['kafka-libs', 'apicurio']) {
    mkdirSync(join(env.RADAR_STACK_DOWNLOADS!, name));
    writeFileSync(join(env.RADAR_STACK_DOWNLOADS!, name, '.complete'), '');
  }
  const servers: Server[] = [
    createServer((socket) => socket.end()).listen(Number(env.RADAR_KAFKA_PORT), '127.0.0.1'),
    createHttpServer((req, res) => {
      res.writeHead(req.url === '/apis/ccompat/v7/subjects' ? 200 : 404).end('[]');
    }).listen(Number(env.RADAR_REGISTRY_PORT), '127.0.0.1'),
  ];
  t.after(() => servers.forEach((server) => server.close()));
  const seen = await withStack({ PATH: tools.path, ...env });
  assert.equal(seen.KAFKA_BROKERS, `127.0.0.1:${env.RADAR_KAFKA_PORT}`);
  assert.equal(seen.SCHEMA_REGISTRY_URL, `http://127.0.0.1:${env.RADAR_REGISTRY_PORT}/apis/ccompat/v7`);
  assert.deepEqual(
    tools.calls().filter((call) => call.startsWith('docker')),
    [],
  );
});

test('docker-compose.yml serves kafka and schema-registry where with-stack says, with health checks for --wait', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { ports?: string[]; healthcheck?: { test?: unknown } }>;
  };
  assert.deepEqual(compose.services.kafka?.ports, ['9092:9092']);
  assert.deepEqual(compose.services['schema-registry']?.ports, ['8081:8081']);
  assert.ok(compose.services.kafka?.healthcheck?.test);
  assert.ok(compose.services['schema-registry']?.healthcheck?.test);
});
