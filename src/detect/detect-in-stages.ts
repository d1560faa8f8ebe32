import { connect, filter, merge, type OperatorFunction } from 'rxjs';
import { assembleCheckpoints } from './checkpoint.js';
import { classify } from './classify.js';
import { crossDomainBurst } from './cross-domain-burst.js';
import { dedupe } from './dedupe.js';
import { mailboxSweep } from './mailbox-sweep.js';
import { nonOwnerBurst } from './non-owner-burst.js';
import type { DetectOptions } from './detect.js';
import type { AccessFlow, CoreInput, CoreOutput, DetectionConfig, RuleOutput } from './types.js';
import { watermark } from './watermark.js';

/**
 * The detection core composed of its stage operators, one per file:
 *
 *   watermark (late records dropped) → classify (system / owner / allow-listed dropped)
 *     → dedupe → non_owner_burst ∥ cross_domain_burst ∥ mailbox_sweep → checkpoints joined
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
  const rules: OperatorFunction<AccessFlow, RuleOutput>[] = [];
  if (config.rules.nonOwnerBurst.enabled) rules.push(nonOwnerBurst(config.rules.nonOwnerBurst));
  if (config.rules.crossDomainBurst.enabled) rules.push(crossDomainBurst(config.rules.crossDomainBurst));
  if (config.rules.mailboxSweep.enabled) rules.push(mailboxSweep(config.rules.mailboxSweep));

  const runRules: OperatorFunction<AccessFlow, RuleOutput> =
    rules.length === 0
      ? filter((flow): flow is Extract<AccessFlow, { kind: 'checkpoint' }> => flow.kind === 'checkpoint')
      : rules.length === 1
        ? (rules[0] as OperatorFunction<AccessFlow, RuleOutput>)
        : connect((shared) => merge(...rules.map((rule) => shared.pipe(rule))));

  return (source) =>
    source.pipe(
      watermark(config.allowedLatenessMs, options.watermarks ?? 'records'),
      classify(config),
      dedupe(),
      runRules,
      assembleCheckpoints(Math.max(1, rules.length)),
    );
}
