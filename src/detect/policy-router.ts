import type { RuleConfig, RulesConfig } from '../config/types.js';
import type { MailboxAccessAlert, RuleName } from '../model/alert.js';
import type { PolicyBook } from './policies.js';
import type { RuleEngine } from './rule-operator.js';
import type { Access, CheckpointMark, RuleSettings } from './types.js';

const NONE: readonly MailboxAccessAlert[] = Object.freeze([]);

/**
 * A windowed rule (the bursts, the sweeps) under `detection.policies`: one engine per policy that decides
 * some of the rule's keys, with that policy's threshold, window and severity, and the rule's own engine for
 * the keys no policy matches. Which policy decides depends on the rule's key alone (mailbox and actor, or
 * the actor for a sweep), so each key's accesses always reach the same engine: its windows, episodes and
 * alert lifecycle stay whole, exactly as without policies. A policy that turns the rule off for its keys has
 * no engine; their accesses are dropped. Engines are made when their first key comes.
 *
 * Without policies that can apply to the rule, this is the rule's own engine, unchanged.
 */
export function routeByPolicy(
  rule: RuleName,
  configKey: keyof RulesConfig,
  config: RuleConfig,
  book: PolicyBook | null,
  create: (settings: RuleSettings) => RuleEngine,
): RuleEngine {
  if (book === null || !book.applies(configKey)) return create(config);
  /** [0]: the rule's own engine; [i + 1]: policy i's (null: the policy turns the rule off). */
  const engines: (RuleEngine | null | undefined)[] = [];
  const engineOf = (index: number): RuleEngine | null => {
    let engine = engines[index + 1];
    if (engine === undefined) {
      engine = index < 0 ? create(config) : policyEngine(index);
      engines[index + 1] = engine;
    }
    return engine;
  };
  const policyEngine = (index: number): RuleEngine | null => {
    const policy = book.policies[index]!;
    const override = policy.rules[configKey];
    if (override?.enabled === false) return null;
    return create({
      enabled: true,
      threshold: override?.threshold ?? config.threshold,
      windowMs: override?.windowMs ?? config.windowMs,
      severity: override?.severity,
      policy: policy.name,
    });
  };

  return {
    add(access: Access): MailboxAccessAlert | null {
      return engineOf(book.indexOf(configKey, access))?.add(access) ?? null;
    },

    advance(watermark: number): void {
      for (const engine of engines) engine?.advance(watermark);
    },

    take(): readonly MailboxAccessAlert[] {
      let out: MailboxAccessAlert[] | undefined;
      for (const engine of engines) {
        const taken = engine?.take?.();
        if (taken !== undefined && taken.length > 0) (out ??= []).push(...taken);
      }
      return out ?? NONE;
    },

    report(mark: CheckpointMark): void {
      // Each engine writes its own alert count; the rule's is their sum.
      let alerts = 0;
      for (const engine of engines) {
        if (engine === null || engine === undefined) continue;
        engine.report(mark);
        alerts += mark.stats.alerts[rule];
      }
      mark.stats.alerts[rule] = alerts;
    },

    clear(): void {
      for (const engine of engines) engine?.clear();
      engines.length = 0;
    },
  };
}
