import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, type KafkaOptions } from '../../src/kafka/client.js';
import { requireStack, skipOrFail, uniqueName } from '../support/stack.js';
import { deleteSubjects, runCli, stackEnv } from '../simulate/support.js';

for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
  test(`SASL ${mechanism} from config authenticates against the real broker`, async (t) => {
    const stack = await requireStack(t);
    if (!stack) return;
    // The local stack always has the SASL listener; other stacks (env, compose) may not.
    if (!stack.sasl) return skipOrFail(t, `no SASL listener on the ${stack.source} stack`);
    const { brokers, username, password } = stack.sasl;
    const admin = createKafka({
      brokers,
      clientId: uniqueName('sasl'),
      sasl: { mechanism, username, password },
    }).admin();
    await admin.connect();
    try {
      const topic = uniqueName('it.sasl');
      await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
      assert.ok((await admin.listTopics()).includes(topic));
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
  });
}

test('a wrong SASL password is refused by the broker', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  if (!stack.sasl) return skipOrFail(t, `no SASL listener on the ${stack.source} stack`);
  const admin = createKafka({
    brokers: stack.sasl.brokers,
    clientId: uniqueName('sasl-bad'),
    sasl: { mechanism: 'scram-sha-256', username: stack.sasl.username, password: 'wrong' },
    connectionTimeoutMs: 3_000,
  }).admin({ retry: { retries: 0 } });
  await assert.rejects(admin.connect(), /SASL|authentication|Authentication/);
  await admin.disconnect();
});

/** An admin through the project's createKafka with the given TLS (and SASL) settings, no retries. */
function tlsAdmin(brokers: string[], options: Pick<KafkaOptions, 'ssl' | 'sasl'>) {
  return createKafka({ brokers, clientId: uniqueName('tls'), connectionTimeoutMs: 5_000, ...options }).admin({
    retry: { retries: 0 },
  });
}

async function roundTrip(admin: ReturnType<typeof tlsAdmin>): Promise<void> {
  await admin.connect();
  try {
    const topic = uniqueName('it.tls');
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    assert.ok((await admin.listTopics()).includes(topic));
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}

test('TLS with the CA from kafka.ssl.ca connects to the TLS listener', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  if (!stack.tls) return skipOrFail(t, `no TLS listeners on the ${stack.source} stack`);
  await roundTrip(tlsAdmin(stack.tls.brokers, { ssl: { ca: stack.tls.ca } }));
});

test('TLS with a CA that did not sign the broker certificate is refused: one line naming the broker and the certificate', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  if (!stack.tls) return skipOrFail(t, `no TLS listeners on the ${stack.source} stack`);
  const admin = tlsAdmin(stack.tls.brokers, { ssl: { ca: stack.tls.otherCa } });
  const error = await admin.connect().then(
    () => assert.fail('connected with the wrong CA'),
    (e: unknown) => e as Error,
  );
  await admin.disconnect();
  assert.ok(!error.message.includes('\n'), error.message);
  assert.ok(error.message.includes(stack.tls.brokers[0]!), `names the broker: ${error.message}`);
  assert.match(error.message, /certificate/);
  assert.match(error.message, /kafka\.ssl\.ca/);
});

test('mutual TLS: the client certificate from kafka.ssl.cert/key is accepted, none is refused', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  if (!stack.tls) return skipOrFail(t, `no TLS listeners on the ${stack.source} stack`);
  const { ca, cert, key, mtlsBrokers } = stack.tls;
  await roundTrip(tlsAdmin(mtlsBrokers, { ssl: { ca, cert, key } }));
  const anonymous = tlsAdmin(mtlsBrokers, { ssl: { ca } });
  await assert.rejects(anonymous.connect(), /Kafka broker .*certificate.*kafka\.ssl\.cert/);
  await anonymous.disconnect();
});

test('SASL_SSL with SCRAM-SHA-512 authenticates over TLS', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  if (!stack.tls || !stack.sasl) return skipOrFail(t, `no SASL_SSL listener on the ${stack.source} stack`);
  const { username, password } = stack.sasl;
  await roundTrip(
    tlsAdmin(stack.tls.saslSslBrokers, {
      ssl: { ca: stack.tls.ca },
      sasl: { mechanism: 'scram-sha-512', username, password },
    }),
  );
  const wrong = tlsAdmin(stack.tls.saslSslBrokers, {
    ssl: { ca: stack.tls.ca },
    sasl: { mechanism: 'scram-sha-512', username, password: 'wrong' },
  });
  await assert.rejects(wrong.connect(), /SASL|authentication|Authentication/);
  await wrong.disconnect();
});

test('the registry over HTTPS: the CLI registers schemas trusting the stack CA, and fails without it', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  if (!stack.tls?.registryUrl) return skipOrFail(t, `no HTTPS registry on the ${stack.source} stack`);
  const topics = {
    MAILBOX_RADAR_TOPICS__ACTIVITY: uniqueName('it.https.activity'),
    MAILBOX_RADAR_TOPICS__ALERTS__NON_OWNER_BURST: uniqueName('it.https.a1'),
    MAILBOX_RADAR_TOPICS__ALERTS__CROSS_DOMAIN_BURST: uniqueName('it.https.a2'),
    MAILBOX_RADAR_TOPICS__ALERTS__MAILBOX_SWEEP: uniqueName('it.https.a3'),
  };
  const env = { ...stackEnv(stack, topics), SCHEMA_REGISTRY_URL: stack.tls.registryUrl };
  t.after(() =>
    deleteSubjects(
      stack,
      Object.values(topics).map((topic) => `${topic}-value`),
    ),
  );
  // Node's fetch trusts extra CAs from NODE_EXTRA_CA_CERTS, read when the process starts.
  const trusted = await runCli(['schemas', 'register'], {
    env: { ...env, NODE_EXTRA_CA_CERTS: stack.tls.ca },
  });
  assert.equal(trusted.code, 0, trusted.stderr);
  assert.match(trusted.stdout, new RegExp(`${topics.MAILBOX_RADAR_TOPICS__ACTIVITY}-value → id \\d+`));
  const untrusted = await runCli(['schemas', 'register'], { env });
  assert.notEqual(untrusted.code, 0, untrusted.stdout);
});
