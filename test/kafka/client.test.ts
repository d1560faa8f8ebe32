import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createKafka } from '../../src/kafka/client.js';

/** A pino logger whose JSON lines are kept. */
function captured() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, sink) };
}

describe('createKafka: kafkajs logs through pino', () => {
  it('leaves out the idempotent producer’s EoS warning (finite retries are meant: README), and nothing else', async () => {
    const { lines, logger } = captured();
    const kafka = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'test' }, logger);
    kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    kafka.logger().warn('some other warning', { broker: '127.0.0.1:1' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      lines.map((line) => line.msg),
      ['some other warning'],
    );
    assert.equal(lines[0]!.level, 40);
    assert.equal(lines[0]!.broker, '127.0.0.1:1');
  });
});
