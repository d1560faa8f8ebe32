import { Observable, type OperatorFunction } from 'rxjs';
import type { Access, AccessFlow, CoreStats } from './types.js';

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
      const ids = new RememberedIds();
      const subscription = source.subscribe({
        next(flow) {
          if (flow.kind === 'access') {
            if (!flow.owner && !ids.admit(flow)) return; // owner accesses are counted as owner already
          } else if (flow.kind === 'watermark') {
            ids.forget(flow.time);
          } else if (flow.kind === 'checkpoint') {
            ids.report(flow.stats);
          }
          subscriber.next(flow);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        ids.clear();
      };
    });
}

/**
 * The dedupe stage's state, without the operator plumbing (the fused core in detect.ts drives it
 * directly): the ids of the accesses let through and not yet below the watermark, and the counters.
 */
export class RememberedIds {
  private readonly seen = new Set<string>();
  // Ids in arrival order, to forget them once the watermark has passed; a record far ahead of the
  // rest holds the ones behind it a little longer, which costs memory only.
  private queue: string[] = [];
  private times: number[] = []; // the event time of each id in `queue`
  private head = 0;
  private duplicates = 0;
  private nonOwner = 0;
  private crossDomain = 0;
  private app = 0;

  /** True the first time an access's id is seen (and counts it); false for a repeat (counted as such). */
  admit(access: Access): boolean {
    const seen = this.seen;
    const size = seen.size;
    seen.add(access.id); // one lookup: a repeat leaves the size as it was
    if (seen.size === size) {
      this.duplicates++;
      return false;
    }
    this.queue.push(access.id);
    this.times.push(access.time);
    if (access.app) this.app++;
    else {
      this.nonOwner++;
      if (access.crossDomain) this.crossDomain++;
    }
    return true;
  }

  /** Forgets the ids whose event time is below the watermark. */
  forget(watermark: number): void {
    const seen = this.seen;
    const queue = this.queue;
    const times = this.times;
    let head = this.head;
    while (head < queue.length) {
      if ((times[head] as number) >= watermark) break;
      seen.delete(queue[head] as string);
      head++;
    }
    if (head > 1024 && head * 2 > queue.length) {
      this.queue = queue.slice(head);
      this.times = times.slice(head);
      head = 0;
    }
    this.head = head;
  }

  /** Writes the counters and the number of remembered ids into checkpoint stats. */
  report(stats: CoreStats): void {
    stats.duplicates = this.duplicates;
    stats.nonOwner = this.nonOwner;
    stats.crossDomain = this.crossDomain;
    stats.app = this.app;
    stats.rememberedIds = this.seen.size;
  }

  clear(): void {
    this.seen.clear();
    this.queue = [];
    this.times = [];
    this.head = 0;
  }
}
