import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClassTally, createClassifier } from '../../src/detect/classify.js';
import { StringPool } from '../../src/detect/string-pool.js';
import type { Access } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activity, detection } from './helpers.js';

/** A record whose every field has a value of its own, so a field given another's value shows. */
function everyFieldSet(): ExchangeMailboxActivity {
  return activity({
    object_id: 'object-id',
    scope: 'scope',
    mailbox_owner_master_account_sid: 'S-1-5-21-9-9-9-1',
    logon_user_display_name: 'Display Name',
    client_machine_name: 'MACHINE',
    client_process_name: 'outlook.exe',
    client_version: '16.0.1',
    app_id: 'app-id',
    client_app_id: 'client-app-id',
    api_id: 'api-id',
    mail_access_type: 'Bind',
    is_throttled: true,
    operation_count: 7,
    session_id: 'session-id',
    folder_paths: ['\\Inbox', '\\Sent Items'],
    unique_token_id: 'token-id',
  });
}

/** The same strings, each a fresh copy (as a decoder gives them). */
function freshCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe('StringPool', () => {
  const classifier = createClassifier(detection({ organizationDomains: [['contoso.com']] }));
  const accessOf = (record: ExchangeMailboxActivity) => classifier(freshCopy(record)) as Access;

  it('keeps at most two generations of pairs', () => {
    const pool = new StringPool(4);
    for (let i = 0; i < 100; i++) pool.take(accessOf(activity({ user_id: `u${i % 10}@contoso.com` })));
    assert.ok(pool.size <= 8, `pool holds ${pool.size} pairs`);
    pool.clear();
    assert.equal(pool.size, 0);
  });
});

describe('StringPool.take', () => {
  const classifier = createClassifier(detection({ organizationDomains: [['contoso.com']] }));

  it('changes no value of the access or its record', () => {
    const pool = new StringPool();
    for (const overrides of [{}, { user_type: 5 }, { user_id: 'Guest@Fabrikam.com', logon_user_sid: null }]) {
      const record = { ...everyFieldSet(), ...overrides };
      const result = classifier(freshCopy(record));
      assert.equal(typeof result, 'object');
      const access = result as Access;
      const expected = freshCopy({ ...access, record: { ...access.record } });
      assert.deepEqual(freshCopy(pool.take(access)), expected);
      // A second record with the same strings, pooled: still the same values.
      const again = classifier(freshCopy(record)) as Access;
      assert.deepEqual(freshCopy(pool.take(again)), expected);
    }
  });

  it('gives an access that differs from the previous ones its own values, field by field', () => {
    const pool = new StringPool();
    const first = everyFieldSet();
    pool.take(classifier(freshCopy(first)) as Access);
    // The same pair (actor, mailbox and classification kept), every other string different.
    const keep = new Set([
      'id',
      'user_id',
      'mailbox_guid',
      'mailbox_owner_upn',
      'mailbox_owner_sid',
      'logon_user_sid',
    ]);
    const other = Object.fromEntries(
      Object.entries(first).map(([key, value]) => [
        key,
        typeof value === 'string' && !keep.has(key) ? `${value}-2` : value,
      ]),
    ) as unknown as ExchangeMailboxActivity;
    other.folder_paths = ['\\Inbox', '\\Deleted Items'];
    for (const record of [
      other,
      { ...other, user_id: 'mallory@contoso.com', logon_user_sid: 'S-1-5-21-9' },
    ]) {
      const access = classifier(freshCopy(record)) as Access;
      const expected = freshCopy({ ...access, record: { ...access.record } });
      assert.deepEqual(freshCopy(pool.take(access)), expected);
    }
  });

  it('leaves null and absent fields as they are', () => {
    const record = freshCopy(activity({ scope: null, object_id: null }));
    delete (record as Partial<ExchangeMailboxActivity>).app_id;
    const access = classifier(record) as Access;
    new StringPool().take(access);
    assert.equal(access.record.scope, null);
    assert.equal(access.record.object_id, null);
    assert.equal('app_id' in access.record, false);
  });

  it('is what the classify stage passes on: the same accesses as the classifier gives', () => {
    const tally = new ClassTally(classifier);
    const record = everyFieldSet();
    const direct = classifier(freshCopy(record)) as Access;
    const pooled = tally.access(freshCopy(record));
    assert.deepEqual(pooled, direct);
  });
});
