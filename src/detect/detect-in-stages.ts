import { connect, defer, filter, map, merge, type OperatorFunction } from 'rxjs';
import type { BulkEngine } from './bulk-mail-access.js';
import { assembleCheckpoints } from './checkpoint.js';
import { classify } from './classify.js';
import { dedupe } from './dedupe.js';
import { markBlind, type DetectOptions } from './detect.js';
import { ruleEngines } from './engines.js';
import { PolicyBook } from './policies.js';
import { ruleOperator } from './rule-operator.js';
import type { AccessFlow, CoreInput, CoreOutput, DetectionConfig, RuleOutput } from './types.js';
import { watermark } from './watermark.js';

/**
 * The detection core composed of its stage operators, one per file:
 *
 *   watermark (late records dropped) → classify (system / owner / allow-listed dropped)
 *     → dedupe → bulk_mail_access ∥ non_owner_burst ∥ cross_domain_burst ∥ mailbox_sweep
 *                ∥ app_mailbox_sweep ∥ first_app_access → checkpoints joined → blind mailboxes marked
 *
 * It gives the same outputs as `detect`, which runs the same stages' state fused in one operator (a
 * record then costs one operator hop, not one per stage); the tests hold the two to each other.
 *
 * @example
 * from(inputs).pipe(detectInStages(config.detection)).subscribe((out) => out.kind === 'alert' && send(out.alert));
 */
export function detectInStages(
  config: DetectionConfig,
  options: DetectOptions = {},
): OperatorFunction<CoreInput, CoreOutput> {
  return (source) =>
    defer(() => {
      // The bulk engine of this subscription: the alerts of every rule are marked blind through it.
      let bulk: BulkEngine | null = null;
      // The same engines as `detect`'s (engines.ts), each behind its own operator; one policy book for all.
      const policies = PolicyBook.of(config.policies);
      const rules: OperatorFunction<AccessFlow, RuleOutput>[] = ruleEngines(config, policies).map((factory) =>
        ruleOperator((changes) => {
          const engine = factory.create(changes);
          if (factory.rule === 'bulk_mail_access') bulk = engine as BulkEngine;
          return engine;
        }),
      );

      const runRules: OperatorFunction<AccessFlow, RuleOutput> =
        rules.length === 0
          ? filter((flow): flow is Extract<AccessFlow, { kind: 'checkpoint' }> => flow.kind === 'checkpoint')
          : rules.length === 1
            ? (rules[0] as OperatorFunction<AccessFlow, RuleOutput>)
            : connect((shared) => merge(...rules.map((rule) => shared.pipe(rule))));

      return source.pipe(
        watermark(config.allowedLatenessMs, options.watermarks ?? 'records'),
        classify(config),
        dedupe(),
        runRules,
        assembleCheckpoints(Math.max(1, rules.length)),
        map((output) =>
          output.kind === 'alert' ? { ...output, alert: markBlind(output.alert, bulk) } : output,
        ),
      );
    });
}
