/**
 * The start-up question `run` asks the cluster (src/kafka/broker-probe.ts, through awaitKafka), against
 * the real broker's listeners: every kind of listener answers it before any authentication; what waiting
 * cannot fix fails at once; what might come back is asked again, then named broker by broker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { awaitKafka, type KafkaOptions } from '../../src/kafka/client.js';
import { RadarError } from '../../src/errors.js';
import { freePort } from '../support/pipeline.js';
import { requireStack, skipOrFail } from '../support/stack.js';

const options = (brokers: string[], more: Partial<KafkaOptions> = {}): KafkaOptions => ({
  brokers,
  clientId: 'probe-test',
  connectionTimeoutMs: 1_000,
  ...more,
});

/** The error awaitKafka rejects with (a RadarError, KAFKA_UNAVAILABLE), and how many attempts it took. */
async function failure(kafka: KafkaOptions): Promise<RadarError> {
  const error = await awaitKafka(kafka, 3).then(
    () => assert.fail('a broker answered'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RadarError, String(error));
  assert.equal(error.code, 'KAFKA_UNAVAILABLE');
  assert.ok(!error.message.includes('\n'), error.message);
  return error;
}

test('the plaintext listener answers; so does a cluster list whose first broker is down', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  await awaitKafka(options(stack.brokers), 3);
  await awaitKafka(options([`127.0.0.1:${await freePort()}`, ...stack.brokers]), 1);
});

test('SASL, TLS, mutual TLS and SASL_SSL listeners answer before authentication', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  if (!stack.sasl || !stack.tls) return skipOrFail(t, `no SASL/TLS listeners on the ${stack.source} stack`);
  const { ca, cert, key } = stack.tls;
  const wrong = { mechanism: 'plain' as const, username: 'nobody', password: 'wrong' };
  await awaitKafka(options(stack.sasl.brokers, { sasl: wrong }), 1);
  await awaitKafka(options(stack.tls.brokers, { ssl: { ca } }), 1);
  await awaitKafka(options(stack.tls.mtlsBrokers, { ssl: { ca, cert, key } }), 1);
  await awaitKafka(options(stack.tls.saslSslBrokers, { ssl: { ca }, sasl: wrong }), 1);
});

test('a certificate problem fails at once, naming the broker and the setting, not as "unreachable"', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  if (!stack.tls) return skipOrFail(t, `no TLS listeners on the ${stack.source} stack`);
  const wrongCa = await failure(options(stack.tls.brokers, { ssl: { ca: stack.tls.otherCa } }));
  assert.match(
    wrongCa.message,
    new RegExp(`^Kafka broker ${stack.tls.brokers[0]}: TLS failed, .*kafka\\.ssl\\.ca`),
  );
  const noCert = await failure(options(stack.tls.mtlsBrokers, { ssl: { ca: stack.tls.ca } }));
  assert.match(noCert.message, /kafka\.ssl\.cert/);
});

test('a port where another service answers fails at once: it answered, but not as Kafka', async (t) => {
  // Not Kafka, and no fake of it: a service that greets first, as SSH does.
  const server = createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const broker = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const error = await failure(options([broker]));
  assert.equal(
    error.message,
    `Kafka broker ${broker} answered, but not as a Kafka broker (a TLS listener? kafka.ssl)`,
  );
});

test('refused, or the wrong protocol: asked 3 times, then one line naming each broker and why', async (t) => {
  const stack = await requireStack(t);
  if (!stack) return;
  const closed = `127.0.0.1:${await freePort()}`;
  const refused = await failure(options([closed]));
  assert.equal(
    refused.message,
    `Kafka unreachable: no broker answered in 3 attempts, 1s apart (kafka.brokers, kafka.connectionTimeoutMs): ${closed} (ECONNREFUSED)`,
  );
  if (!stack.tls) return skipOrFail(t, `no TLS listeners on the ${stack.source} stack`);
  const plaintextToTls = await failure(options([stack.tls.brokers[0]!, closed]));
  assert.match(
    plaintextToTls.message,
    new RegExp(
      `: ${stack.tls.brokers[0]} \\(closed without answering, a TLS listener\\? kafka\\.ssl\\), ${closed} \\(ECONNREFUSED\\)$`,
    ),
  );
  const tlsToPlaintext = await failure(options(stack.brokers, { ssl: { ca: stack.tls.ca } }));
  assert.match(tlsToPlaintext.message, /\(ECONNRESET, not a TLS listener\? kafka\.ssl\)$/);
});
