import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka } from '../../src/kafka/client.js';
import { requireStack, skipOrFail, uniqueName } from '../support/stack.js';

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
