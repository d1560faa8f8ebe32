import { connect, filter, merge, type OperatorFunction } from 'rxjs';
import { assembleCheckpoints } from './checkpoint.js';
import { classify } from './classify.js';
import { crossDomainBurst } from './cross-domain-burst.js';
import { dedupe } from './dedupe.js';
import { mailboxSweep } from './mailbox-sweep.js';
import { nonOwnerBurst } from './non-owner-burst.js';
import type { AccessFlow, CoreInput, CoreOutput, DetectionConfig, RuleOutput } from './types.js';
import { watermark, type WatermarkMode } from './watermark.js';

export interface DetectOptions {
  /**
   * `records` (default, replay): watermark = largest event time seen − allowed lateness.
   * `external` (Kafka): the watermark moves only on `{kind: 'watermark'}` inputs.
   */
  watermarks?: WatermarkMode;
}

/**
 * The detection core: records in, alerts out, on event time only (no clock, no I/O).
 *
 *   watermark (late records dropped) → classify (system / owner / allow-listed dropped)
 *     → dedupe → non_owner_burst ∥ cross_domain_burst ∥ mailbox_sweep → checkpoints joined
 *
 * Alerts leave as soon as a threshold is reached. A `{kind: 'checkpoint', id}` input is answered, after
 * every alert its preceding records caused, with the watermark, `neededFrom` (the earliest event time any
 * open state still needs; +Infinity when nothing is held) and the counters.
 *
 * @example
 * from(inputs).pipe(detect(config.detection)).subscribe((out) => out.kind === 'alert' && send(out.alert));
 */
export function detect(
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
