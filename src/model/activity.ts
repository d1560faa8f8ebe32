/**
 * The ExchangeMailboxActivity record as the Avro schema `avro/ExchangeMailboxActivity.avsc` defines it
 * (snake_case, 29 properties in version 1, 38 in version 2). `creation_time` is epoch milliseconds (Avro
 * timestamp-millis, decoded without the logical type so no Date is allocated per record).
 *
 * The version 2 fields (app access, from `app_id` on) are optional here: records built by code that
 * predates them, and version 1 data, read them as absent, which means null. parseRecord always sets them.
 */
export interface ExchangeMailboxActivity {
  id: string;
  record_type: number;
  creation_time: number;
  operation: string;
  organization_id: string;
  user_type: number;
  user_key: string;
  workload: string | null;
  result_status: string | null;
  object_id: string | null;
  user_id: string;
  client_ip: string;
  scope: string | null;
  logon_type: number | null;
  internal_logon_type: number | null;
  mailbox_guid: string | null;
  mailbox_owner_upn: string | null;
  mailbox_owner_sid: string | null;
  mailbox_owner_master_account_sid: string | null;
  logon_user_sid: string | null;
  logon_user_display_name: string | null;
  external_access: boolean | null;
  originating_server: string | null;
  organization_name: string | null;
  client_info_string: string | null;
  client_ip_address: string | null;
  client_machine_name: string | null;
  client_process_name: string | null;
  client_version: string | null;
  // Version 2: app access (OAuth applications reading mail), all optional with null defaults.
  /** `AppId`: the application the token was issued to; Microsoft Graph's id when read through Graph. */
  app_id?: string | null;
  /** `ClientAppId` (else `AppAccessContext.ClientAppId`): the client that called, e.g. through Graph. */
  client_app_id?: string | null;
  /** `AppAccessContext.APIId` (or a top-level `APIId`/`ApiId`). */
  api_id?: string | null;
  /** `OperationProperties` `MailAccessType`: `Bind` or `Sync` (text; other values are kept as they are). */
  mail_access_type?: string | null;
  /** `OperationProperties` `IsThrottled`: "True" (any case) is true; present otherwise is false. */
  is_throttled?: boolean | null;
  /** `OperationCount`: the accesses one aggregated MailItemsAccessed record stands for. */
  operation_count?: number | null;
  /** `SessionId`: the Exchange session. */
  session_id?: string | null;
  /** `Folders[].Path`, in record order. */
  folder_paths?: string[] | null;
  /** `AppAccessContext.UniqueTokenId` (or a top-level `UniqueTokenId`): the token's id in sign-in logs. */
  unique_token_id?: string | null;
}

/** Field names in schema order. */
export const ACTIVITY_FIELDS = [
  'id',
  'record_type',
  'creation_time',
  'operation',
  'organization_id',
  'user_type',
  'user_key',
  'workload',
  'result_status',
  'object_id',
  'user_id',
  'client_ip',
  'scope',
  'logon_type',
  'internal_logon_type',
  'mailbox_guid',
  'mailbox_owner_upn',
  'mailbox_owner_sid',
  'mailbox_owner_master_account_sid',
  'logon_user_sid',
  'logon_user_display_name',
  'external_access',
  'originating_server',
  'organization_name',
  'client_info_string',
  'client_ip_address',
  'client_machine_name',
  'client_process_name',
  'client_version',
  'app_id',
  'client_app_id',
  'api_id',
  'mail_access_type',
  'is_throttled',
  'operation_count',
  'session_id',
  'folder_paths',
  'unique_token_id',
] as const satisfies readonly (keyof ExchangeMailboxActivity)[];

/** Management Activity API LogonType numbers. */
export const LogonType = {
  Owner: 0,
  Admin: 1,
  Delegated: 2,
  Transport: 3,
  SystemService: 4,
  BestAccess: 5,
  DelegatedAdmin: 6,
} as const;

/**
 * Management Activity API UserType numbers (the Office 365 Management Activity API schema, "Enum: User
 * Type"). Detection relies on Application (5) and ServicePrincipal (6): such a record is an app's access,
 * whatever its UserId and LogonType say (an app-only read logs the owner's UserId and LogonType 0).
 */
export const UserType = {
  Regular: 0,
  Reserved: 1,
  Admin: 2,
  DcAdmin: 3,
  System: 4,
  Application: 5,
  ServicePrincipal: 6,
  CustomPolicy: 7,
  SystemPolicy: 8,
} as const;

/** Management Activity API AuditLogRecordType numbers for Exchange mailbox records. */
export const RecordType = {
  ExchangeAdmin: 1,
  ExchangeItem: 2,
  ExchangeItemGroup: 3,
  ExchangeItemAggregated: 50,
} as const;
