/**
 * Issue 8.7 (registry part): the commands work with the registry's bare base URL, as `make stack-up`
 * leaves it (Apicurio serves the Confluent API under /apis/ccompat/v7), and a URL that serves something
 * else is one line saying so and what to try, exit code 2.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { ErrorCodes, RadarError } from '../../src/errors.js';
import { resolveRegistryUrl } from '../../src/kafka/registry-url.js';
import { deleteSubjects, runCli, stackEnv } from '../simulate/support.js';
import { freePort, pipelineEnv, startPipeline, pipelineTopics, startReady } from '../support/pipeline.js';
import { requireStack, uniqueName } from '../support/stack.js';

/** A web server that is not a schema registry: every path answers `status` with an HTML page. */
async function notARegistry(t: TestContext, status: number): Promise<string> {
  const server: Server = createServer((_, res) => {
    res.writeHead(status, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><html><body><h1>Welcome</h1></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const registryConfig = (url: string) => parseConfig({ registry: { url, retries: 1 } }).registry;

test('resolveRegistryUrl: the registry base URL → where it serves the Confluent API, said once', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const api = stack.registryUrl.replace(/\/+$/, '');
  const base = new URL(api).origin;
  const said: string[] = [];
  assert.equal(await resolveRegistryUrl(registryConfig(base), (m) => said.push(m)), api);
  assert.equal(said.length, api === base ? 0 : 1);
  if (api !== base)
    assert.equal(
      said[0],
      `registry.url ${base} serves the Confluent API under /apis/ccompat/v7; using ${api}`,
    );
  said.length = 0;
  assert.equal(await resolveRegistryUrl(registryConfig(`${api}/`), (m) => said.push(m)), api);
  assert.deepEqual(said, [], 'a URL that serves the API is used as it is');
});

test('resolveRegistryUrl: a web server that is no registry → CONFIG_INVALID; nothing listening → REGISTRY_UNAVAILABLE', async (t) => {
  const url = await notARegistry(t, 404);
  await assert.rejects(resolveRegistryUrl(registryConfig(url)), (error: unknown) => {
    assert.ok(error instanceof RadarError);
    assert.equal(error.code, ErrorCodes.CONFIG_INVALID);
    assert.equal(
      error.message,
      `registry.url ${url} does not serve the Confluent schema registry API (GET /subjects answered 404); for Apicurio try ${url}/apis/ccompat/v7`,
    );
    return true;
  });
  await assert.rejects(
    resolveRegistryUrl(registryConfig(`${url}/apis/ccompat/v7`)),
    /does not serve the Confluent schema registry API \(GET \/subjects answered 404\); for Confluent's registry try http:\/\/127\.0\.0\.1:\d+$/,
  );
  const nothing = `http://127.0.0.1:${await freePort()}`;
  await assert.rejects(resolveRegistryUrl(registryConfig(nothing)), (error: unknown) => {
    assert.ok(error instanceof RadarError);
    assert.equal(error.code, ErrorCodes.REGISTRY_UNAVAILABLE);
    assert.match(error.message, /ECONNREFUSED/);
    return true;
  });
});

test('schemas register with the bare base URL of the real registry: the Confluent API is found and used', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const activity = uniqueName('it.registry-url.activity');
  const alerts = [1, 2, 3].map((n) => uniqueName(`it.registry-url.a${n}`));
  t.after(() =>
    deleteSubjects(
      stack,
      [activity, ...alerts].map((topic) => `${topic}-value`),
    ),
  );
  const base = new URL(stack.registryUrl).origin; // http://127.0.0.1:8081, as a newcomer would write it
  const run = await runCli(['schemas', 'register'], {
    env: stackEnv(stack, {
      SCHEMA_REGISTRY_URL: base,
      MAILBOX_RADAR_TOPICS__ACTIVITY: activity,
      MAILBOX_RADAR_TOPICS__ALERTS__NON_OWNER_BURST: alerts[0]!,
      MAILBOX_RADAR_TOPICS__ALERTS__CROSS_DOMAIN_BURST: alerts[1]!,
      MAILBOX_RADAR_TOPICS__ALERTS__MAILBOX_SWEEP: alerts[2]!,
    }),
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`${activity}-value → id \\d+ \\(new\\)`));
  if (stack.registryUrl.replace(/\/+$/, '') !== base)
    assert.match(run.stderr, new RegExp(`using ${stack.registryUrl.replace(/\/+$/, '')}`), run.stderr);
});

test('run with the bare base URL of the real registry gets ready and stops cleanly', async (t) => {
  const given = await pipelineTopics(t, 1);
  if (!given) return;
  const { stack, topics } = given;
  const pipeline = await startReady(
    t,
    pipelineEnv(stack, topics, await freePort(), {
      SCHEMA_REGISTRY_URL: new URL(stack.registryUrl).origin,
    }),
  );
  pipeline.process.kill('SIGTERM');
  assert.equal(await pipeline.exit, 0, pipeline.output());
});

for (const status of [404, 200]) {
  test(`a registry.url that answers ${status} with an HTML page: one line saying so and what to try, exit 2`, async (t) => {
    const given = await pipelineTopics(t, 1);
    if (!given) return;
    const { stack, topics } = given;
    const url = await notARegistry(t, status);
    const env = pipelineEnv(stack, topics, await freePort(), { SCHEMA_REGISTRY_URL: url });
    const expected = new RegExp(
      `^mailbox-radar: registry\\.url ${url} does not serve the Confluent schema registry API \\(GET /subjects answered ${status}[^)]*\\); for Apicurio try ${url}/apis/ccompat/v7\\n$`,
    );
    const schemas = await runCli(['schemas', 'register'], {
      env: stackEnv(stack, { SCHEMA_REGISTRY_URL: url }),
    });
    assert.equal(schemas.code, 2, schemas.stderr);
    assert.match(schemas.stderr, expected);
    const run = startPipeline(env);
    t.after(() => run.process.kill('SIGKILL'));
    assert.equal(await run.exit, 2, run.output());
    // run asks the registry once its health port is bound: its JSON log lines come around the one line.
    const plain = run
      .output()
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('{'));
    assert.equal(plain.length, 1, run.output());
    assert.match(`${plain[0]}\n`, expected);
    assert.doesNotMatch(run.output(), /"level":60|\n\s+at /, 'no fatal entry, no stack');
  });
}
