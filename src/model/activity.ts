/**
 * The ExchangeMailboxActivity record as the Avro schema `avro/ExchangeMailboxActivity.avsc` defines it
 * (snake_case, 29 properties). `creation_time` is epoch milliseconds (Avro timestamp-millis, decoded
 * without the logical type so no Date is allocated per record).
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

/** Management Activity API UserType numbers. */
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
