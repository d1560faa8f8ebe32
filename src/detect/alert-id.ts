import { createHash } from 'node:crypto';
import type { RuleName } from './types.js';

/**
 * The deterministic id of an alert: the first 32 hex digits of the SHA-256 of the rule, the key and the
 * ids of the records in the window that reached the threshold (sorted by event time, then id). The same
 * input gives the same id — also after a restart re-reads the same records — so consumers can drop
 * re-emitted alerts by id.
 */
export function alertId(rule: RuleName, key: string, recordIds: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(rule);
  hash.update('\n');
  hash.update(key);
  for (const id of recordIds) {
    hash.update('\n');
    hash.update(id);
  }
  return hash.digest('hex').slice(0, 32);
}
