import { Observable, type OperatorFunction } from 'rxjs';
import type { AccessFlow } from './types.js';

/**
 * Drops repeated deliveries of one record (same id), which the audit API produces. Only accesses that
 * the rules could count pass this stage, so only their ids are remembered, and only while they are not
 * older than the watermark: a copy of an older record is late anyway (same id, same event time) and the
 * watermark stage drops it. Memory follows the non-owner traffic within the allowed lateness, not all
 * records ever seen. Also counts the distinct non-owner (and cross-domain) accesses.
 *
 * @example
 * accesses$.pipe(dedupe()) // the same id 25 times → once
 */
export function dedupe(): OperatorFunction<AccessFlow, AccessFlow> {
  return (source) =>
    new Observable<AccessFlow>((subscriber) => {
      const seen = new Map<string, number>(); // id → event time
      // Ids in arrival order, to forget them once the watermark has passed; a record far ahead of the
      // rest holds the ones behind it a little longer, which costs memory only.
      let queue: string[] = [];
      let head = 0;
      let duplicates = 0;
      let nonOwner = 0;
      let crossDomain = 0;
      const subscription = source.subscribe({
        next(flow) {
          if (flow.kind === 'access') {
            if (seen.has(flow.id)) {
              duplicates++;
              return;
            }
            seen.set(flow.id, flow.time);
            queue.push(flow.id);
            nonOwner++;
            if (flow.crossDomain) crossDomain++;
          } else if (flow.kind === 'watermark') {
            while (head < queue.length) {
              const id = queue[head] as string;
              if ((seen.get(id) as number) >= flow.time) break;
              seen.delete(id);
              head++;
            }
            if (head > 1024 && head * 2 > queue.length) {
              queue = queue.slice(head);
              head = 0;
            }
          } else {
            flow.stats.duplicates = duplicates;
            flow.stats.nonOwner = nonOwner;
            flow.stats.crossDomain = crossDomain;
            flow.stats.rememberedIds = seen.size;
          }
          subscriber.next(flow);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        seen.clear();
        queue = [];
      };
    });
}
