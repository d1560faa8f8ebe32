import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseRecord } from '../../src/detect/parse-record.js';
import { RecordError } from '../../src/errors.js';
import { activity } from './helpers.js';

const GRAPH = '00000003-0000-0000-c000-000000000000';

/**
 * An app-only MailItemsAccessed record in the API's PascalCase shape, as public test records of log
 * pipelines show it (SEKOIA-IO/intake-formats `exchange_item_aggregated_2.json`, an app record with
 * UserType 5 in a Wazuh integration guide): AppAccessContext nested, OperationProperties as a
 * [{Name, Value}] list, Folders with Path.
 */
function appRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    AppAccessContext: {
      AADSessionId: '99999999-9999-9999-9999-999999999999',
      APIId: '11111111-1111-1111-1111-222222222222',
      ClientAppId: '6326e366-9d6d-4c70-b22a-34c7ea72d73d',
      IssuedAtTime: '2024-01-15T11:58:00',
      UniqueTokenId: 'Xk3vR8bQ0E2wT6nYp1LmAA',
    },
    CreationTime: '2024-01-15T12:00:00',
    Id: 'app-0001',
    Operation: 'MailItemsAccessed',
    OrganizationId: 'org-1',
    RecordType: 50,
    ResultStatus: 'Succeeded',
    UserKey: '6326e366-9d6d-4c70-b22a-34c7ea72d73d',
    UserType: 5,
    Version: 1,
    Workload: 'Exchange',
    UserId: 'ceo@contoso.com',
    AppId: GRAPH,
    ClientIPAddress: '198.51.100.1',
    ClientInfoString: 'Client=REST;Client=RESTSystem;;',
    ExternalAccess: false,
    InternalLogonType: 0,
    LogonType: 0,
    LogonUserSid: 'S-1-5-21-100',
    MailboxGuid: '55555555-5555-5555-5555-555555555555',
    MailboxOwnerSid: 'S-1-5-21-100',
    MailboxOwnerUPN: 'ceo@contoso.com',
    OperationProperties: [
      { Name: 'MailAccessType', Value: 'Sync' },
      { Name: 'IsThrottled', Value: 'True' },
    ],
    OperationCount: 3,
    SessionId: 'dcdad6b2-f279-48c6-9ed8-3df0ffde4ece',
    Folders: [
      { FolderItems: [{ InternetMessageId: '<a@example.com>' }], Id: 'LgAA1', Path: '\\Inbox' },
      { FolderItems: [], Id: 'LgAA2', Path: '\\Sent Items' },
    ],
    ...overrides,
  };
}

function rejects(value: unknown, field: string, reason: RegExp): void {
  assert.throws(
    () => parseRecord(value),
    (error: unknown) => {
      assert.ok(error instanceof RecordError, `expected a RecordError, got ${String(error)}`);
      assert.equal(error.field, field);
      assert.match(error.message, reason);
      return true;
    },
  );
}

describe('parseRecord: the app-access fields (schema version 2)', () => {
  it('reads a PascalCase record with AppAccessContext, OperationProperties and Folders', () => {
    const record = parseRecord(appRecord());
    assert.equal(record.user_type, 5);
    assert.equal(record.app_id, GRAPH);
    assert.equal(record.client_app_id, '6326e366-9d6d-4c70-b22a-34c7ea72d73d');
    assert.equal(record.api_id, '11111111-1111-1111-1111-222222222222');
    assert.equal(record.mail_access_type, 'Sync');
    assert.equal(record.is_throttled, true);
    assert.equal(record.operation_count, 3);
    assert.equal(record.session_id, 'dcdad6b2-f279-48c6-9ed8-3df0ffde4ece');
    assert.deepEqual(record.folder_paths, ['\\Inbox', '\\Sent Items']);
    assert.equal(record.unique_token_id, 'Xk3vR8bQ0E2wT6nYp1LmAA');
    assert.equal(record.client_ip, '198.51.100.1'); // no ClientIP in these records: ClientIPAddress
  });

  it('takes a top-level ClientAppId, APIId and UniqueTokenId where AppAccessContext lacks them', () => {
    const record = parseRecord(
      appRecord({
        AppAccessContext: { AADSessionId: 'x' },
        ClientAppId: 'AAAA-top',
        ApiId: 'api-top',
        UniqueTokenId: 'tok-top',
      }),
    );
    assert.equal(record.client_app_id, 'AAAA-top');
    assert.equal(record.api_id, 'api-top');
    assert.equal(record.unique_token_id, 'tok-top');
    const both = parseRecord(appRecord({ ClientAppId: 'top-wins' }));
    assert.equal(both.client_app_id, 'top-wins');
  });

  it('matches OperationProperties by name in any case; IsThrottled is "True" in any case', () => {
    const read = (value: string, name = 'IsThrottled') =>
      parseRecord(appRecord({ OperationProperties: [{ Name: name, Value: value }] })).is_throttled;
    assert.equal(read('True'), true);
    assert.equal(read('TRUE'), true);
    assert.equal(read('true', 'isthrottled'), true);
    assert.equal(read('False'), false);
    assert.equal(read('yes'), false);
    const none = parseRecord(appRecord({ OperationProperties: [{ Name: 'Other', Value: 'True' }] }));
    assert.equal(none.is_throttled, null);
    assert.equal(none.mail_access_type, null);
  });

  it('reads records without any of them as null (version 1 records)', () => {
    const {
      AppAccessContext: _a,
      AppId: _b,
      OperationProperties: _c,
      OperationCount: _d,
      SessionId: _e,
      Folders: _f,
      ...v1
    } = appRecord();
    const record = parseRecord(v1);
    for (const field of [
      'app_id',
      'client_app_id',
      'api_id',
      'mail_access_type',
      'is_throttled',
      'operation_count',
      'session_id',
      'folder_paths',
      'unique_token_id',
    ] as const)
      assert.equal(record[field], null, field);
  });

  it('reads the real Sentinel rows, where nested values are JSON text', () => {
    const rows = readFileSync(
      new URL('../fixtures/sentinel-officeactivity-exchange.ndjson', import.meta.url),
      'utf8',
    )
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => parseRecord(JSON.parse(line)));
    assert.equal(rows.length, 10);
    const [first] = rows;
    assert.equal(first?.app_id, '8a18aa92-0a1e-4e06-abd0-e118fa4787b1');
    assert.equal(first?.client_app_id, '3c8e478f-21ca-493a-b87c-c7366d664d54');
    assert.equal(first?.mail_access_type, 'Bind');
    assert.equal(first?.is_throttled, false);
    assert.deepEqual(first?.folder_paths, ['\\Inbox', '\\Sent Items']);
    assert.equal(first?.user_type, 0); // the owner through a client app: not an app-only access
    const send = rows[1];
    assert.equal(send?.operation, 'Send');
    assert.equal(send?.mail_access_type, null);
    assert.equal(send?.folder_paths, null);
  });

  it('reads snake_case, converting text where the general path does', () => {
    const record = parseRecord({
      ...activity(),
      app_id: GRAPH,
      is_throttled: 'TRUE',
      operation_count: '250',
      folder_paths: ['\\Inbox'],
    });
    assert.equal(record.app_id, GRAPH);
    assert.equal(record.is_throttled, true);
    assert.equal(record.operation_count, 250);
    assert.deepEqual(record.folder_paths, ['\\Inbox']);
  });

  it('names the field that is wrong', () => {
    rejects(appRecord({ OperationProperties: 'Bind' }), 'OperationProperties', /list of \{Name, Value\}/);
    rejects(appRecord({ AppAccessContext: 'ctx' }), 'AppAccessContext', /object or null/);
    rejects(appRecord({ OperationCount: -1 }), 'OperationCount', /not a count/);
    rejects(appRecord({ Folders: { Path: '\\Inbox' } }), 'Folders', /list of folders/);
    rejects(appRecord({ AppId: 5 }), 'AppId', /expected a string/);
    rejects({ ...activity(), folder_paths: [1] }, 'folder_paths', /list of strings/);
    rejects({ ...activity(), operation_count: 1.5 }, 'operation_count', /not a count/);
  });
});
