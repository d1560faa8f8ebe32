import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClassTally, createClassifier } from '../../src/detect/classify.js';
import { emptyStats, type Access } from '../../src/detect/types.js';
import { activity, detection } from './helpers.js';

const classifier = createClassifier(
  detection({
    organizationDomains: [['contoso.com', 'contoso.co.uk']],
    allowlist: {
      actors: ['SVC-Archive@contoso.com', 's-1-5-21-777'],
      delegates: { 'CEO@contoso.com': ['Assistant@Contoso.com'] },
    },
  }),
);
const classOf = (overrides: Parameters<typeof activity>[0]) => {
  const result = classifier(activity(overrides));
  return typeof result === 'string' ? result : 'non_owner';
};
const accessOf = (overrides: Parameters<typeof activity>[0]): Access => {
  const result = classifier(activity(overrides));
  assert.equal(typeof result, 'object', `expected a non-owner access, got ${String(result)}`);
  return result as Access;
};

describe('classify', () => {
  describe('system', () => {
    it('is logon type Transport (3) or SystemService (4)', () => {
      assert.equal(classOf({ logon_type: 3 }), 'system');
      assert.equal(classOf({ logon_type: 4 }), 'system');
      assert.equal(classOf({ logon_type: 1 }), 'non_owner');
    });

    it('is the well-known SIDs S-1-5-18/19/20 as logon SID or user id, in any case', () => {
      assert.equal(classOf({ logon_user_sid: 'S-1-5-18' }), 'system');
      assert.equal(classOf({ logon_user_sid: 's-1-5-19' }), 'system');
      assert.equal(classOf({ user_id: 'S-1-5-20', logon_user_sid: null }), 'system');
      assert.equal(classOf({ logon_user_sid: 'S-1-5-180' }), 'non_owner');
    });

    it('is a user id under NT AUTHORITY\\', () => {
      assert.equal(classOf({ user_id: 'NT AUTHORITY\\SYSTEM', logon_user_sid: null }), 'system');
      assert.equal(classOf({ user_id: 'nt authority\\network service', logon_user_sid: null }), 'system');
      assert.equal(classOf({ user_id: 'NT AUTHORITYX\\SYSTEM', logon_user_sid: null }), 'non_owner');
    });

    it('follows ignoreLogonTypes and can be switched off', () => {
      const custom = createClassifier(detection({ ignoreLogonTypes: ['Transport'] }));
      assert.equal(typeof custom(activity({ logon_type: 4 })), 'object');
      assert.equal(custom(activity({ logon_type: 3 })), 'system');
      const off = createClassifier(detection({ ignoreSystem: false }));
      const system = off(
        activity({ user_id: 'S-1-5-18', logon_user_sid: 'S-1-5-18', logon_type: 4, external_access: true }),
      );
      assert.equal(typeof system, 'object');
      assert.equal((system as Access).crossDomain, true);
    });
  });

  describe('owner', () => {
    it('is the logon SID equal to the owner SID, in any case', () => {
      assert.equal(classOf({ logon_user_sid: 'S-1-5-21-100' }), 'owner');
      assert.equal(classOf({ logon_user_sid: 's-1-5-21-100' }), 'owner');
    });

    it('is the logon SID equal to the master account SID', () => {
      assert.equal(
        classOf({ logon_user_sid: 'S-1-5-21-999', mailbox_owner_master_account_sid: 'S-1-5-21-999' }),
        'owner',
      );
    });

    it('trusts the SIDs over the logon type and user id when they are there', () => {
      assert.equal(classOf({ logon_type: 0, user_id: 'ceo@contoso.com' }), 'non_owner');
    });

    it('where SIDs are missing: logon type Owner (0)', () => {
      assert.equal(classOf({ logon_user_sid: null, logon_type: 0 }), 'owner');
      assert.equal(classOf({ mailbox_owner_sid: '', logon_type: 0 }), 'owner');
      assert.equal(classOf({ logon_user_sid: null, logon_type: 2 }), 'non_owner');
    });

    it('where SIDs are missing: user id equal to the owner UPN, in any case', () => {
      assert.equal(classOf({ logon_user_sid: null, user_id: 'CEO@Contoso.com' }), 'owner');
      assert.equal(classOf({ logon_user_sid: null, user_id: 'cfo@contoso.com' }), 'non_owner');
    });
  });

  describe('non-owner access', () => {
    it('normalises the actor, mailbox and owner', () => {
      const access = accessOf({
        user_id: ' Eve@Contoso.COM ',
        mailbox_guid: 'ABC-DEF',
        mailbox_owner_upn: 'CEO@Contoso.com',
      });
      assert.equal(access.actor, 'eve@contoso.com');
      assert.equal(access.actorDomain, 'contoso.com');
      assert.equal(access.mailbox, 'abc-def');
      assert.equal(access.ownerUpn, 'ceo@contoso.com');
      assert.equal(access.crossDomain, false);
    });

    it('uses the owner UPN as the mailbox when the GUID is missing', () => {
      assert.equal(accessOf({ mailbox_guid: null }).mailbox, 'ceo@contoso.com');
    });

    it('is unattributable without mailbox GUID and owner UPN', () => {
      assert.equal(classOf({ mailbox_guid: null, mailbox_owner_upn: null }), 'unattributable');
      assert.equal(classOf({ user_id: '', logon_user_sid: null }), 'unattributable');
    });

    it('takes the logon SID as actor when the user id is blank', () => {
      assert.equal(accessOf({ user_id: ' ', logon_user_sid: 's-1-5-21-200' }).actor, 'S-1-5-21-200');
    });

    it('is cross-domain when the domains differ outside one organization group', () => {
      assert.equal(accessOf({ user_id: 'mallory@fabrikam.com' }).crossDomain, true);
      assert.equal(accessOf({ user_id: 'eve@contoso.co.uk' }).crossDomain, false);
      assert.equal(accessOf({ user_id: 'eve@eu.contoso.com' }).crossDomain, true);
    });

    it('is cross-domain when external_access is true', () => {
      assert.equal(accessOf({ external_access: true }).crossDomain, true);
    });

    it('is not cross-domain by domain when either domain is unknown', () => {
      assert.equal(accessOf({ user_id: 'S-1-5-21-555' }).crossDomain, false);
      assert.equal(accessOf({ user_id: 'S-1-5-21-555' }).actorDomain, null);
      assert.equal(accessOf({ user_id: 'mallory@fabrikam.com', mailbox_owner_upn: null }).crossDomain, false);
    });
  });

  describe('allow-list', () => {
    it('covers listed actors, UPN or SID, in any case', () => {
      assert.equal(classOf({ user_id: 'svc-archive@CONTOSO.com' }), 'allow_listed');
      assert.equal(classOf({ user_id: 'S-1-5-21-777' }), 'allow_listed');
    });

    it("covers a delegate on that owner's mailbox only", () => {
      assert.equal(classOf({ user_id: 'assistant@contoso.com' }), 'allow_listed');
      assert.equal(
        classOf({ user_id: 'assistant@contoso.com', mailbox_owner_upn: 'cfo@contoso.com' }),
        'non_owner',
      );
    });
  });
});

describe('ClassTally', () => {
  it('passes non-owner accesses on and counts the records it drops by class', () => {
    const tally = new ClassTally(classifier);
    const records = [
      activity({ logon_type: 3 }), // system
      activity({ logon_user_sid: 'S-1-5-21-100' }), // owner (same SID)
      activity({ logon_type: 0, logon_user_sid: null }), // owner (logon type, SIDs missing)
      activity({ mailbox_guid: null, mailbox_owner_upn: null }), // unattributable
      activity({ user_id: 'svc-archive@contoso.com' }), // allow-listed
      activity(), // non-owner
    ];
    const passed = records.map((record) => tally.access(record));
    assert.deepEqual(
      passed.map((access) => access?.actor ?? null),
      [null, null, null, null, null, 'eve@contoso.com'],
    );
    const stats = emptyStats();
    tally.report(stats);
    assert.deepEqual([stats.system, stats.owner, stats.unattributable, stats.allowListed], [1, 2, 1, 1]);
  });
});
