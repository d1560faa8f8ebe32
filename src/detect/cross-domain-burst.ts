import type { OperatorFunction } from 'rxjs';
import { createBurstEngine } from './burst.js';
import { ruleOperator, type RuleEngine } from './rule-operator.js';
import type { AccessFlow, RuleConfig, RuleOutput, RuleSettings } from './types.js';

/**
 * `cross_domain_burst`: one actor's cross-domain accesses to one mailbox reach N within T (default 5
 * within 10 minutes). Cross-domain: the actor's and owner's domains are known and not in one
 * organization group, or external_access is true. Keyed by (mailbox, actor); severity high, critical
 * when external access was seen or the count is twice the threshold.
 *
 * @example
 * accesses$.pipe(crossDomainBurst({ enabled: true, threshold: 5, windowMs: 600_000 }))
 */
export function crossDomainBurst(config: RuleConfig): OperatorFunction<AccessFlow, RuleOutput> {
  return ruleOperator(() => createCrossDomainBurstEngine(config));
}

/** The rule's state machine, for running it without the operator (the fused core in detect.ts). */
// App accesses are left to the app rules, so one app's reads are not reported twice.
export function createCrossDomainBurstEngine(config: RuleSettings): RuleEngine {
  return createBurstEngine('cross_domain_burst', config, (access) => access.crossDomain && !access.app);
}
