import { createHash } from 'node:crypto';
import { map, type OperatorFunction } from 'rxjs';
import { RecordError } from '../errors.js';
import { LogonType, RecordType, UserType, type ExchangeMailboxActivity } from '../model/activity.js';
import { parseTimestamp } from './timestamp.js';

/**
 * Turns one decoded JSON value into an ExchangeMailboxActivity, or throws a RecordError naming the field
 * (as the input spells it) and what is wrong. Three shapes are read:
 * - snake_case, as the Avro schema (`creation_time` epoch ms or ISO-8601);
 * - PascalCase, as the Office 365 Management Activity API writes it (`CreationTime`, `ClientIP`, …);
 * - the Microsoft Sentinel `OfficeActivity` export (`TimeGenerated [UTC]`, `Logon_Type` names, "TRUE",
 *   numbers as text, `OfficeId` as the record id).
 * Enum names are accepted where numbers are expected ("Owner", "Regular", "ExchangeItem").
 *
 * @example
 * parseRecord(JSON.parse(line)); // → ExchangeMailboxActivity, or throws RecordError('creation_time', …)
 */
export function parseRecord(value: unknown): ExchangeMailboxActivity {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RecordError(null, `not a JSON object: ${preview(value)}`);
  }
  const v = value as Record<string, unknown>;
  if (v.id !== undefined || v.creation_time !== undefined) return fromSnakeCase(v);
  if (v['TimeGenerated [UTC]'] !== undefined || v.TimeGenerated !== undefined) return fromSentinel(v);
  if (v.Id !== undefined || v.CreationTime !== undefined) return fromManagementApi(v);
  return fromSnakeCase(v); // reports the first missing field
}

/** The same as an operator: valid records pass, a RecordError stands in for each invalid one. */
export function parseRecords(): OperatorFunction<unknown, ExchangeMailboxActivity | RecordError> {
  return map((value) => {
    try {
      return parseRecord(value);
    } catch (error) {
      if (error instanceof RecordError) return error;
      throw error;
    }
  });
}

/**
 * A record as the pipeline's codec gives it (avsc, the detection reader): checked as `parseRecord`'s typed
 * path checks it, and returned as it is instead of copied. Held accesses keep their records for
 * `allowedLateness` + the longest window, so the copy was a second object per access, and the one that
 * survived (BENCHMARKS.md §6, bench/held-path.ts). The fields the detection reader leaves out
 * (`FIELDS_NOT_READ_BY_DETECTION`) are absent rather than null: nothing in detection reads them. A value
 * the checks refuse takes `parseRecord`'s general path, which converts or names the field.
 */
export function parseDecoded(value: unknown): ExchangeMailboxActivity {
  const v = value as Record<string, unknown>;
  if (v !== null && typeof v === 'object' && typeof v.client_ip === 'string' && isTypedSnakeCase(v))
    return v as unknown as ExchangeMailboxActivity;
  return parseRecord(value);
}

// Object literals below list the fields in schema order, so every record shares one hidden class.

function fromSnakeCase(v: Record<string, unknown>): ExchangeMailboxActivity {
  return fromTypedSnakeCase(v) ?? fromAnySnakeCase(v);
}

/**
 * Whether every field but `client_ip` already has its type, as the Avro decoder gives it (absent fields
 * read as null or are left out): type checks only, no conversions, no calls. The callers check `client_ip`.
 */
function isTypedSnakeCase(v: Record<string, unknown>): boolean {
  const id = v.id;
  const recordType = v.record_type;
  const time = v.creation_time;
  const operation = v.operation;
  const organizationId = v.organization_id;
  const userType = v.user_type;
  const userKey = v.user_key;
  const userId = v.user_id;
  const logonType = v.logon_type;
  const internalLogonType = v.internal_logon_type;
  const externalAccess = v.external_access;
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    !isInt32(recordType) ||
    typeof time !== 'number' ||
    !Number.isInteger(time) ||
    typeof operation !== 'string' ||
    typeof organizationId !== 'string' ||
    !isInt32(userType) ||
    typeof userKey !== 'string' ||
    typeof userId !== 'string' ||
    !(logonType === undefined || logonType === null || isInt32(logonType)) ||
    !(internalLogonType === undefined || internalLogonType === null || isInt32(internalLogonType)) ||
    !(externalAccess === undefined || externalAccess === null || typeof externalAccess === 'boolean')
  )
    return false;
  const workload = v.workload;
  const resultStatus = v.result_status;
  const objectId = v.object_id;
  const scope = v.scope;
  const mailboxGuid = v.mailbox_guid;
  const ownerUpn = v.mailbox_owner_upn;
  const ownerSid = v.mailbox_owner_sid;
  const masterSid = v.mailbox_owner_master_account_sid;
  const logonSid = v.logon_user_sid;
  const displayName = v.logon_user_display_name;
  const server = v.originating_server;
  const organizationName = v.organization_name;
  const clientInfo = v.client_info_string;
  const clientIpAddress = v.client_ip_address;
  const machineName = v.client_machine_name;
  const processName = v.client_process_name;
  const clientVersion = v.client_version;
  const appId = v.app_id;
  const clientAppId = v.client_app_id;
  const apiId = v.api_id;
  const mailAccessType = v.mail_access_type;
  const isThrottled = v.is_throttled;
  const operationCount = v.operation_count;
  const sessionId = v.session_id;
  const folderPaths = v.folder_paths;
  const uniqueTokenId = v.unique_token_id;
  if (!(
    isOptionalText(workload) &&
    isOptionalText(resultStatus) &&
    isOptionalText(objectId) &&
    isOptionalText(scope) &&
    isOptionalText(mailboxGuid) &&
    isOptionalText(ownerUpn) &&
    isOptionalText(ownerSid) &&
    isOptionalText(masterSid) &&
    isOptionalText(logonSid) &&
    isOptionalText(displayName) &&
    isOptionalText(server) &&
    isOptionalText(organizationName) &&
    isOptionalText(clientInfo) &&
    isOptionalText(clientIpAddress) &&
    isOptionalText(machineName) &&
    isOptionalText(processName) &&
    isOptionalText(clientVersion) &&
    isOptionalText(appId) &&
    isOptionalText(clientAppId) &&
    isOptionalText(apiId) &&
    isOptionalText(mailAccessType) &&
    (isThrottled === undefined || isThrottled === null || typeof isThrottled === 'boolean') &&
    (operationCount === undefined || operationCount === null || isCount(operationCount)) &&
    isOptionalText(sessionId) &&
    (folderPaths === undefined || folderPaths === null || isTextList(folderPaths)) &&
    isOptionalText(uniqueTokenId)
  ))
    return false;
  return true;
}

/**
 * The snake_case shape when every field already has its type, as the Avro decoder gives it (absent
 * fields read as null): type checks only, no conversions, no calls. Null when any field needs the general
 * path, which converts or reports. Both paths give the same record for the input this one accepts.
 */
function fromTypedSnakeCase(v: Record<string, unknown>): ExchangeMailboxActivity | null {
  const clientIp = v.client_ip ?? v.client_ip_address;
  if (typeof clientIp !== 'string' || !isTypedSnakeCase(v)) return null;
  const id = v.id as string;
  const recordType = v.record_type as number;
  const time = v.creation_time as number;
  const operation = v.operation as string;
  const organizationId = v.organization_id as string;
  const userType = v.user_type as number;
  const userKey = v.user_key as string;
  const userId = v.user_id as string;
  const logonType = v.logon_type as number | null | undefined;
  const internalLogonType = v.internal_logon_type as number | null | undefined;
  const externalAccess = v.external_access as boolean | null | undefined;
  const workload = text(v.workload);
  const resultStatus = text(v.result_status);
  const objectId = text(v.object_id);
  const scope = text(v.scope);
  const mailboxGuid = text(v.mailbox_guid);
  const ownerUpn = text(v.mailbox_owner_upn);
  const ownerSid = text(v.mailbox_owner_sid);
  const masterSid = text(v.mailbox_owner_master_account_sid);
  const logonSid = text(v.logon_user_sid);
  const displayName = text(v.logon_user_display_name);
  const server = text(v.originating_server);
  const organizationName = text(v.organization_name);
  const clientInfo = text(v.client_info_string);
  const clientIpAddress = text(v.client_ip_address);
  const machineName = text(v.client_machine_name);
  const processName = text(v.client_process_name);
  const clientVersion = text(v.client_version);
  const appId = text(v.app_id);
  const clientAppId = text(v.client_app_id);
  const apiId = text(v.api_id);
  const mailAccessType = text(v.mail_access_type);
  const isThrottled = v.is_throttled as boolean | null | undefined;
  const operationCount = v.operation_count as number | null | undefined;
  const sessionId = text(v.session_id);
  const folderPaths = v.folder_paths as string[] | null | undefined;
  const uniqueTokenId = text(v.unique_token_id);
  return {
    id,
    record_type: recordType,
    creation_time: time,
    operation,
    organization_id: organizationId,
    user_type: userType,
    user_key: userKey,
    workload: workload ?? null,
    result_status: resultStatus ?? null,
    object_id: objectId ?? null,
    user_id: userId,
    client_ip: clientIp,
    scope: scope ?? null,
    logon_type: logonType ?? null,
    internal_logon_type: internalLogonType ?? null,
    mailbox_guid: mailboxGuid ?? null,
    mailbox_owner_upn: ownerUpn ?? null,
    mailbox_owner_sid: ownerSid ?? null,
    mailbox_owner_master_account_sid: masterSid ?? null,
    logon_user_sid: logonSid ?? null,
    logon_user_display_name: displayName ?? null,
    external_access: externalAccess ?? null,
    originating_server: server ?? null,
    organization_name: organizationName ?? null,
    client_info_string: clientInfo ?? null,
    client_ip_address: clientIpAddress ?? null,
    client_machine_name: machineName ?? null,
    client_process_name: processName ?? null,
    client_version: clientVersion ?? null,
    app_id: appId ?? null,
    client_app_id: clientAppId ?? null,
    api_id: apiId ?? null,
    mail_access_type: mailAccessType ?? null,
    is_throttled: isThrottled ?? null,
    operation_count: operationCount ?? null,
    session_id: sessionId ?? null,
    folder_paths: folderPaths ?? null,
    unique_token_id: uniqueTokenId ?? null,
  };
}

/** A whole number of accesses: non-negative, safe (Avro `long` as a JS number). */
/** A field the typed checks have found to be text or absent. */
function text(value: unknown): string | null | undefined {
  return value as string | null | undefined;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isTextList(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== 'string') return false;
  return true;
}

/** An integer in the Avro `int` range (what `requiredInt` accepts as a number, unchanged). */
function isInt32(value: unknown): value is number {
  return typeof value === 'number' && (value | 0) === value;
}

function isOptionalText(value: unknown): value is string | null | undefined {
  return value === undefined || value === null || typeof value === 'string';
}

/** The snake_case shape in general: numbers as text, enum names, ISO timestamps; errors name the field. */
function fromAnySnakeCase(v: Record<string, unknown>): ExchangeMailboxActivity {
  return {
    id: requiredId(v.id, 'id'),
    record_type: requiredInt(v.record_type, 'record_type', RECORD_TYPES),
    creation_time: requiredTime(v.creation_time, 'creation_time'),
    operation: requiredString(v.operation, 'operation'),
    organization_id: requiredString(v.organization_id, 'organization_id'),
    user_type: requiredInt(v.user_type, 'user_type', USER_TYPES),
    user_key: requiredString(v.user_key, 'user_key'),
    workload: optionalString(v.workload, 'workload'),
    result_status: optionalString(v.result_status, 'result_status'),
    object_id: optionalString(v.object_id, 'object_id'),
    user_id: requiredString(v.user_id, 'user_id'),
    client_ip: requiredString(v.client_ip ?? v.client_ip_address, 'client_ip'),
    scope: optionalString(v.scope, 'scope'),
    logon_type: optionalInt(v.logon_type, 'logon_type', LOGON_TYPES),
    internal_logon_type: optionalInt(v.internal_logon_type, 'internal_logon_type', LOGON_TYPES),
    mailbox_guid: optionalString(v.mailbox_guid, 'mailbox_guid'),
    mailbox_owner_upn: optionalString(v.mailbox_owner_upn, 'mailbox_owner_upn'),
    mailbox_owner_sid: optionalString(v.mailbox_owner_sid, 'mailbox_owner_sid'),
    mailbox_owner_master_account_sid: optionalString(
      v.mailbox_owner_master_account_sid,
      'mailbox_owner_master_account_sid',
    ),
    logon_user_sid: optionalString(v.logon_user_sid, 'logon_user_sid'),
    logon_user_display_name: optionalString(v.logon_user_display_name, 'logon_user_display_name'),
    external_access: optionalBoolean(v.external_access, 'external_access'),
    originating_server: optionalString(v.originating_server, 'originating_server'),
    organization_name: optionalString(v.organization_name, 'organization_name'),
    client_info_string: optionalString(v.client_info_string, 'client_info_string'),
    client_ip_address: optionalString(v.client_ip_address, 'client_ip_address'),
    client_machine_name: optionalString(v.client_machine_name, 'client_machine_name'),
    client_process_name: optionalString(v.client_process_name, 'client_process_name'),
    client_version: optionalString(v.client_version, 'client_version'),
    app_id: optionalString(v.app_id, 'app_id'),
    client_app_id: optionalString(v.client_app_id, 'client_app_id'),
    api_id: optionalString(v.api_id, 'api_id'),
    mail_access_type: optionalString(v.mail_access_type, 'mail_access_type'),
    is_throttled: optionalBoolean(v.is_throttled, 'is_throttled'),
    operation_count: optionalCount(v.operation_count, 'operation_count'),
    session_id: optionalString(v.session_id, 'session_id'),
    folder_paths: optionalTextList(v.folder_paths, 'folder_paths'),
    unique_token_id: optionalString(v.unique_token_id, 'unique_token_id'),
  };
}

/**
 * The API's PascalCase record. App access: `AppId`, `ClientAppId` (else `AppAccessContext.ClientAppId`),
 * `AppAccessContext.APIId` (or a top-level `APIId`/`ApiId`), `OperationProperties` as a [{Name, Value}]
 * list (`MailAccessType`, `IsThrottled`), `OperationCount`, `SessionId`, `Folders[].Path` and
 * `AppAccessContext.UniqueTokenId` (or a top-level `UniqueTokenId`).
 */
function fromManagementApi(v: Record<string, unknown>): ExchangeMailboxActivity {
  const context = optionalObject(v.AppAccessContext, 'AppAccessContext');
  const properties = operationProperties(v.OperationProperties, 'OperationProperties');
  return {
    id: requiredId(v.Id, 'Id'),
    record_type: requiredInt(v.RecordType, 'RecordType', RECORD_TYPES),
    creation_time: requiredTime(v.CreationTime, 'CreationTime'),
    operation: requiredString(v.Operation, 'Operation'),
    organization_id: requiredString(v.OrganizationId, 'OrganizationId'),
    user_type: requiredInt(v.UserType, 'UserType', USER_TYPES),
    user_key: requiredString(v.UserKey, 'UserKey'),
    workload: optionalString(v.Workload, 'Workload'),
    result_status: optionalString(v.ResultStatus, 'ResultStatus'),
    object_id: optionalString(v.ObjectId, 'ObjectId'),
    user_id: requiredString(v.UserId, 'UserId'),
    client_ip: requiredString(v.ClientIP ?? v.ClientIPAddress, 'ClientIP'),
    scope: optionalString(v.Scope, 'Scope'),
    logon_type: optionalInt(v.LogonType, 'LogonType', LOGON_TYPES),
    internal_logon_type: optionalInt(v.InternalLogonType, 'InternalLogonType', LOGON_TYPES),
    mailbox_guid: optionalString(v.MailboxGuid, 'MailboxGuid'),
    mailbox_owner_upn: optionalString(v.MailboxOwnerUPN, 'MailboxOwnerUPN'),
    mailbox_owner_sid: optionalString(v.MailboxOwnerSid, 'MailboxOwnerSid'),
    mailbox_owner_master_account_sid: optionalString(
      v.MailboxOwnerMasterAccountSid,
      'MailboxOwnerMasterAccountSid',
    ),
    logon_user_sid: optionalString(v.LogonUserSid, 'LogonUserSid'),
    logon_user_display_name: optionalString(v.LogonUserDisplayName, 'LogonUserDisplayName'),
    external_access: optionalBoolean(v.ExternalAccess, 'ExternalAccess'),
    originating_server: optionalString(v.OriginatingServer, 'OriginatingServer'),
    organization_name: optionalString(v.OrganizationName, 'OrganizationName'),
    client_info_string: optionalString(v.ClientInfoString, 'ClientInfoString'),
    client_ip_address: optionalString(v.ClientIPAddress, 'ClientIPAddress'),
    client_machine_name: optionalString(v.ClientMachineName, 'ClientMachineName'),
    client_process_name: optionalString(v.ClientProcessName, 'ClientProcessName'),
    client_version: optionalString(v.ClientVersion, 'ClientVersion'),
    app_id: optionalString(v.AppId, 'AppId'),
    client_app_id:
      optionalString(v.ClientAppId, 'ClientAppId') ??
      optionalString(context?.ClientAppId, 'AppAccessContext.ClientAppId'),
    api_id:
      optionalString(v.APIId ?? v.ApiId, 'APIId') ??
      optionalString(context?.APIId ?? context?.ApiId, 'AppAccessContext.APIId'),
    mail_access_type: properties.mailAccessType,
    is_throttled: properties.isThrottled,
    operation_count: optionalCount(v.OperationCount, 'OperationCount'),
    session_id: optionalString(v.SessionId, 'SessionId'),
    folder_paths: folderPaths(v.Folders, 'Folders'),
    unique_token_id:
      optionalString(context?.UniqueTokenId, 'AppAccessContext.UniqueTokenId') ??
      optionalString(v.UniqueTokenId, 'UniqueTokenId'),
  };
}

/**
 * The Sentinel export: every value is text and "" means absent. The record id is `OfficeId` (the audit
 * record's Id; `SourceRecordId` or `Id` where that is missing); a row with none gets a derived id, the
 * first 32 hex digits of the SHA-256 of the row's JSON, so the same row always gets the same id.
 */
function fromSentinel(v: Record<string, unknown>): ExchangeMailboxActivity {
  // Nested values are JSON text in the export ("[{\"Value\":\"Bind\",\"Name\":\"MailAccessType\"}]").
  const properties = operationProperties(
    sentinelJson(v.OperationProperties, 'OperationProperties'),
    'OperationProperties',
  );
  const id =
    sentinelText(v.OfficeId, 'OfficeId') ??
    sentinelText(v.SourceRecordId, 'SourceRecordId') ??
    sentinelText(v.Id, 'Id');
  return {
    id: id ?? derivedId(v),
    record_type: requiredInt(v.RecordType, 'RecordType', RECORD_TYPES),
    creation_time: requiredTime(v['TimeGenerated [UTC]'] ?? v.TimeGenerated, 'TimeGenerated [UTC]'),
    operation: requiredString(v.Operation, 'Operation'),
    organization_id: requiredString(v.OrganizationId ?? v.OrganizationId_, 'OrganizationId'),
    user_type: requiredInt(v.UserType, 'UserType', USER_TYPES),
    user_key: requiredString(v.UserKey, 'UserKey'),
    workload: sentinelText(v.OfficeWorkload, 'OfficeWorkload'),
    result_status: sentinelText(v.ResultStatus, 'ResultStatus'),
    object_id: sentinelText(v.OfficeObjectId, 'OfficeObjectId'),
    user_id: requiredString(v.UserId ?? v.UserId_, 'UserId'),
    client_ip: sentinelText(v.ClientIP ?? v.ClientIP_, 'ClientIP') ?? '',
    scope: sentinelText(v.Scope, 'Scope'),
    logon_type: optionalInt(v.Logon_Type ?? v.LogonType, 'Logon_Type', LOGON_TYPES),
    internal_logon_type: optionalInt(v.InternalLogonType, 'InternalLogonType', LOGON_TYPES),
    mailbox_guid: sentinelText(v.MailboxGuid, 'MailboxGuid'),
    mailbox_owner_upn: sentinelText(v.MailboxOwnerUPN, 'MailboxOwnerUPN'),
    mailbox_owner_sid: sentinelText(v.MailboxOwnerSid, 'MailboxOwnerSid'),
    mailbox_owner_master_account_sid: sentinelText(
      v.MailboxOwnerMasterAccountSid,
      'MailboxOwnerMasterAccountSid',
    ),
    logon_user_sid: sentinelText(v.LogonUserSid, 'LogonUserSid'),
    logon_user_display_name: sentinelText(v.LogonUserDisplayName, 'LogonUserDisplayName'),
    external_access: optionalBoolean(v.ExternalAccess, 'ExternalAccess'),
    originating_server: sentinelText(v.OriginatingServer, 'OriginatingServer'),
    organization_name: sentinelText(v.OrganizationName, 'OrganizationName'),
    client_info_string: sentinelText(v.ClientInfoString, 'ClientInfoString'),
    client_ip_address: sentinelText(v.Client_IPAddress ?? v.ClientIPAddress, 'Client_IPAddress'),
    client_machine_name: sentinelText(v.ClientMachineName, 'ClientMachineName'),
    client_process_name: sentinelText(v.ClientProcessName, 'ClientProcessName'),
    client_version: sentinelText(v.ClientVersion, 'ClientVersion'),
    app_id: sentinelText(v.AppId, 'AppId'),
    client_app_id: sentinelText(v.ClientAppId, 'ClientAppId'),
    api_id: sentinelText(v.APIId ?? v.ApiId, 'APIId'),
    mail_access_type: properties.mailAccessType,
    is_throttled: properties.isThrottled,
    operation_count: optionalCount(sentinelText(v.OperationCount, 'OperationCount'), 'OperationCount'),
    session_id: sentinelText(v.SessionId, 'SessionId'),
    folder_paths: folderPaths(sentinelJson(v.Folders, 'Folders'), 'Folders'),
    unique_token_id: sentinelText(v.UniqueTokenId, 'UniqueTokenId'),
  };
}

function derivedId(v: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 32);
}

// ---- field readers ---------------------------------------------------------------------------------

function requiredId(value: unknown, field: string): string {
  const id = requiredString(value, field);
  if (id.length === 0) throw new RecordError(field, 'empty');
  return id;
}

function requiredString(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) throw new RecordError(field, 'missing');
  throw new RecordError(field, `expected a string, got ${describe(value)}`);
}

function optionalString(value: unknown, field: string): string | null {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return null;
  throw new RecordError(field, `expected a string or null, got ${describe(value)}`);
}

/** Sentinel text: trailing CR/LF and blanks trimmed, "" is absent. */
function sentinelText(value: unknown, field: string): string | null {
  const text = optionalString(value, field);
  if (text === null || text.length === 0) return null;
  const trimmed = text.charCodeAt(text.length - 1) <= 32 ? text.trimEnd() : text;
  return trimmed.length === 0 ? null : trimmed;
}

function requiredTime(value: unknown, field: string): number {
  if (value === undefined || value === null) throw new RecordError(field, 'missing');
  const time = parseTimestamp(value);
  if (time === undefined) throw new RecordError(field, `not a timestamp: ${preview(value)}`);
  return time;
}

type EnumNames = ReadonlyMap<string, number> & { readonly label: string };

function enumNames(
  label: string,
  values: Record<string, number>,
  aliases: Record<string, number> = {},
): EnumNames {
  const names = new Map<string, number>();
  for (const [name, n] of Object.entries({ ...values, ...aliases })) names.set(name.toLowerCase(), n);
  return Object.assign(names, { label });
}

const LOGON_TYPES = enumNames('LogonType', LogonType, { Delegate: LogonType.Delegated });
const USER_TYPES = enumNames('UserType', UserType);
const RECORD_TYPES = enumNames('RecordType', RecordType);

function requiredInt(value: unknown, field: string, names: EnumNames): number {
  if (value === undefined || value === null) throw new RecordError(field, 'missing');
  const n = toInt(value, names);
  if (n === undefined) throw new RecordError(field, `not a ${names.label} number or name: ${preview(value)}`);
  return n;
}

function optionalInt(value: unknown, field: string, names: EnumNames): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = toInt(value, names);
  if (n === undefined) throw new RecordError(field, `not a ${names.label} number or name: ${preview(value)}`);
  return n;
}

function toInt(value: unknown, names: EnumNames): number | undefined {
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= -2_147_483_648 && value <= 2_147_483_647 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^-?\d{1,10}$/.test(text)) return toInt(Number(text), names);
  return names.get(text.toLowerCase());
}

function optionalBoolean(value: unknown, field: string): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true') return true;
    if (text === 'false') return false;
  }
  throw new RecordError(field, `not a boolean: ${preview(value)}`);
}

function optionalCount(value: unknown, field: string): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = typeof value === 'string' && /^\s*\d{1,15}\s*$/.test(value) ? Number(value) : value;
  if (isCount(n)) return n;
  throw new RecordError(field, `not a count: ${preview(value)}`);
}

function optionalTextList(value: unknown, field: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (isTextList(value)) return value;
  throw new RecordError(field, `expected a list of strings or null, got ${describe(value)}`);
}

function optionalObject(value: unknown, field: string): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new RecordError(field, `expected an object or null, got ${describe(value)}`);
}

/** Sentinel's JSON text of a nested value; "" is absent. */
function sentinelJson(value: unknown, field: string): unknown {
  const text = sentinelText(value, field);
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RecordError(field, `not JSON: ${preview(text)}`);
  }
}

interface OperationProperties {
  mailAccessType: string | null;
  isThrottled: boolean | null;
}

/**
 * `OperationProperties`, a [{Name, Value}] list, entries matched by name in any case: `MailAccessType`
 * (text) and `IsThrottled` ("True" in any case is true, any other value false). Other entries are ignored.
 */
function operationProperties(value: unknown, field: string): OperationProperties {
  const out: OperationProperties = { mailAccessType: null, isThrottled: null };
  if (value === undefined || value === null) return out;
  if (!Array.isArray(value))
    throw new RecordError(field, `expected a list of {Name, Value}, got ${describe(value)}`);
  for (const entry of value as unknown[]) {
    if (entry === null || typeof entry !== 'object') continue;
    const { Name: name, Value: text } = entry as { Name?: unknown; Value?: unknown };
    if (typeof name !== 'string' || typeof text !== 'string') continue;
    const key = name.toLowerCase();
    if (key === 'mailaccesstype') out.mailAccessType = text;
    else if (key === 'isthrottled') out.isThrottled = text.trim().toLowerCase() === 'true';
  }
  return out;
}

/** `Folders[].Path`, in order; entries without a text Path are skipped. */
function folderPaths(value: unknown, field: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value))
    throw new RecordError(field, `expected a list of folders, got ${describe(value)}`);
  const paths: string[] = [];
  for (const folder of value as unknown[]) {
    const path =
      folder !== null && typeof folder === 'object' ? (folder as { Path?: unknown }).Path : undefined;
    if (typeof path === 'string') paths.push(path);
  }
  return paths;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${preview(value)}`;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
