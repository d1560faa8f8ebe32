import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

/**
 * The project's Avro schemas, read once from `avro/` (shipped with the package). Types are parsed
 * without logical types: timestamps stay epoch-millis numbers on the hot path.
 */
const AVRO_DIR = fileURLToPath(new URL(findAvroDir(), import.meta.url));

function findAvroDir(): string {
  // src/model/ in development (tsx), dist/src/model/ once built.
  return import.meta.url.includes('/dist/src/') ? '../../../avro/' : '../../avro/';
}

export function readSchema(name: 'ExchangeMailboxActivity' | 'MailboxAccessAlert'): Record<string, unknown> {
  return JSON.parse(readFileSync(`${AVRO_DIR}${name}.avsc`, 'utf8')) as Record<string, unknown>;
}

export const activitySchema = readSchema('ExchangeMailboxActivity');
export const alertSchema = readSchema('MailboxAccessAlert');
export const activityType = avro.Type.forSchema(activitySchema as avro.Schema);
export const alertType = avro.Type.forSchema(alertSchema as avro.Schema);
