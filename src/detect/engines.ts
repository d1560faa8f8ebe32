import type { RuleName } from '../model/alert.js';
import { createBulkMailAccessEngine } from './bulk-mail-access.js';
import { createAppSweepEngine } from './app-mailbox-sweep.js';
import { createCrossDomainBurstEngine } from './cross-domain-burst.js';
import { createFirstAccessEngine } from './first-access.js';
import { createFirstAppAccessEngine } from './first-app-access.js';
import { createSweepEngine } from './mailbox-sweep.js';
import { createNonOwnerBurstEngine } from './non-owner-burst.js';
import type { PolicyBook } from './policies.js';
import { routeByPolicy } from './policy-router.js';
import type { RuleEngine } from './rule-operator.js';
import type { DetectionConfig, StateChange } from './types.js';

/** One enabled rule of a core: its name, and how to make its engine (state changes go to `changes`). */
export interface RuleEngineFactory {
  readonly rule: RuleName;
  create(changes: StateChange[]): RuleEngine;
}

/**
 * The enabled rules, in the order their alerts leave for one record; `detect` runs their engines fused,
 * `detectInStages` each behind its own operator. bulk_mail_access goes first: a throttled record marks its
 * mailbox blind before the other rules' alerts about it are built.
 *
 * `policies` is the core's compiled `detection.policies` (null: none). The windowed rules run one engine per
 * deciding policy (policy-router.ts); the others ask it per access. A rule off in `detection.rules` is off
 * whatever the policies say.
 */
export function ruleEngines(config: DetectionConfig, policies: PolicyBook | null): RuleEngineFactory[] {
  const rules = config.rules;
  const out: RuleEngineFactory[] = [];
  if (rules.bulkMailAccess.enabled)
    out.push({
      rule: 'bulk_mail_access',
      create: (changes) =>
        createBulkMailAccessEngine(rules.bulkMailAccess, changes, policies, longestWindowMs(config)),
    });
  if (rules.nonOwnerBurst.enabled)
    out.push({
      rule: 'non_owner_burst',
      create: () =>
        routeByPolicy(
          'non_owner_burst',
          'nonOwnerBurst',
          rules.nonOwnerBurst,
          policies,
          createNonOwnerBurstEngine,
        ),
    });
  if (rules.crossDomainBurst.enabled)
    out.push({
      rule: 'cross_domain_burst',
      create: () =>
        routeByPolicy(
          'cross_domain_burst',
          'crossDomainBurst',
          rules.crossDomainBurst,
          policies,
          createCrossDomainBurstEngine,
        ),
    });
  if (rules.mailboxSweep.enabled)
    out.push({
      rule: 'mailbox_sweep',
      create: () =>
        routeByPolicy('mailbox_sweep', 'mailboxSweep', rules.mailboxSweep, policies, (settings) =>
          createSweepEngine(settings),
        ),
    });
  if (rules.appMailboxSweep.enabled)
    out.push({
      rule: 'app_mailbox_sweep',
      create: () =>
        routeByPolicy(
          'app_mailbox_sweep',
          'appMailboxSweep',
          rules.appMailboxSweep,
          policies,
          createAppSweepEngine,
        ),
    });
  if (rules.firstAppAccess.enabled)
    out.push({
      rule: 'first_app_access',
      create: (changes) => createFirstAppAccessEngine(rules.firstAppAccess, changes, policies),
    });
  if (rules.firstAccess.enabled)
    out.push({
      rule: 'first_access',
      create: (changes) => createFirstAccessEngine(rules.firstAccess, changes, policies),
    });
  return out;
}

/**
 * The longest window of the rules with episodes whose alerts name one mailbox (so are marked blind), their
 * policies' included: an alert's detected_at lies at most that far before the watermark. (The sweeps name
 * no mailbox; first_access and first_app_access alert at the record's own time.)
 */
function longestWindowMs(config: DetectionConfig): number {
  const rules = ['nonOwnerBurst', 'crossDomainBurst', 'bulkMailAccess'] as const;
  let longest = 0;
  for (const rule of rules) {
    longest = Math.max(longest, config.rules[rule].windowMs);
    for (const policy of config.policies) longest = Math.max(longest, policy.rules[rule]?.windowMs ?? 0);
  }
  return longest;
}
