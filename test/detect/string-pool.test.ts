import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClassTally, createClassifier } from '../../src/detect/classify.js';
import { StringPool, poolAccess } from '../../src/detect/string-pool.js';
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
  it('gives back equal strings, and keeps at most two generations', () => {
    const pool = new StringPool(4);
    for (let i = 0; i < 100; i++) assert.equal(pool.get(`s${i % 10}`), `s${i % 10}`);
    assert.ok(pool.size <= 8, `pool holds ${pool.size} strings`);
    assert.equal(pool.maybe(null), null);
    assert.equal(pool.maybe(undefined), undefined);
    pool.clear();
    assert.equal(pool.size, 0);
  });

  it('keeps a string used again while its generation is the old one', () => {
    const pool = new StringPool(2);
    pool.get('a');
    pool.get('b');
    pool.get('c'); // young was full: {a, b} is now old
    assert.equal(pool.get('a'), 'a'); // found in the old generation, carried into the young one
    assert.equal(pool.size, 4);
  });
});

describe('poolAccess', () => {
  const classifier = createClassifier(detection({ organizationDomains: [['contoso.com']] }));

  it('changes no value of the access or its record', () => {
    const pool = new StringPool();
    for (const overrides of [{}, { user_type: 5 }, { user_id: 'Guest@Fabrikam.com', logon_user_sid: null }]) {
      const record = { ...everyFieldSet(), ...overrides };
      const result = classifier(freshCopy(record));
      assert.equal(typeof result, 'object');
      const access = result as Access;
      const expected = freshCopy({ ...access, record: { ...access.record } });
      assert.deepEqual(freshCopy(poolAccess(access, pool)), expected);
      // A second record with the same strings, pooled: still the same values.
      const again = classifier(freshCopy(record)) as Access;
      assert.deepEqual(freshCopy(poolAccess(again, pool)), expected);
    }
  });

  it('leaves null and absent fields as they are', () => {
    const record = freshCopy(activity({ scope: null, object_id: null }));
    delete (record as Partial<ExchangeMailboxActivity>).app_id;
    const access = classifier(record) as Access;
    poolAccess(access, new StringPool());
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
