import type { OperatorFunction } from 'rxjs';
import { createBurstEngine } from './burst.js';
import { ruleOperator, type RuleEngine } from './rule-operator.js';
import type { AccessFlow, RuleConfig, RuleOutput, RuleSettings } from './types.js';

/**
 * `non_owner_burst`: one actor's non-owner accesses to one mailbox reach N within T (default 20 within
 * 5 minutes); app accesses are left to the app rules. Keyed by (mailbox, actor); one alert per burst episode; severity medium, high when
 * external access was seen or the count is twice the threshold.
 *
 * @example
 * accesses$.pipe(nonOwnerBurst({ enabled: true, threshold: 20, windowMs: 300_000 }))
 */
export function nonOwnerBurst(config: RuleConfig): OperatorFunction<AccessFlow, RuleOutput> {
  return ruleOperator(() => createNonOwnerBurstEngine(config));
}

/** The rule's state machine, for running it without the operator (the fused core in detect.ts). */
export function createNonOwnerBurstEngine(config: RuleSettings): RuleEngine {
  return createBurstEngine('non_owner_burst', config, (access) => !access.app && !access.owner);
}
