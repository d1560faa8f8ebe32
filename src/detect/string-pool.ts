import type { ExchangeMailboxActivity } from '../model/activity.js';
import type { Access } from './types.js';

/**
 * One copy of the strings that held accesses repeat. A decoder gives every record fresh strings, yet the
 * accesses a core holds for `allowedLateness` + the longest window repeat nearly all of theirs: the same
 * actor reads the same mailbox from the same client hundreds of times, and tenant-wide values (the
 * organization, the workload, the server) are on every record. Held as they come, each access costs about
 * 1.6 KB of heap (BENCHMARKS.md §6).
 *
 * Interning every string through a hash table would cost a hash of each fresh string (thirty a record); here
 * each access is compared, field by field, with the previous access of its (mailbox, actor) pair and with
 * the previous access of any pair, and takes their copy of each equal string. Two strings of different
 * lengths compare in one step, so a record costs one lookup by its pair key (which the rules hash anyway)
 * and a few dozen short comparisons.
 *
 * The previous access per pair is kept in two generations of at most `generation` pairs each: when the
 * young one is full it becomes the old one and the previous old one is dropped, so what the pool itself
 * keeps alive is bounded whatever the traffic.
 */
export class StringPool {
  private young = new Map<string, Access>();
  private old = new Map<string, Access>();
  private last: Access | undefined;

  constructor(private readonly generation = 1 << 14) {}

  /** Gives `access` (about to be passed on) the pooled copies of its equal strings, and remembers it. */
  take(access: Access): Access {
    const key = access.pairKey;
    let previous = this.young.get(key);
    if (previous === undefined) {
      previous = this.old.get(key);
      if (this.young.size >= this.generation) {
        this.old = this.young;
        this.young = new Map();
      }
    }
    const last = this.last;
    if (previous !== undefined) share(access, previous, last ?? previous);
    else if (last !== undefined) share(access, last, last);
    // The shared key: the rules' maps keep it, and the next lookup of this pair finds its hash computed.
    this.young.set(access.pairKey, access);
    this.last = access;
    return access;
  }

  /** Pairs remembered. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
    this.last = undefined;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** `value`, or the first of `a`, `b` equal to it (one copy of equal strings; nulls as they are). */
function pick<T extends string | null | undefined>(value: T, a: T, b: T): T {
  return value === a ? a : value === b ? b : value;
}

/**
 * Gives `access` and its record the strings of `like` (the same pair's previous access) and `any` (the
 * previous access) where they are equal, in place: values unchanged. The record's id, unique to it, stays.
 */
function share(access: Access, like: Access, any: Access): void {
  const record: ExchangeMailboxActivity = access.record;
  const a = like.record;
  const b = any.record;
  record.operation = pick(record.operation, a.operation, b.operation);
  record.organization_id = pick(record.organization_id, a.organization_id, b.organization_id);
  record.user_key = pick(record.user_key, a.user_key, b.user_key);
  record.user_id = pick(record.user_id, a.user_id, b.user_id);
  record.client_ip = pick(record.client_ip, a.client_ip, b.client_ip);
  record.mailbox_guid = pick(record.mailbox_guid, a.mailbox_guid, b.mailbox_guid);
  record.mailbox_owner_upn = pick(record.mailbox_owner_upn, a.mailbox_owner_upn, b.mailbox_owner_upn);
  record.mailbox_owner_sid = pick(record.mailbox_owner_sid, a.mailbox_owner_sid, b.mailbox_owner_sid);
  record.mailbox_owner_master_account_sid = pick(
    record.mailbox_owner_master_account_sid,
    a.mailbox_owner_master_account_sid,
    b.mailbox_owner_master_account_sid,
  );
  record.logon_user_sid = pick(record.logon_user_sid, a.logon_user_sid, b.logon_user_sid);
  record.logon_user_display_name = pick(
    record.logon_user_display_name,
    a.logon_user_display_name,
    b.logon_user_display_name,
  );
  record.client_info_string = pick(record.client_info_string, a.client_info_string, b.client_info_string);
  record.client_ip_address = pick(record.client_ip_address, a.client_ip_address, b.client_ip_address);
  // Fields detection never reads: absent from records the pipeline's codec decodes (parseDecoded), and
  // left absent; shared when present (replay's records, parsed with every field).
  if (record.workload != null) record.workload = pick(record.workload, a.workload, b.workload);
  if (record.result_status != null)
    record.result_status = pick(record.result_status, a.result_status, b.result_status);
  if (record.object_id != null) record.object_id = pick(record.object_id, a.object_id, b.object_id);
  if (record.scope != null) record.scope = pick(record.scope, a.scope, b.scope);
  if (record.originating_server != null)
    record.originating_server = pick(record.originating_server, a.originating_server, b.originating_server);
  if (record.organization_name != null)
    record.organization_name = pick(record.organization_name, a.organization_name, b.organization_name);
  if (record.client_machine_name != null)
    record.client_machine_name = pick(
      record.client_machine_name,
      a.client_machine_name,
      b.client_machine_name,
    );
  if (record.client_process_name != null)
    record.client_process_name = pick(
      record.client_process_name,
      a.client_process_name,
      b.client_process_name,
    );
  if (record.client_version != null)
    record.client_version = pick(record.client_version, a.client_version, b.client_version);
  // Version 2 fields: absent (undefined) on records of a version 1 writer, and left absent.
  if (record.app_id != null) record.app_id = pick(record.app_id, a.app_id, b.app_id);
  if (record.client_app_id != null)
    record.client_app_id = pick(record.client_app_id, a.client_app_id, b.client_app_id);
  if (record.api_id != null) record.api_id = pick(record.api_id, a.api_id, b.api_id);
  if (record.mail_access_type != null)
    record.mail_access_type = pick(record.mail_access_type, a.mail_access_type, b.mail_access_type);
  if (record.session_id != null) record.session_id = pick(record.session_id, a.session_id, b.session_id);
  if (record.unique_token_id != null)
    record.unique_token_id = pick(record.unique_token_id, a.unique_token_id, b.unique_token_id);
  const paths = record.folder_paths;
  const pathsA = a.folder_paths;
  if (paths != null && pathsA != null && paths.length === pathsA.length) {
    let same = true;
    for (let i = 0; same && i < paths.length; i++) same = paths[i] === pathsA[i];
    if (same) record.folder_paths = pathsA;
  }
  const held = access as Mutable<Access>;
  held.actor = pick(access.actor, like.actor, any.actor);
  held.actorDomain = pick(access.actorDomain, like.actorDomain, any.actorDomain);
  held.mailbox = pick(access.mailbox, like.mailbox, any.mailbox);
  held.ownerUpn = pick(access.ownerUpn, like.ownerUpn, any.ownerUpn);
  held.pairKey = pick(access.pairKey, like.pairKey, any.pairKey);
}
