import type { OperatorFunction } from 'rxjs';
import { createSweepEngine } from './mailbox-sweep.js';
import { ruleOperator, type RuleEngine } from './rule-operator.js';
import type { AccessFlow, RuleConfig, RuleOutput, RuleSettings } from './types.js';

/**
 * `app_mailbox_sweep`: one app (user type Application or ServicePrincipal; the actor is its id) reads N
 * distinct mailboxes within T — default 6 within 10 minutes, i.e. more than 5, as Splunk ESCU's "O365
 * Multiple Mailboxes Accessed via API". The sweep's engine keyed by app: sliding event time, one alert per
 * episode, deterministic id; severity high (app-only access), critical when external access was seen or
 * the window holds twice the threshold in records.
 *
 * @example
 * accesses$.pipe(appMailboxSweep({ enabled: true, threshold: 6, windowMs: 600_000 }))
 */
export function appMailboxSweep(config: RuleConfig): OperatorFunction<AccessFlow, RuleOutput> {
  return ruleOperator(() => createAppSweepEngine(config));
}

export function createAppSweepEngine(config: RuleSettings): RuleEngine {
  return createSweepEngine(config, 'app_mailbox_sweep');
}
