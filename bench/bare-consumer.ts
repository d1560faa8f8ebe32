/**
 * A bare kafkajs consumer draining a topic: the floor for any kafkajs-based pipeline. It serves the
 * pipeline's own metrics on /metrics (createMetrics, same renderer, same default process metrics) and
 * counts a batch's records in `mailbox_radar_records_decoded_total` once it has finished with them, as
 * `run` does, so the broker benches time every consumer by reading the same counter the same way. Runs
 * until SIGTERM, then prints what it read as one JSON line.
 *
 *   node --import tsx bench/bare-consumer.ts <brokers> <topic> plain|decode <metrics port> [group id]
 *
 * With `decode`, each value is also Avro-decoded (full reader): the floor of any Avro consumer.
 */
import avro from 'avsc';
import { Kafka, logLevel } from 'kafkajs';
import { startHttp } from '../src/app/http.js';
import { createMetrics } from '../src/app/metrics.js';
import type { ExchangeMailboxActivity } from '../src/model/activity.js';
import { activitySchema, activityType } from '../src/model/schemas.js';

const [brokers, topic, mode, port, group] = process.argv.slice(2);
const decode = mode === 'decode';
const resolver = activityType.createResolver(avro.Type.forSchema(activitySchema as avro.Schema));
let sink = 0;
let n = 0;
const metrics = createMetrics();
const health = { live: () => true, ready: () => true, describe: () => ({}) };
const server = await startHttp('127.0.0.1', Number(port), health, metrics.registry);
const kafka = new Kafka({ brokers: brokers!.split(','), clientId: 'bench-bare', logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: group ?? `bench-bare-${Date.now()}`, maxWaitTimeInMs: 100 });
await consumer.connect();
await consumer.subscribe({ topics: [topic!], fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    for (const m of batch.messages)
      if (decode)
        sink +=
          (activityType.decode(m.value!, 5, resolver).value as ExchangeMailboxActivity).creation_time & 1;
    n += batch.messages.length;
    metrics.decoded.inc(batch.messages.length);
  },
});
await new Promise((resolve) => process.once('SIGTERM', resolve));
await consumer.disconnect();
server.close();
process.stdout.write(`${JSON.stringify({ records: n, sink })}\n`);
process.exit(0);
