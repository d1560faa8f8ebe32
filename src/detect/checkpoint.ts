import { Observable, type OperatorFunction } from 'rxjs';
import type { CoreOutput, RuleOutput } from './types.js';

/**
 * Joins the rules' answers to a checkpoint: each of the `branches` rule operators passes the same
 * checkpoint marker on after writing its part (alerts, keys, held records, the earliest time it still
 * needs); once all have, one checkpoint output leaves. Alerts and state changes pass at once. Rules answer synchronously, in order, so every
 * alert caused by records before the checkpoint has left before it.
 */
export function assembleCheckpoints(branches: number): OperatorFunction<RuleOutput, CoreOutput> {
  return (source) =>
    new Observable<CoreOutput>((subscriber) =>
      source.subscribe({
        next(output) {
          if (output.kind === 'alert' || output.kind === 'state') {
            subscriber.next(output);
            return;
          }
          output.branches++;
          if (output.branches === branches) {
            subscriber.next({
              kind: 'checkpoint',
              id: output.id,
              watermark: output.watermark,
              neededFrom: output.neededFrom,
              stats: output.stats,
            });
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}
