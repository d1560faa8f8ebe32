/**
 * Issue 8.6: what the registry's refusals and not-founds mean for the decoder, against the real registry.
 * A reverse proxy in front of it (test/support/registry-proxy.ts) plays the auth gateway or the lagging
 * follower; every successful answer still comes from the real registry.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DecodeError, ErrorCodes, RadarError } from '../../src/errors.js';
import { AvroCodec, frame } from '../../src/kafka/avro-codec.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activitySchema, activityType } from '../../src/model/schemas.js';
import { deleteSubjects } from '../simulate/support.js';
import { requireStack, uniqueName, type Stack } from '../support/stack.js';
import { requireBasicAuth, startRegistryProxy, type RegistryProxy } from '../support/registry-proxy.js';
import { fullActivity } from '../support/records.js';

interface Setup {
  stack: Stack;
  proxy: RegistryProxy;
  id: number;
  value: Buffer;
}

/** A schema id registered in the real registry, a record framed with it, and a proxy in front. */
async function setUp(t: TestContext): Promise<Setup | undefined> {
  const stack = await requireStack(t);
  if (!stack) return undefined;
  const subject = `${uniqueName('it.registry-faults')}-value`;
  const id = await new RegistryClient({ url: stack.registryUrl }).register(subject, activitySchema);
  t.after(() => deleteSubjects(stack, [subject]));
  const proxy = await startRegistryProxy(stack.registryUrl);
  t.after(() => proxy.close());
  return { stack, proxy, id, value: frame(id, activityType.toBuffer(fullActivity(1))) };
}

function codecFor(url: string, extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) {
  return new AvroCodec<ExchangeMailboxActivity>(
    new RegistryClient({ url, retries: 2, ...extra }),
    activityType,
    { unknownSchemaTtlMs: 1_500 },
  );
}

const gets = (proxy: RegistryProxy, id: number) =>
  proxy.requests.filter((r) => r === `GET /schemas/ids/${id}`).length;

function isCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof RadarError, `a RadarError, not ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.ok(!(error instanceof DecodeError), 'never a decode verdict');
    return true;
  };
}

function decodesTo(codec: AvroCodec<ExchangeMailboxActivity>, value: Buffer): void {
  assert.deepEqual({ ...codec.decode(value) }, fullActivity(1));
}

test('401 from an auth proxy → REGISTRY_UNAUTHORIZED, nothing cached; with credentials the id decodes', async (t) => {
  const s = await setUp(t);
  if (!s) return;
  s.proxy.intercept = requireBasicAuth('radar', 's3cret');
  const codec = codecFor(s.proxy.url);
  await assert.rejects(codec.prepare([s.value]), isCode(ErrorCodes.REGISTRY_UNAUTHORIZED));
  assert.equal(gets(s.proxy, s.id), 1, 'a refusal is not retried: it will not change by itself');

  const withCredentials = codecFor(s.proxy.url, { username: 'radar', password: 's3cret' });
  await withCredentials.prepare([s.value]);
  decodesTo(withCredentials, s.value);

  s.proxy.intercept = undefined; // the proxy lets it through now: the first codec asks again
  await codec.prepare([s.value]);
  decodesTo(codec, s.value);
});

test('403 → REGISTRY_UNAUTHORIZED, nothing cached; allowed later, the id decodes', async (t) => {
  const s = await setUp(t);
  if (!s) return;
  s.proxy.intercept = () => ({ status: 403, body: '<html><body>Forbidden</body></html>' });
  const codec = codecFor(s.proxy.url);
  await assert.rejects(codec.prepare([s.value]), isCode(ErrorCodes.REGISTRY_UNAUTHORIZED));
  s.proxy.intercept = undefined;
  await codec.prepare([s.value]);
  decodesTo(codec, s.value);
});

test('a follower that answers 404 for a new id twice: retried with backoff, the record decodes', async (t) => {
  const s = await setUp(t);
  if (!s) return;
  let notFound = 2;
  s.proxy.intercept = (_, path) =>
    path === `/schemas/ids/${s.id}` && notFound-- > 0
      ? { status: 404, body: JSON.stringify({ error_code: 40403, message: 'Schema not found' }) }
      : undefined;
  const codec = codecFor(s.proxy.url);
  await codec.prepare([s.value]);
  decodesTo(codec, s.value);
  assert.equal(gets(s.proxy, s.id), 3);
});

test('an id the registry does not know → DECODE_UNKNOWN_SCHEMA after 4 attempts, asked again after the TTL', async (t) => {
  const s = await setUp(t);
  if (!s) return;
  const unknown = 2_000_000_000 + Math.floor(Math.random() * 100_000_000);
  const value = frame(unknown, activityType.toBuffer(fullActivity(1)));
  const codec = codecFor(s.proxy.url);
  await codec.prepare([value]);
  assert.throws(
    () => codec.decode(value),
    (e: unknown) => e instanceof DecodeError && e.code === ErrorCodes.DECODE_UNKNOWN_SCHEMA,
  );
  assert.equal(gets(s.proxy, unknown), 4, 'four attempts before the verdict');
  await codec.prepare([value]);
  assert.equal(gets(s.proxy, unknown), 4, 'the verdict is cached for a while');
  await sleep(1_600);
  await codec.prepare([value]);
  assert.equal(gets(s.proxy, unknown), 8, 'asked again once the TTL passed');
});

test('a follower lagging past the retries: the id is unknown for the TTL, then decodes', async (t) => {
  const s = await setUp(t);
  if (!s) return;
  let notFound = 5;
  s.proxy.intercept = (_, path) =>
    path === `/schemas/ids/${s.id}` && notFound-- > 0 ? { status: 404 } : undefined;
  const codec = codecFor(s.proxy.url);
  await codec.prepare([s.value]);
  assert.throws(
    () => codec.decode(s.value),
    (e: unknown) => e instanceof DecodeError && e.code === ErrorCodes.DECODE_UNKNOWN_SCHEMA,
  );
  await sleep(1_600);
  await codec.prepare([s.value]);
  decodesTo(codec, s.value);
});

test('400 for a schema id is no verdict: REGISTRY_UNAVAILABLE, not cached', async (t) => {
  const s = await setUp(t);
  if (!s) return;
  s.proxy.intercept = (_, path) =>
    path === `/schemas/ids/${s.id}`
      ? { status: 400, body: JSON.stringify({ error_code: 400, message: 'Bad request' }) }
      : undefined;
  const codec = codecFor(s.proxy.url);
  await assert.rejects(codec.prepare([s.value]), isCode(ErrorCodes.REGISTRY_UNAVAILABLE));
  s.proxy.intercept = undefined;
  await codec.prepare([s.value]);
  decodesTo(codec, s.value);
});

test('503 twice is ridden out by the client retries; 503 for good → REGISTRY_UNAVAILABLE', async (t) => {
  const s = await setUp(t);
  if (!s) return;
  let unavailable = 2;
  s.proxy.intercept = () => (unavailable-- > 0 ? { status: 503 } : undefined);
  const codec = codecFor(s.proxy.url);
  await codec.prepare([s.value]);
  decodesTo(codec, s.value);

  s.proxy.intercept = () => ({ status: 503 });
  const other = codecFor(s.proxy.url);
  await assert.rejects(other.prepare([s.value]), isCode(ErrorCodes.REGISTRY_UNAVAILABLE));
  assert.equal(gets(s.proxy, s.id), 3 + 3, 'three answers before, then three attempts (retries: 2)');
});

test('a writer schema the reader cannot resolve, or not Avro → DECODE_INCOMPATIBLE_SCHEMA', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const registry = new RegistryClient({ url: stack.registryUrl });
  const avroSubject = `${uniqueName('it.registry-incompatible')}-value`;
  const jsonSubject = `${uniqueName('it.registry-json')}-value`;
  t.after(() => deleteSubjects(stack, [avroSubject, jsonSubject]));
  const unrelated = {
    type: 'record',
    name: 'ExchangeMailboxActivity',
    namespace: 'io.mailboxradar.o365',
    fields: [{ name: 'x', type: 'int' }],
  };
  const avroId = await registry.register(avroSubject, unrelated);
  const response = await fetch(
    `${stack.registryUrl.replace(/\/+$/, '')}/subjects/${encodeURIComponent(jsonSubject)}/versions`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({
        schemaType: 'JSON',
        schema: JSON.stringify({
          $schema: 'http://json-schema.org/draft-07/schema#',
          type: 'object',
          properties: { id: { type: 'string' } },
        }),
      }),
    },
  );
  assert.equal(response.status, 200, await response.clone().text());
  const jsonId = ((await response.json()) as { id: number }).id;

  const codec = codecFor(stack.registryUrl);
  const values = [frame(avroId, Buffer.from([2])), frame(jsonId, Buffer.from('{}'))];
  await codec.prepare(values);
  for (const value of values)
    assert.throws(
      () => codec.decode(value),
      (e: unknown) => e instanceof DecodeError && e.code === ErrorCodes.DECODE_INCOMPATIBLE_SCHEMA,
    );
});
