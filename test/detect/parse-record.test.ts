import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { from, toArray, lastValueFrom } from 'rxjs';
import { parseRecord, parseRecords } from '../../src/detect/parse-record.js';
import { ErrorCodes, RecordError } from '../../src/errors.js';
import { ACTIVITY_FIELDS } from '../../src/model/activity.js';
import {
  activityDetectionType,
  activitySchema,
  FIELDS_NOT_READ_BY_DETECTION,
} from '../../src/model/schemas.js';
import avro from 'avsc';
import { activity } from './helpers.js';

const SENTINEL = new URL('../fixtures/sentinel-officeactivity-exchange.ndjson', import.meta.url);
const sentinelRows = readFileSync(SENTINEL, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Record<string, unknown>);

function pascal(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    CreationTime: '2024-01-15T12:00:00',
    Id: '4a8f2d3e-0000-4000-8000-000000000001',
    Operation: 'MailItemsAccessed',
    OrganizationId: 'org-1',
    RecordType: 50,
    ResultStatus: 'Succeeded',
    UserKey: '10037FFE',
    UserType: 0,
    Version: 1,
    Workload: 'Exchange',
    ClientIP: '[2001:db8::7]:443',
    UserId: 'Mallory@Fabrikam.com',
    ExternalAccess: false,
    InternalLogonType: 2,
    LogonType: 2,
    LogonUserSid: 'S-1-5-21-900',
    LogonUserDisplayName: 'Mallory',
    MailboxGuid: '0b3f-ceo',
    MailboxOwnerSid: 'S-1-5-21-100',
    MailboxOwnerMasterAccountSid: 'S-1-5-21-101',
    MailboxOwnerUPN: 'ceo@contoso.com',
    OrganizationName: 'contoso.onmicrosoft.com',
    OriginatingServer: 'AM0PR01MB1234 (15.20.4065.028)',
    ClientInfoString: 'Client=OWA',
    ClientIPAddress: '2001:db8::7',
    ClientMachineName: 'PC-1',
    ClientProcessName: 'outlook.exe',
    ClientVersion: '16.0',
    Scope: 'online',
    ObjectId: 'obj',
    ...overrides,
  };
}

function rejects(value: unknown, field: string | null, reason: RegExp): void {
  assert.throws(
    () => parseRecord(value),
    (error: unknown) => {
      assert.ok(error instanceof RecordError, `expected a RecordError, got ${String(error)}`);
      assert.equal(error.field, field);
      assert.match(error.message, reason);
      assert.equal(error.code, ErrorCodes.RECORD_INVALID);
      return true;
    },
  );
}

describe('parseRecord', () => {
  it('reads snake_case records as they are', () => {
    const record = activity();
    const parsed = parseRecord(JSON.parse(JSON.stringify(record)));
    assert.deepEqual(parsed, record);
    assert.deepEqual(Object.keys(parsed), [...ACTIVITY_FIELDS]);
  });

  it('reads creation_time as epoch ms or ISO-8601, a missing zone meaning UTC', () => {
    const utc = Date.UTC(2024, 0, 15, 12, 0, 0);
    assert.equal(parseRecord({ ...activity(), creation_time: '2024-01-15T12:00:00' }).creation_time, utc);
    assert.equal(
      parseRecord({ ...activity(), creation_time: '2024-01-15T13:00:00+01:00' }).creation_time,
      utc,
    );
    assert.equal(parseRecord({ ...activity(), creation_time: utc }).creation_time, utc);
  });

  it('reads the Management Activity API (PascalCase) shape, with enum names', () => {
    const parsed = parseRecord(
      pascal({ RecordType: 'ExchangeItemAggregated', UserType: 'Regular', LogonType: 'Delegated' }),
    );
    assert.equal(parsed.id, '4a8f2d3e-0000-4000-8000-000000000001');
    assert.equal(parsed.creation_time, Date.UTC(2024, 0, 15, 12, 0, 0));
    assert.equal(parsed.record_type, 50);
    assert.equal(parsed.user_type, 0);
    assert.equal(parsed.logon_type, 2);
    assert.equal(parsed.internal_logon_type, 2);
    assert.equal(parsed.user_id, 'Mallory@Fabrikam.com');
    assert.equal(parsed.client_ip, '[2001:db8::7]:443');
    assert.equal(parsed.client_ip_address, '2001:db8::7');
    assert.equal(parsed.mailbox_owner_upn, 'ceo@contoso.com');
    assert.equal(parsed.mailbox_owner_master_account_sid, 'S-1-5-21-101');
    assert.equal(parsed.logon_user_display_name, 'Mallory');
    assert.equal(parsed.external_access, false);
    assert.equal(parsed.workload, 'Exchange');
    assert.equal(parsed.scope, 'online');
    assert.equal(parsed.object_id, 'obj');
    assert.equal(parsed.client_machine_name, 'PC-1');
    assert.equal(parsed.client_process_name, 'outlook.exe');
    assert.equal(parsed.client_version, '16.0');
    assert.deepEqual(Object.keys(parsed), [...ACTIVITY_FIELDS]);
  });

  it('falls back to ClientIPAddress when ClientIP is absent', () => {
    const { ClientIP: _dropped, ...rest } = pascal();
    assert.equal(parseRecord(rest).client_ip, '2001:db8::7');
  });

  it('parses the ten real Sentinel rows', () => {
    const records = sentinelRows.map((row) => parseRecord(row));
    assert.equal(records.length, 10);
    const [first] = records;
    assert.equal(first?.id, '2ad854c0-d9c3-43b5-95d8-826aea0d10ca');
    assert.equal(first?.creation_time, Date.UTC(2021, 3, 28, 14, 54, 37));
    assert.equal(first?.record_type, 50);
    assert.equal(first?.logon_type, 0);
    assert.equal(first?.external_access, false);
    assert.equal(first?.client_ip, '');
    assert.equal(first?.client_ip_address, '2603:10b6:5:345::11');
    assert.equal(first?.workload, 'Exchange');
    assert.equal(first?.originating_server, 'MWHPR06MB3440 (15.20.4065.028)');
    assert.equal(first?.mailbox_owner_master_account_sid, null);
    const system = records[9];
    assert.equal(system?.record_type, 2); // "ExchangeItem"
    assert.equal(system?.user_type, 2); // "Admin"
    assert.equal(system?.logon_type, 1); // "Admin"
    assert.equal(system?.external_access, true);
    assert.equal(system?.user_id, 'S-1-5-18');
    assert.equal(new Set(records.map((r) => r.id)).size, 10);
  });

  it('derives a stable id for a Sentinel row without one', () => {
    const { OfficeId: _a, SourceRecordId: _b, ...row } = sentinelRows[0] as Record<string, unknown>;
    const id = parseRecord(row).id;
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(parseRecord({ ...row }).id, id);
    assert.notEqual(parseRecord({ ...row, Operation: 'Send' }).id, id);
  });

  it('names the missing or wrong field', () => {
    const { user_id: _u, ...noUser } = activity();
    rejects(noUser, 'user_id', /^user_id: missing$/);
    rejects({ ...activity(), id: '' }, 'id', /empty/);
    rejects({ ...activity(), id: 42 }, 'id', /expected a string, got number 42/);
    rejects(
      { ...activity(), creation_time: 'yesterday' },
      'creation_time',
      /^creation_time: not a timestamp: "yesterday"$/,
    );
    rejects({ ...activity(), user_type: 'Nobody' }, 'user_type', /not a UserType number or name: "Nobody"/);
    rejects({ ...activity(), record_type: 1.5 }, 'record_type', /RecordType/);
    rejects({ ...activity(), external_access: 'maybe' }, 'external_access', /not a boolean: "maybe"/);
    rejects({ ...activity(), mailbox_guid: 7 }, 'mailbox_guid', /expected a string or null/);
    rejects({ ...activity(), client_ip: undefined, client_ip_address: undefined }, 'client_ip', /missing/);
    rejects(pascal({ CreationTime: undefined }), 'CreationTime', /missing/);
    rejects(pascal({ LogonType: 'Sideways' }), 'LogonType', /LogonType/);
    rejects({ ...(sentinelRows[0] as object), UserKey: undefined }, 'UserKey', /missing/);
    rejects('a string', null, /not a JSON object/);
    rejects([activity()], null, /not a JSON object/);
    rejects(null, null, /not a JSON object/);
    rejects({}, 'id', /missing/);
  });

  it("reads the Avro decoder's output, fields the reader skips as null", () => {
    const record = activity({ workload: 'Exchange', client_ip_address: '203.0.113.7', logon_type: null });
    const writer = avro.Type.forSchema(activitySchema as avro.Schema);
    const decoded = activityDetectionType.fromBuffer(
      writer.toBuffer(record),
      activityDetectionType.createResolver(writer),
    ) as Record<string, unknown>;
    assert.equal(decoded.workload, undefined);
    const parsed = parseRecord(decoded);
    const expected: Record<string, unknown> = { ...record };
    for (const field of FIELDS_NOT_READ_BY_DETECTION) expected[field] = null;
    assert.deepEqual(parsed, expected);
    assert.deepEqual(Object.keys(parsed), [...ACTIVITY_FIELDS]);
  });

  it('gives the same record whether fields come typed or need converting', () => {
    const typed = activity({ logon_type: 2, external_access: true, creation_time: 1_705_320_000_000 });
    const parsed = parseRecord(typed);
    assert.deepEqual(parsed, typed);
    for (const converted of [
      { record_type: '50' },
      { record_type: 'ExchangeItemAggregated' },
      { user_type: 'Regular' },
      { creation_time: '2024-01-15T12:00:00Z' },
      { creation_time: 1_705_320_000_000.7 },
      { logon_type: 'Delegated' },
      { external_access: 'TRUE' },
    ]) {
      assert.deepEqual(parseRecord({ ...typed, ...converted }), parsed, JSON.stringify(converted));
    }
    assert.equal(parseRecord({ ...typed, logon_type: '' }).logon_type, null);
    assert.equal(parseRecord({ ...typed, external_access: '' }).external_access, null);
    assert.equal(
      parseRecord({ ...typed, client_ip: undefined, client_ip_address: '10.0.0.1' }).client_ip,
      '10.0.0.1',
    );
    rejects({ ...typed, record_type: 2 ** 31 }, 'record_type', /RecordType/);
  });

  it('allows an empty client_ip', () => {
    assert.equal(parseRecord({ ...activity(), client_ip: '' }).client_ip, '');
  });

  it('as an operator, passes records and stands a RecordError in for the invalid ones', async () => {
    const outputs = await lastValueFrom(from([activity(), { nope: true }]).pipe(parseRecords(), toArray()));
    assert.equal(outputs.length, 2);
    assert.ok(!(outputs[0] instanceof RecordError));
    assert.ok(outputs[1] instanceof RecordError);
  });
});
