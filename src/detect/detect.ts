import { Observable, type OperatorFunction } from 'rxjs';
import { ClassTally, createClassifier } from './classify.js';
import { createCrossDomainBurstEngine } from './cross-domain-burst.js';
import { RememberedIds } from './dedupe.js';
import { createSweepEngine } from './mailbox-sweep.js';
import { createNonOwnerBurstEngine } from './non-owner-burst.js';
import type { RuleEngine } from './rule-operator.js';
import type { CoreInput, CoreOutput, DetectionConfig } from './types.js';
import { WatermarkClock, type WatermarkMode } from './watermark.js';

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
 * The stages run fused in this one operator, on the same state classes and rule engines as their own
 * operators (`watermark`, `classify`, `dedupe`, the rules; composed in `detectInStages`, which gives the
 * same outputs): a record costs one operator hop, and the 85% that are owner or system traffic leave
 * right after classification.
 *
 * @example
 * from(inputs).pipe(detect(config.detection)).subscribe((out) => out.kind === 'alert' && send(out.alert));
 */
export function detect(
  config: DetectionConfig,
  options: DetectOptions = {},
): OperatorFunction<CoreInput, CoreOutput> {
  const mode = options.watermarks ?? 'records';
  return (source) =>
    new Observable<CoreOutput>((subscriber) => {
      const clock = new WatermarkClock(config.allowedLatenessMs, mode);
      const tally = new ClassTally(createClassifier(config));
      const ids = new RememberedIds();
      const engines = createEngines(config);
      /** Tells the later stages of a watermark the clock announced (NaN: none). */
      const announce = (time: number): void => {
        if (Number.isNaN(time)) return;
        ids.forget(time);
        for (const engine of engines) engine.advance(time);
      };
      const subscription = source.subscribe({
        next(input) {
          if (input.kind === 'record') {
            const record = input.record;
            const time = record.creation_time;
            if (!clock.onTime(time)) return;
            const access = tally.access(record);
            if (access !== null && ids.admit(access)) {
              for (let i = 0; i < engines.length; i++) {
                const alert = (engines[i] as RuleEngine).add(access);
                if (alert !== null) subscriber.next({ kind: 'alert', alert });
              }
            }
            if (mode === 'records') announce(clock.afterRecord(time));
          } else if (input.kind === 'watermark') {
            announce(clock.advance(input.time, true));
          } else {
            announce(clock.advance(clock.current, true));
            const mark = clock.checkpoint(input.id);
            tally.report(mark.stats);
            ids.report(mark.stats);
            for (const engine of engines) engine.report(mark);
            subscriber.next({
              kind: 'checkpoint',
              id: mark.id,
              watermark: mark.watermark,
              neededFrom: mark.neededFrom,
              stats: mark.stats,
            });
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        ids.clear();
        for (const engine of engines) engine.clear();
      };
    });
}

/** The enabled rules' engines, in the order their alerts leave for one record. */
function createEngines(config: DetectionConfig): RuleEngine[] {
  const engines: RuleEngine[] = [];
  const rules = config.rules;
  if (rules.nonOwnerBurst.enabled) engines.push(createNonOwnerBurstEngine(rules.nonOwnerBurst));
  if (rules.crossDomainBurst.enabled) engines.push(createCrossDomainBurstEngine(rules.crossDomainBurst));
  if (rules.mailboxSweep.enabled) engines.push(createSweepEngine(rules.mailboxSweep));
  return engines;
}
