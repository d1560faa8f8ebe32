import { Observable, type OperatorFunction } from 'rxjs';
import type { MailboxAccessAlert } from '../model/alert.js';
import type { Access, AccessFlow, CheckpointMark, RuleOutput } from './types.js';

/** The state machine of one rule, behind the operator plumbing. */
export interface RuleEngine {
  /** Counts one access; returns the alert when it starts a burst episode. */
  add(access: Access): MailboxAccessAlert | null;
  /** Frees the state the watermark has passed. */
  advance(watermark: number): void;
  /** Writes the rule's counters and state needs into a checkpoint on its way through. */
  report(mark: CheckpointMark): void;
  clear(): void;
}

/**
 * Runs a rule engine as an operator: accesses in, alerts out (as soon as a threshold is reached), the
 * watermark frees state, checkpoints pass on with the rule's part filled in. The state lives per
 * subscription and is dropped on complete, error and unsubscribe.
 */
export function ruleOperator(createEngine: () => RuleEngine): OperatorFunction<AccessFlow, RuleOutput> {
  return (source) =>
    new Observable<RuleOutput>((subscriber) => {
      const engine = createEngine();
      const subscription = source.subscribe({
        next(flow) {
          if (flow.kind === 'access') {
            const alert = engine.add(flow);
            if (alert !== null) subscriber.next({ kind: 'alert', alert });
          } else if (flow.kind === 'watermark') {
            engine.advance(flow.time);
          } else {
            engine.report(flow);
            subscriber.next(flow);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        engine.clear();
      };
    });
}
