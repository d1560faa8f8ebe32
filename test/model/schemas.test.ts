import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { ACTIVITY_FIELDS } from '../../src/model/activity.js';
import {
  activityDetectionType,
  activitySchema,
  activityType,
  FIELDS_NOT_READ_BY_DETECTION,
} from '../../src/model/schemas.js';
import { activity } from '../detect/helpers.js';

const V1_FIELDS = 29;
/** Version 1 of the activity schema: the seed's 29 fields, as producers in the field still write it. */
const v1Type = avro.Type.forSchema({
  ...activitySchema,
  fields: (activitySchema.fields as unknown[]).slice(0, V1_FIELDS),
} as avro.Schema);
const V2_ONLY = ACTIVITY_FIELDS.slice(V1_FIELDS);

const appRead = activity({
  user_type: 5,
  app_id: '00000003-0000-0000-c000-000000000000',
  client_app_id: '6326e366-9d6d-4c70-b22a-34c7ea72d73d',
  api_id: 'api-1',
  mail_access_type: 'Sync',
  is_throttled: true,
  operation_count: 250,
  session_id: 'session-1',
  folder_paths: ['\\Inbox', '\\Sent Items'],
  unique_token_id: 'token-1',
});

describe('ExchangeMailboxActivity schema version 2', () => {
  it('adds the app fields after the 29 of version 1, each optional with a null default', () => {
    assert.deepEqual(
      (activitySchema.fields as { name: string }[]).map((f) => f.name),
      [...ACTIVITY_FIELDS],
    );
    for (const field of (activitySchema.fields as { name: string; default?: unknown }[]).slice(V1_FIELDS)) {
      assert.equal(field.default, null, field.name);
    }
    assert.deepEqual(V2_ONLY, [
      'app_id',
      'client_app_id',
      'api_id',
      'mail_access_type',
      'is_throttled',
      'operation_count',
      'session_id',
      'folder_paths',
      'unique_token_id',
    ]);
  });

  it('a version 1 writer, read by the version 2 reader: the new fields are null', () => {
    const { app_id: _a, ...v1Record } = activity();
    const bytes = v1Type.toBuffer(v1Record);
    const read = activityType.fromBuffer(bytes, activityType.createResolver(v1Type)) as Record<
      string,
      unknown
    >;
    for (const field of V2_ONLY) assert.equal(read[field], null, field);
    assert.equal(read.id, v1Record.id);
    assert.equal(read.user_id, 'eve@contoso.com');
  });

  it('a version 2 writer, read by the version 1 reader: the new fields are skipped', () => {
    const bytes = activityType.toBuffer(appRead);
    const read = v1Type.fromBuffer(bytes, v1Type.createResolver(activityType)) as Record<string, unknown>;
    assert.equal(Object.keys(read).length, V1_FIELDS);
    assert.equal(read.user_type, 5);
    assert.equal(read.client_version, null);
    assert.equal('app_id' in read, false);
  });

  it('the pipeline reader keeps the fields the app rules read, and drops api_id and unique_token_id', () => {
    const bytes = activityType.toBuffer(appRead);
    const read = activityDetectionType.fromBuffer(
      bytes,
      activityDetectionType.createResolver(activityType),
    ) as Record<string, unknown>;
    for (const field of [
      'app_id',
      'client_app_id',
      'mail_access_type',
      'is_throttled',
      'operation_count',
      'session_id',
      'folder_paths',
      'client_info_string',
    ])
      assert.deepEqual(read[field], appRead[field as keyof typeof appRead], field);
    assert.ok((FIELDS_NOT_READ_BY_DETECTION as readonly string[]).includes('api_id'));
    assert.equal(read.api_id, undefined);
    assert.equal(read.unique_token_id, undefined);
  });
});
