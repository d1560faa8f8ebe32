import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClassifier } from '../../src/detect/classify.js';
import type { Access } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activity, at, detection } from './helpers.js';

const CLIENT_APP = '6326E366-9D6D-4C70-B22A-34C7EA72D73D';
const GRAPH = '00000003-0000-0000-c000-000000000000';

/**
 * An app-only read (MailItemsAccessed) as the Management Activity API logs it: UserId and the logon SID are
 * the mailbox owner's, LogonType 0 (Owner), UserType 5 (Application), UserKey the app.
 */
function appRead(n: number, time: number, overrides: Partial<ExchangeMailboxActivity> = {}) {
  return activity({
    creation_time: time,
    user_type: 5,
    user_key: CLIENT_APP,
    user_id: `user${n}@contoso.com`,
    logon_type: 0,
    internal_logon_type: 0,
    logon_user_sid: `S-1-5-21-${1000 + n}`,
    mailbox_guid: `mbx-${n}`,
    mailbox_owner_upn: `user${n}@contoso.com`,
    mailbox_owner_sid: `S-1-5-21-${1000 + n}`,
    ...overrides,
  });
}

describe('app access', () => {
  describe('classification', () => {
    it(
      'an app-only read (UserType 5, LogonType 0, the owner SIDs) is an app access, not the owner',
      { todo: 'issue 14.1: red until the fix' },
      () => {
        const classifier = createClassifier(detection());
        const result = classifier(appRead(1, at('12:00:00')));
        assert.equal(typeof result, 'object', `classified as ${String(result)}`);
        assert.equal((result as Access).actor, CLIENT_APP.toLowerCase());
        const principal = classifier(appRead(1, at('12:00:00'), { user_type: 6, app_id: GRAPH } as never));
        assert.equal(typeof principal, 'object', `ServicePrincipal classified as ${String(principal)}`);
      },
    );
  });
});
