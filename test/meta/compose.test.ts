/**
 * docker-compose.yml (issue 9, operations): the pipeline service scales to N replicas in one consumer group
 * (`docker compose up --scale pipeline=3`), and a real compose implementation accepts the file. No Docker
 * engine runs here; `docker-compose config` (Debian's docker-compose 1.29) parses and validates without one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { skipOrFail } from '../support/stack.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const FILE = join(ROOT, 'docker-compose.yml');
const run = promisify(execFile);

interface Service {
  container_name?: string;
  ports?: (string | number | { published?: unknown })[];
  healthcheck?: { test?: unknown };
}

function services(): Record<string, Service> {
  return (parse(readFileSync(FILE, 'utf8')) as { services: Record<string, Service> }).services;
}

/** A published host port that a second replica would also want: "9464:9464", "127.0.0.1:9464:9464", {published}. */
function fixedHostPort(port: string | number | { published?: unknown }): boolean {
  if (typeof port === 'object') return port.published !== undefined && port.published !== '';
  const parts = String(port).split(':');
  return parts.length >= 2 && parts[parts.length - 2] !== '';
}

test('the pipeline scales: no container_name, no fixed host port, its health port published for each replica', () => {
  const pipeline = services().pipeline;
  assert.ok(pipeline, 'a pipeline service');
  assert.equal(pipeline.container_name, undefined, 'a fixed container_name allows one replica');
  const ports = pipeline.ports ?? [];
  assert.deepEqual(ports.filter(fixedHostPort), [], 'a fixed host port collides on the second replica');
  assert.ok(
    ports.some((port) => String(port).split(':').pop() === '9464'),
    'health and metrics (9464) published, on a port the host picks',
  );
  assert.ok(pipeline.healthcheck?.test, 'a health check per replica');
});

test('fixedHostPort: which port forms pin a host port', () => {
  assert.equal(fixedHostPort('9464:9464'), true);
  assert.equal(fixedHostPort('127.0.0.1:9464:9464'), true);
  assert.equal(fixedHostPort({ published: 9464 }), true);
  assert.equal(fixedHostPort('9464'), false);
  assert.equal(fixedHostPort(9464), false);
  assert.equal(fixedHostPort('127.0.0.1::9464'), false);
});

test('docker-compose config (a real compose implementation) accepts the file', async (t) => {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status !== 0)
    return skipOrFail(t, 'no docker-compose on PATH (apt-get install docker-compose; .ci/run installs it)');
  const { stderr } = await run('docker-compose', ['-f', FILE, 'config', '-q'], { timeout: 30_000 }).catch(
    (error: { stderr?: string; message: string }) => {
      throw new Error(`docker-compose config rejects docker-compose.yml:\n${error.stderr ?? error.message}`);
    },
  );
  assert.equal(stderr.trim(), '', 'no warnings either');
});
