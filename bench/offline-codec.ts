/**
 * The pipeline's codec without a registry, for the benches that time decoding on their own (bench/kafka.ts,
 * bench/held-path.ts): the activity schema registered under OFFLINE_SCHEMA_ID, read with the detection
 * reader schema, as `run` reads it.
 */
import avro from 'avsc';
import { AvroCodec } from '../src/kafka/avro-codec.js';
import { RegistryClient } from '../src/kafka/registry.js';
import type { ExchangeMailboxActivity } from '../src/model/activity.js';
import { activityDetectionType, activitySchema } from '../src/model/schemas.js';

/** The schema id the benches frame their records with. */
export const OFFLINE_SCHEMA_ID = 1;

export function offlineCodec(): AvroCodec<ExchangeMailboxActivity> {
  const codec = new AvroCodec<ExchangeMailboxActivity>(
    new RegistryClient({ url: 'http://unused.invalid' }),
    activityDetectionType,
  );
  codec.addWriter(OFFLINE_SCHEMA_ID, avro.Type.forSchema(activitySchema as avro.Schema));
  return codec;
}
