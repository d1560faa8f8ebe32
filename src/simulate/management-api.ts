import type { ExchangeMailboxActivity } from '../model/activity.js';

/**
 * A record as the Office 365 Management Activity API writes it: PascalCase properties, CreationTime in
 * UTC without a zone and to the second, absent properties left out. `simulate --format management-api`
 * writes these, which is what `ingest` reads in production.
 */
export function toManagementApi(record: ExchangeMailboxActivity): Record<string, unknown> {
  const out: Record<string, unknown> = {
    CreationTime: new Date(record.creation_time).toISOString().slice(0, 19),
    Id: record.id,
    Operation: record.operation,
    OrganizationId: record.organization_id,
    RecordType: record.record_type,
    ResultStatus: record.result_status,
    UserKey: record.user_key,
    UserType: record.user_type,
    Version: 1,
    Workload: record.workload,
    ObjectId: record.object_id,
    UserId: record.user_id,
    ClientIP: record.client_ip,
    Scope: record.scope,
    ClientIPAddress: record.client_ip_address,
    ClientInfoString: record.client_info_string,
    ClientMachineName: record.client_machine_name,
    ClientProcessName: record.client_process_name,
    ClientVersion: record.client_version,
    ExternalAccess: record.external_access,
    InternalLogonType: record.internal_logon_type,
    LogonType: record.logon_type,
    LogonUserDisplayName: record.logon_user_display_name,
    LogonUserSid: record.logon_user_sid,
    MailboxGuid: record.mailbox_guid,
    MailboxOwnerMasterAccountSid: record.mailbox_owner_master_account_sid,
    MailboxOwnerSid: record.mailbox_owner_sid,
    MailboxOwnerUPN: record.mailbox_owner_upn,
    OrganizationName: record.organization_name,
    OriginatingServer: record.originating_server,
    // Schema version 2's app fields, in the API's shapes (docs/detection.md "App access").
    AppId: record.app_id ?? null,
    ClientAppId: record.client_app_id ?? null,
    OperationCount: record.operation_count ?? null,
    SessionId: record.session_id ?? null,
  };
  // Optional in the type (records of version 1 readers lack them): undefined counts as null.
  const context: Record<string, unknown> = {
    APIId: record.api_id ?? null,
    UniqueTokenId: record.unique_token_id ?? null,
  };
  for (const key of Object.keys(context)) if (context[key] === null) delete context[key];
  if (Object.keys(context).length > 0) out.AppAccessContext = context;
  const properties: { Name: string; Value: string }[] = [];
  const accessType = record.mail_access_type ?? null;
  if (accessType !== null) properties.push({ Name: 'MailAccessType', Value: accessType });
  const throttled = record.is_throttled ?? null;
  if (throttled !== null) properties.push({ Name: 'IsThrottled', Value: throttled ? 'True' : 'False' });
  if (properties.length > 0) out.OperationProperties = properties;
  const folders = record.folder_paths ?? null;
  if (folders !== null) out.Folders = folders.map((path) => ({ Path: path }));
  for (const key of Object.keys(out)) if (out[key] === null) delete out[key];
  return out;
}
