import { Observable, type OperatorFunction } from 'rxjs';
import type { MailboxAccessAlert } from '../model/alert.js';
import type { Access, AccessFlow, CheckpointMark, RuleOutput, StateChange } from './types.js';

/** The state machine of one rule, behind the operator plumbing. */
export interface RuleEngine {
  /** Counts one access; returns the alert when it starts a burst episode. */
  add(access: Access): MailboxAccessAlert | null;
  /** Frees the state the watermark has passed (which closes episodes: see `take`). */
  advance(watermark: number): void;
  /**
   * The alert revisions produced since the last call beside `add`'s return: updates of growing episodes,
   * closes of ended ones (lifecycle.ts). Asked after every `add` and every `advance`.
   */
  take?(): readonly MailboxAccessAlert[];
  /** Writes the rule's counters and state needs into a checkpoint on its way through. */
  report(mark: CheckpointMark): void;
  clear(): void;
  /** Rules with state beyond their windows: takes a stored entry back (other stores are ignored). */
  restore?(store: string, key: string, value: number | null): void;
  /**
   * The rule keeps all its state in its stores (first_access): a replayed record, whose changes the restored
   * stores already hold and whose alerts were published before, would change nothing, and is not fed to it.
   */
  readonly storeOnly?: boolean;
}

/**
 * Runs a rule engine as an operator: accesses in, alerts out (as soon as a threshold is reached), the
 * watermark frees state, checkpoints pass on with the rule's part filled in. The state lives per
 * subscription and is dropped on complete, error and unsubscribe. State changes the engine pushes to
 * `changes` leave after the alert of the same access.
 */
export function ruleOperator(
  createEngine: (changes: StateChange[]) => RuleEngine,
): OperatorFunction<AccessFlow, RuleOutput> {
  return (source) =>
    new Observable<RuleOutput>((subscriber) => {
      const changes: StateChange[] = [];
      const engine = createEngine(changes);
      const drain = (): void => {
        if (changes.length === 0) return;
        for (const change of changes) subscriber.next(change);
        changes.length = 0;
      };
      const subscription = source.subscribe({
        next(flow) {
          if (flow.kind === 'access') {
            const alert = engine.add(flow);
            if (alert !== null) subscriber.next({ kind: 'alert', alert });
            for (const revision of engine.take?.() ?? []) subscriber.next({ kind: 'alert', alert: revision });
            drain();
          } else if (flow.kind === 'watermark') {
            engine.advance(flow.time);
            for (const revision of engine.take?.() ?? []) subscriber.next({ kind: 'alert', alert: revision });
            drain();
          } else if (flow.kind === 'restore') {
            engine.restore?.(flow.store, flow.key, flow.value);
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
