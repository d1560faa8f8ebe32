import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClassifier } from '../../src/detect/classify.js';
import type { Access } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import { activity, at, detection, run } from './helpers.js';

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
    it('an app-only read (UserType 5, LogonType 0, the owner SIDs) is an app access, not the owner', () => {
      const classifier = createClassifier(detection());
      const result = classifier(appRead(1, at('12:00:00')));
      assert.equal(typeof result, 'object', `classified as ${String(result)}`);
      assert.equal((result as Access).actor, CLIENT_APP.toLowerCase());
      const principal = classifier(appRead(1, at('12:00:00'), { user_type: 6, app_id: GRAPH }));
      assert.equal(typeof principal, 'object', `ServicePrincipal classified as ${String(principal)}`);
    });

    it('the actor is client_app_id, else app_id, else user_key, lower-cased', () => {
      const classifier = createClassifier(detection());
      const actor = (overrides: Partial<ExchangeMailboxActivity>) =>
        (classifier(appRead(1, at('12:00:00'), overrides)) as Access).actor;
      assert.equal(actor({ app_id: GRAPH, client_app_id: 'Client-A' }), 'client-a'); // through Graph
      assert.equal(actor({ app_id: 'App-B', client_app_id: ' ' }), 'app-b');
      assert.equal(actor({ app_id: null, client_app_id: null }), CLIENT_APP.toLowerCase());
      const access = classifier(appRead(1, at('12:00:00'))) as Access;
      assert.equal(access.app, true);
      assert.equal(access.actorDomain, null);
      assert.equal(access.mailbox, 'mbx-1');
    });

    it('an app in allowlist.apps (any case) is allow-listed', () => {
      const classifier = createClassifier(detection({ allowlist: { apps: [CLIENT_APP.toLowerCase()] } }));
      assert.equal(classifier(appRead(1, at('12:00:00'))), 'allow_listed');
      assert.equal(typeof classifier(appRead(1, at('12:00:00'), { client_app_id: 'other' })), 'object');
    });

    it('a user reading through a client app (UserType 0, the owner) stays the owner', () => {
      const classifier = createClassifier(detection());
      const owner = appRead(1, at('12:00:00'), { user_type: 0, app_id: GRAPH, client_app_id: CLIENT_APP });
      assert.equal(classifier(owner), 'owner');
    });

    it('system still wins: an app record with logon type SystemService is system', () => {
      const classifier = createClassifier(detection());
      assert.equal(classifier(appRead(1, at('12:00:00'), { logon_type: 4 })), 'system');
    });
  });

  describe('the user rules leave app accesses to the app rules', () => {
    it('25 app reads of one mailbox in 2 minutes: no non_owner_burst, counted as app', () => {
      const config = detection({ rules: { nonOwnerBurst: { threshold: 20, window: '5m' } } });
      const reads = Array.from({ length: 25 }, (_, i) => appRead(1, at('12:00:00') + i * 5_000));
      const { alerts, stats } = run(config, reads);
      assert.deepEqual(
        alerts.map((a) => a.rule).filter((r) => r === 'non_owner_burst' || r === 'mailbox_sweep'),
        [],
      );
      assert.equal(stats.app, 25);
      assert.equal(stats.nonOwner, 0);
      assert.equal(stats.owner, 0);
    });
  });
});
