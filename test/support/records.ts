import type { ExchangeMailboxActivity } from '../../src/model/activity.js';

/** A complete activity record (the 29 fields of version 1 set, version 2's app fields null), with overrides. */
export function fullActivity(
  n: number,
  overrides: Partial<ExchangeMailboxActivity> = {},
): ExchangeMailboxActivity {
  return {
    id: `0f1e2d3c-0000-4000-8000-${String(n).padStart(12, '0')}`,
    record_type: 50,
    creation_time: Date.UTC(2026, 10, 25, 12, 0, n),
    operation: 'MailItemsAccessed',
    organization_id: '2ad3fc79-1859-42fa-9011-6f8df2251b22',
    user_type: 0,
    user_key: `10032000C757D2${n}`,
    workload: 'Exchange',
    result_status: 'Succeeded',
    object_id: `/Inbox/${n}`,
    user_id: 'mallory@fabrikam.com',
    client_ip: '[2603:10b6:5:345::11]:443',
    scope: 'online',
    logon_type: 2,
    internal_logon_type: 2,
    mailbox_guid: '1799af14-918d-4035-98f7-536ec791ef58',
    mailbox_owner_upn: 'AdeleV@contoso.com',
    mailbox_owner_sid: 'S-1-5-21-430410588-604023349-2071471134-35151074',
    mailbox_owner_master_account_sid: 'S-1-5-10',
    logon_user_sid: 'S-1-5-21-430410588-604023349-2071471134-99999',
    logon_user_display_name: 'Mallory',
    external_access: true,
    originating_server: 'MWHPR06MB3440 (15.20.4065.028)',
    organization_name: 'contoso.onmicrosoft.com',
    client_info_string: 'Client=OWA;Action=ViaProxy',
    client_ip_address: '2603:10b6:5:345::11',
    client_machine_name: 'LAPTOP-1',
    client_process_name: 'outlook.exe',
    client_version: '16.0.1',
    app_id: null,
    client_app_id: null,
    api_id: null,
    mail_access_type: null,
    is_throttled: null,
    operation_count: null,
    session_id: null,
    folder_paths: null,
    unique_token_id: null,
    ...overrides,
  };
}

const MINUTE = 60_000;

/** `count` non-owner reads of one mailbox by one actor, `spacingMs` apart from `start`. */
export function burst(
  prefix: string,
  count: number,
  start: number,
  spacingMs: number,
  who: { actor: string; owner: string; mailbox: string; external?: boolean },
): ExchangeMailboxActivity[] {
  return Array.from({ length: count }, (_, i) =>
    fullActivity(0, {
      id: `${prefix}-${i}`,
      creation_time: start + i * spacingMs,
      user_id: who.actor,
      logon_user_sid: `S-1-5-21-1-2-3-${hash(who.actor)}`,
      logon_user_display_name: who.actor.split('@')[0] ?? who.actor,
      logon_type: 2,
      internal_logon_type: 2,
      mailbox_guid: who.mailbox,
      mailbox_owner_upn: who.owner,
      mailbox_owner_sid: `S-1-5-21-1-2-3-${hash(who.owner)}`,
      mailbox_owner_master_account_sid: null,
      external_access: who.external ?? false,
    }),
  );
}

/** One actor reading `mailboxes` distinct mailboxes once each. */
export function sweep(
  prefix: string,
  mailboxes: number,
  start: number,
  actor: string,
): ExchangeMailboxActivity[] {
  return Array.from(
    { length: mailboxes },
    (_, i) =>
      burst(`${prefix}-${i}`, 1, start + i * 10_000, 0, {
        actor,
        owner: `user${i}@contoso.com`,
        mailbox: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      })[0]!,
  );
}

/** Owners reading their own mail: never alertable. */
export function ownerNoise(prefix: string, count: number, start: number): ExchangeMailboxActivity[] {
  return Array.from({ length: count }, (_, i) => {
    const owner = `owner${i % 7}@contoso.com`;
    const sid = `S-1-5-21-9-9-9-${i % 7}`;
    return fullActivity(0, {
      id: `${prefix}-${i}`,
      creation_time: start + i * 1_000,
      user_id: owner,
      logon_type: 0,
      internal_logon_type: 0,
      logon_user_sid: sid,
      mailbox_owner_sid: sid,
      mailbox_owner_upn: owner,
      mailbox_guid: `11111111-0000-4000-8000-${String(i % 7).padStart(12, '0')}`,
      mailbox_owner_master_account_sid: null,
      external_access: false,
    });
  });
}

export const minutes = (n: number): number => n * MINUTE;

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
  return h % 100_000;
}
