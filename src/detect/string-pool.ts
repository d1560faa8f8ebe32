import type { ExchangeMailboxActivity } from '../model/activity.js';
import type { Access } from './types.js';

/**
 * One copy of each string the held records repeat. A decoder gives every record fresh strings, yet the
 * accesses a core holds for `allowedLateness` + the longest window repeat nearly all of theirs: the same
 * actor reading the same mailbox from the same client, hundreds of times. Held as they come, each access
 * costs about 1.6 KB of heap; with one copy of each string, about a third of that (BENCHMARKS.md §6), and
 * the copies a restore's replay makes die young instead of being promoted.
 *
 * Two generations of at most `generation` strings each: when the young one is full it becomes the old
 * one and the previous old one is dropped (strings still held by records stay; they are just no longer
 * shared with later records), so the pool's own size stays bounded whatever the traffic.
 */
export class StringPool {
  private young = new Map<string, string>();
  private old = new Map<string, string>();

  constructor(private readonly generation = 1 << 16) {}

  /** The pooled string equal to `text` (`text` itself, from now on, when none was). */
  get(text: string): string {
    const young = this.young.get(text);
    if (young !== undefined) return young;
    const found = this.old.get(text) ?? text;
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(found, found);
    return found;
  }

  /** The same for an optional value. */
  maybe<T extends string | null | undefined>(text: T): T {
    return (typeof text === 'string' ? this.get(text) : text) as T;
  }

  /** Strings the pool holds. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Gives an access about to be held, and its record, the pool's copies of their strings, in place (values
 * unchanged). The record's id, unique to it, is left as it is.
 */
export function poolAccess(access: Access, pool: StringPool): Access {
  const record: ExchangeMailboxActivity = access.record;
  record.operation = pool.get(record.operation);
  record.organization_id = pool.get(record.organization_id);
  record.user_key = pool.get(record.user_key);
  record.workload = pool.maybe(record.workload);
  record.result_status = pool.maybe(record.result_status);
  record.object_id = pool.maybe(record.object_id);
  record.user_id = pool.get(record.user_id);
  record.client_ip = pool.get(record.client_ip);
  record.scope = pool.maybe(record.scope);
  record.mailbox_guid = pool.maybe(record.mailbox_guid);
  record.mailbox_owner_upn = pool.maybe(record.mailbox_owner_upn);
  record.mailbox_owner_sid = pool.maybe(record.mailbox_owner_sid);
  record.mailbox_owner_master_account_sid = pool.maybe(record.mailbox_owner_master_account_sid);
  record.logon_user_sid = pool.maybe(record.logon_user_sid);
  record.logon_user_display_name = pool.maybe(record.logon_user_display_name);
  record.originating_server = pool.maybe(record.originating_server);
  record.organization_name = pool.maybe(record.organization_name);
  record.client_info_string = pool.maybe(record.client_info_string);
  record.client_ip_address = pool.maybe(record.client_ip_address);
  record.client_machine_name = pool.maybe(record.client_machine_name);
  record.client_process_name = pool.maybe(record.client_process_name);
  record.client_version = pool.maybe(record.client_version);
  if (record.app_id != null) record.app_id = pool.get(record.app_id);
  if (record.client_app_id != null) record.client_app_id = pool.get(record.client_app_id);
  if (record.api_id != null) record.api_id = pool.get(record.api_id);
  if (record.mail_access_type != null) record.mail_access_type = pool.get(record.mail_access_type);
  if (record.session_id != null) record.session_id = pool.get(record.session_id);
  if (record.unique_token_id != null) record.unique_token_id = pool.get(record.unique_token_id);
  const paths = record.folder_paths;
  if (paths != null) for (let i = 0; i < paths.length; i++) paths[i] = pool.get(paths[i] as string);
  const held = access as Mutable<Access>;
  held.actor = pool.get(access.actor);
  held.actorDomain = pool.maybe(access.actorDomain);
  held.mailbox = pool.get(access.mailbox);
  held.ownerUpn = pool.maybe(access.ownerUpn);
  held.pairKey = pool.get(access.pairKey);
  return access;
}
