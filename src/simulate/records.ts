import { LogonType, RecordType, UserType, type ExchangeMailboxActivity } from '../model/activity.js';
import type { Random } from './random.js';
import { GRAPH_APP_ID, type App, type Device, type Person, type Tenant } from './tenant.js';

/**
 * Builds audit records the way Exchange Online writes them for the simulated tenant: one function per
 * kind of access (owner, delegate or admin, SYSTEM, Transport, an app). Pure.
 */

/** Audit record types of the operations the simulation uses. */
const RECORD_TYPES: Record<string, number> = {
  MailItemsAccessed: RecordType.ExchangeItemAggregated,
  Send: RecordType.ExchangeItem,
  SendAs: RecordType.ExchangeItem,
  Create: RecordType.ExchangeItem,
  Update: RecordType.ExchangeItem,
  MailboxLogin: RecordType.ExchangeItem,
  UpdateInboxRules: RecordType.ExchangeItem,
  MoveToDeletedItems: RecordType.ExchangeItemGroup,
  SoftDelete: RecordType.ExchangeItemGroup,
  HardDelete: RecordType.ExchangeItemGroup,
  Move: RecordType.ExchangeItemGroup,
};

const FOLDERS: Record<string, string | null> = {
  MailItemsAccessed: null,
  Send: '\\Sent Items',
  SendAs: '\\Sent Items',
  Create: '\\Inbox',
  Update: '\\Inbox',
  MailboxLogin: null,
  UpdateInboxRules: '\\Inbox',
  MoveToDeletedItems: '\\Deleted Items',
  SoftDelete: '\\Recoverable Items\\Deletions',
  HardDelete: '\\Recoverable Items\\Purges',
  Move: '\\Archive',
};

/** What owners do in their own mailbox, with relative frequencies: mostly reading. */
export const OWNER_OPERATIONS = [
  ['MailItemsAccessed', 70],
  ['Send', 8],
  ['MoveToDeletedItems', 7],
  ['Update', 6],
  ['SoftDelete', 4],
  ['Create', 3],
  ['MailboxLogin', 1],
  ['HardDelete', 0.6],
  ['UpdateInboxRules', 0.4],
] as const satisfies readonly (readonly [string, number])[];

/** What delegates and admins do in someone else's mailbox. */
export const DELEGATE_OPERATIONS = [
  ['MailItemsAccessed', 85],
  ['SendAs', 5],
  ['Update', 5],
  ['MoveToDeletedItems', 5],
] as const satisfies readonly (readonly [string, number])[];

export interface Access {
  id: string;
  time: number;
  actor: Person;
  owner: Person;
  operation: string;
  logonType: number;
  externalAccess: boolean;
  device?: Device;
  userType?: number;
}

/** One person acting on one mailbox (their own or someone else's). */
export function accessRecord(random: Random, tenant: Tenant, access: Access): ExchangeMailboxActivity {
  const { actor, owner, operation } = access;
  const device = access.device ?? random.pick(actor.devices);
  return {
    id: access.id,
    record_type: RECORD_TYPES[operation] ?? RecordType.ExchangeItem,
    creation_time: access.time,
    operation,
    organization_id: tenant.organizationId,
    user_type: access.userType ?? (access.logonType === LogonType.Admin ? UserType.Admin : UserType.Regular),
    user_key: actor.userKey,
    workload: 'Exchange',
    result_status: 'Succeeded',
    object_id: FOLDERS[operation] ?? null,
    user_id: actor.upn,
    client_ip: device.clientIp,
    scope: 'online',
    logon_type: access.logonType,
    internal_logon_type: access.logonType,
    mailbox_guid: owner.mailboxGuid,
    mailbox_owner_upn: owner.upn,
    mailbox_owner_sid: owner.sid,
    mailbox_owner_master_account_sid: random.chance(0.1) ? 'S-1-5-10' : null,
    logon_user_sid: actor.sid,
    logon_user_display_name: actor.displayName,
    external_access: access.externalAccess,
    originating_server: owner.originatingServer,
    organization_name: tenant.organizationName,
    client_info_string: device.clientInfoString,
    client_ip_address: device.clientIpAddress,
    client_machine_name: device.machineName,
    client_process_name: device.processName,
    client_version: device.version,
    ...NO_APP_FIELDS,
  };
}

const SYSTEM_USERS = [
  'NT AUTHORITY\\SYSTEM',
  'NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)',
  'NT AUTHORITY\\SYSTEM (Microsoft.Exchange.Store.Worker)',
  'NT AUTHORITY\\SYSTEM (w3wp)',
];
const SYSTEM_OPERATIONS = [
  ['MailItemsAccessed', 40],
  ['Update', 25],
  ['MoveToDeletedItems', 15],
  ['HardDelete', 10],
  ['Move', 10],
] as const satisfies readonly (readonly [string, number])[];

/** Exchange itself (S-1-5-18) working in a mailbox: assistants, retention, indexing. */
export function systemRecord(
  random: Random,
  tenant: Tenant,
  id: string,
  time: number,
  owner: Person,
): ExchangeMailboxActivity {
  const userId = random.pick(SYSTEM_USERS);
  const operation = random.weighted(SYSTEM_OPERATIONS);
  const serverIp = `2001:db8:ffff:${random.int(1, 0xff).toString(16)}::${random.int(1, 0xfff).toString(16)}`;
  return {
    id,
    record_type: RECORD_TYPES[operation] ?? RecordType.ExchangeItem,
    creation_time: time,
    operation,
    organization_id: tenant.organizationId,
    user_type: UserType.System,
    user_key: userId,
    workload: 'Exchange',
    result_status: 'Succeeded',
    object_id: FOLDERS[operation] ?? null,
    user_id: userId,
    client_ip: random.chance(0.5) ? serverIp : `[${serverIp}]:${random.int(20_000, 60_000)}`,
    scope: 'online',
    logon_type: LogonType.SystemService,
    internal_logon_type: LogonType.SystemService,
    mailbox_guid: owner.mailboxGuid,
    mailbox_owner_upn: owner.upn,
    mailbox_owner_sid: owner.sid,
    mailbox_owner_master_account_sid: null,
    logon_user_sid: 'S-1-5-18',
    logon_user_display_name: 'NT AUTHORITY\\SYSTEM',
    // The audit log marks SYSTEM's access as external: the reason the system class exists at all.
    external_access: true,
    originating_server: owner.originatingServer,
    organization_name: tenant.organizationName,
    client_info_string: 'Client=Microsoft.Exchange.ServiceHost;Action=ViaProxy',
    client_ip_address: serverIp,
    client_machine_name: null,
    client_process_name: 'Microsoft.Exchange.ServiceHost.exe',
    client_version: null,
    ...NO_APP_FIELDS,
  };
}

/**
 * The transport service delivering into a mailbox on a sender's behalf: the sender's identity, logon
 * type Transport. Only the logon type tells it from a non-owner access, which is the point of it.
 */
export function transportRecord(
  random: Random,
  tenant: Tenant,
  id: string,
  time: number,
  sender: Person,
  owner: Person,
): ExchangeMailboxActivity {
  return {
    ...accessRecord(random, tenant, {
      id,
      time,
      actor: sender,
      owner,
      operation: random.chance(0.7) ? 'Create' : 'Send',
      logonType: LogonType.Transport,
      externalAccess: false,
    }),
    client_info_string: 'Client=Microsoft.Exchange.Transport',
    client_machine_name: null,
    client_process_name: null,
    client_version: null,
    ...NO_APP_FIELDS,
  };
}

export interface AppAccess {
  id: string;
  time: number;
  app: App;
  owner: Person;
  /** MailAccessType: Bind (items read) or Sync (folders downloaded). */
  accessType: 'Bind' | 'Sync';
  folders: readonly string[];
  operationCount: number;
  sessionId: string;
}

/**
 * An app-only read (docs/detection.md "App access"): MailItemsAccessed with the mailbox owner's UserId and
 * SID and LogonType 0, UserType Application, UserKey the app's id; through Graph AppId is Graph's and
 * ClientAppId the app, through EWS AppId is the app.
 */
export function appRecord(random: Random, tenant: Tenant, access: AppAccess): ExchangeMailboxActivity {
  const { app, owner } = access;
  const device = app.device;
  const graph = app.via === 'graph';
  return {
    id: access.id,
    record_type: RecordType.ExchangeItemAggregated,
    creation_time: access.time,
    operation: 'MailItemsAccessed',
    organization_id: tenant.organizationId,
    user_type: UserType.Application,
    user_key: app.id,
    workload: 'Exchange',
    result_status: 'Succeeded',
    object_id: null,
    user_id: owner.upn,
    client_ip: device.clientIp,
    scope: 'online',
    logon_type: LogonType.Owner,
    internal_logon_type: LogonType.Owner,
    mailbox_guid: owner.mailboxGuid,
    mailbox_owner_upn: owner.upn,
    mailbox_owner_sid: owner.sid,
    mailbox_owner_master_account_sid: null,
    logon_user_sid: owner.sid,
    logon_user_display_name: owner.displayName,
    external_access: false,
    originating_server: owner.originatingServer,
    organization_name: tenant.organizationName,
    client_info_string: device.clientInfoString,
    client_ip_address: device.clientIpAddress,
    client_machine_name: null,
    client_process_name: null,
    client_version: null,
    app_id: graph ? GRAPH_APP_ID : app.id,
    client_app_id: graph ? app.id : null,
    api_id: null,
    mail_access_type: access.accessType,
    is_throttled: false,
    operation_count: access.operationCount,
    session_id: access.sessionId,
    folder_paths: [...access.folders],
    unique_token_id: random.hex(22),
  };
}

/** Folders of a mailbox, as Folders[].Path writes them. */
export const MAILBOX_FOLDERS = [
  '\\Inbox',
  '\\Sent Items',
  '\\Drafts',
  '\\Deleted Items',
  '\\Archive',
  '\\Junk Email',
  '\\Calendar',
  '\\Contacts',
  '\\Notes',
  '\\Tasks',
  '\\Inbox\\Finance',
  '\\Inbox\\Legal',
  '\\Inbox\\Board',
  '\\Inbox\\HR',
  '\\Inbox\\Projects',
  '\\Outbox',
] as const;

/** Schema version 2's app-access fields, absent (null) on the simulated user traffic. */
const NO_APP_FIELDS = {
  app_id: null,
  client_app_id: null,
  api_id: null,
  mail_access_type: null,
  is_throttled: null,
  operation_count: null,
  session_id: null,
  folder_paths: null,
  unique_token_id: null,
} as const;
