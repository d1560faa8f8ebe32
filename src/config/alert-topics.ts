import { RULES, type RuleName } from '../model/alert.js';
import type { Config } from './types.js';

/** Each rule's alert topic (`topics.alerts.*`). */
export function alertTopicOf(config: Config): Record<RuleName, string> {
  const t = config.topics.alerts;
  return {
    non_owner_burst: t.nonOwnerBurst,
    cross_domain_burst: t.crossDomainBurst,
    mailbox_sweep: t.mailboxSweep,
    app_mailbox_sweep: t.appMailboxSweep,
    bulk_mail_access: t.bulkMailAccess,
    first_app_access: t.firstAppAccess,
    first_access: t.firstAccess,
  };
}

/** Every rule's alert topic, in the order of RULES. */
export function alertTopics(config: Config): string[] {
  const of = alertTopicOf(config);
  return RULES.map((rule) => of[rule]);
}
