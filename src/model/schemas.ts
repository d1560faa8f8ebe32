import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { RuleName } from './alert.js';

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

/**
 * Fields of the activity record that neither detection nor the alerts read. The pipeline decodes with a
 * reader schema without them (`activityDetectionType`): avsc then skips their bytes instead of building
 * strings, the largest part of the per-record decode cost. The dead-letter topic keeps original bytes,
 * so nothing is lost; parseRecord sees these fields as absent (null). `client_info_string` is read: it tells
 * desktop Outlook apart for bulk_mail_access.
 */
export const FIELDS_NOT_READ_BY_DETECTION = [
  'workload',
  'result_status',
  'object_id',
  'scope',
  'internal_logon_type',
  'originating_server',
  'organization_name',
  'client_machine_name',
  'client_process_name',
  'client_version',
  'api_id',
  'unique_token_id',
] as const;

/** The activity schema without those fields: the pipeline's reader, and the repartition topic's writer. */
export const activityDetectionSchema = {
  ...activitySchema,
  fields: (activitySchema.fields as { name: string }[]).filter(
    (field) => !(FIELDS_NOT_READ_BY_DETECTION as readonly string[]).includes(field.name),
  ),
};
export const activityDetectionType = avro.Type.forSchema(activityDetectionSchema as avro.Schema);

/**
 * The rule symbols of the earlier alert schemas, in the order they came: the first schema's three rules,
 * then the app rules' six. A reader built with one of these lists can read only those rules.
 */
const SYMBOL_GENERATIONS: readonly (readonly RuleName[])[] = [
  ['non_owner_burst', 'cross_domain_burst', 'mailbox_sweep'],
  [
    'non_owner_burst',
    'cross_domain_burst',
    'mailbox_sweep',
    'app_mailbox_sweep',
    'bulk_mail_access',
    'first_app_access',
  ],
];

/**
 * The writer schema of one rule's alert topic. Avro resolves an enum only when every writer symbol is
 * known to the reader, so a reader built before a rule was added could read no alert written with the
 * longer list. Each rule's topic is therefore written with the symbols of the schema the rule came with
 * (and every newer optional field, which older readers skip): the first three rules' topics with their
 * original three, the app rules' with the six of their day, later rules' (first_access) with the full list.
 */
export function alertSchemaFor(rule: RuleName): Record<string, unknown> {
  const symbols = SYMBOL_GENERATIONS.find((generation) => generation.includes(rule));
  if (symbols === undefined) return alertSchema;
  return {
    ...alertSchema,
    fields: (alertSchema.fields as { name: string; type: unknown }[]).map((field) =>
      field.name === 'rule'
        ? { ...field, type: { ...(field.type as object), symbols: [...symbols] } }
        : field,
    ),
  };
}
