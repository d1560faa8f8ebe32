import { Observable, type OperatorFunction } from 'rxjs';
import type { MailboxAccessAlert } from '../model/alert.js';
import type { BulkEngine } from './bulk-mail-access.js';
import { ClassTally, createClassifier, ownerCandidates } from './classify.js';
import { RememberedIds } from './dedupe.js';
import { ruleEngines } from './engines.js';
import { PolicyBook } from './policies.js';
import type { RuleEngine } from './rule-operator.js';
import type { Access, CoreInput, CoreOutput, DetectionConfig, StateChange } from './types.js';
import { WatermarkClock, type WatermarkMode } from './watermark.js';

export interface DetectOptions {
  /**
   * `records` (default, replay): watermark = largest event time seen − allowed lateness.
   * `external` (Kafka): the watermark moves only on `{kind: 'watermark'}` inputs.
   */
  watermarks?: WatermarkMode;
  /**
   * Called with every access the core admitted to its rules (classified, not a duplicate; owner accesses
   * only when they could count for bulk_mail_access), as it goes to them: `run` forwards the non-owner and
   * app ones to the actor-keyed repartition without classifying twice, and logs every one of them to the
   * windows' changelog (what a restart replays).
   */
  onAccess?: (access: Access) => void;
  /**
   * `core` (default): a record older than the watermark is dropped as late. `upstream`: lateness was
   * decided before the core, and none is dropped here. The actor side of `run` takes its records from
   * several repartition partitions, each put in order on its own markers (event-order.ts), so how far the
   * watermark has got when a record arrives depends on how fetches interleaved those partitions; the
   * mailbox side already judged each record against its own partition's stream time.
   */
  lateness?: 'core' | 'upstream';
}

/**
 * The detection core: records in, alerts out, on event time only (no clock, no I/O).
 *
 *   watermark (late records dropped) → classify (system / owner / allow-listed dropped)
 *     → dedupe → bulk_mail_access ∥ non_owner_burst ∥ cross_domain_burst ∥ mailbox_sweep
 *                ∥ app_mailbox_sweep ∥ first_app_access → checkpoints joined
 *
 * App accesses (user type Application or ServicePrincipal) count for the app rules only (app_mailbox_sweep,
 * first_app_access, bulk_mail_access), user accesses for the others; owner records that could count for
 * bulk_mail_access go on to it alone. An alert about a mailbox that bulk_mail_access marked blind (its
 * auditing throttled) carries `mailbox_blind_until`.
 *
 * Rules with state beyond their windows (first_app_access, bulk_mail_access's blind mailboxes) report each
 * change as a `{kind: 'state'}` output, after the alert of the same record, and take `{kind: 'restore'}`
 * inputs back (before any record, after a restart): the core stays pure, the caller keeps the changelog.
 * A record input marked `replayed` (a restore feeding back records processed before the commit) is never late
 * (it was admitted the first time) and skips the rules whose whole state is in their stores (`storeOnly`:
 * first_access): it would change nothing there.
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
  const judged = options.lateness === 'upstream';
  return (source) =>
    new Observable<CoreOutput>((subscriber) => {
      const clock = new WatermarkClock(config.allowedLatenessMs, mode);
      const tally = new ClassTally(createClassifier(config), ownerCandidates(config));
      const ids = new RememberedIds();
      const changes: StateChange[] = [];
      const policies = PolicyBook.of(config.policies);
      const { engines, bulk } = createEngines(config, changes, policies);
      // What a restore's replayed records go to: not the rules whose whole state the stores restored.
      const replayEngines = engines.filter((engine) => engine.storeOnly !== true);
      const drain = (): void => {
        if (changes.length === 0) return;
        for (const change of changes) subscriber.next(change);
        changes.length = 0;
      };
      /** Tells the later stages of a watermark the clock announced (NaN: none). */
      const announce = (time: number): void => {
        if (Number.isNaN(time)) return;
        ids.forget(time);
        for (const engine of engines) {
          engine.advance(time);
          for (const revision of engine.take?.() ?? [])
            subscriber.next({ kind: 'alert', alert: markBlind(revision, bulk) });
          drain();
        }
      };
      const subscription = source.subscribe({
        next(input) {
          if (input.kind === 'record') {
            const record = input.record;
            const time = record.creation_time;
            // A replayed record was admitted when it was first processed, and a restore that replays one
            // mailbox's records late (after the watermark moved on) must not drop them now.
            if (judged || input.replayed === true) clock.admitted();
            else if (!clock.onTime(time)) return;
            const access = tally.access(record);
            if (access !== null && (access.owner || ids.admit(access))) {
              options.onAccess?.(access);
              const to = input.replayed === true ? replayEngines : engines;
              for (let i = 0; i < to.length; i++) {
                const engine = to[i] as RuleEngine;
                const alert = engine.add(access);
                if (alert !== null) subscriber.next({ kind: 'alert', alert: markBlind(alert, bulk) });
                for (const revision of engine.take?.() ?? [])
                  subscriber.next({ kind: 'alert', alert: markBlind(revision, bulk) });
                drain();
              }
            }
            if (mode === 'records') announce(clock.afterRecord(time));
          } else if (input.kind === 'classified') {
            // Owner or system, decided on the record's bytes: what the core does with such a record.
            if (!clock.onTime(input.time)) return;
            tally.count(input.class);
            if (mode === 'records') announce(clock.afterRecord(input.time));
          } else if (input.kind === 'watermark') {
            announce(clock.advance(input.time, true));
          } else if (input.kind === 'restore') {
            for (const engine of engines) engine.restore?.(input.store, input.key, input.value);
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
        policies?.clear();
      };
    });
}

/** The enabled rules' engines (engines.ts), and bulk_mail_access's, which knows the blind mailboxes. */
function createEngines(
  config: DetectionConfig,
  changes: StateChange[],
  policies: PolicyBook | null,
): { engines: RuleEngine[]; bulk: BulkEngine | null } {
  let bulk: BulkEngine | null = null;
  const engines = ruleEngines(config, policies).map((factory) => {
    const engine = factory.create(changes);
    if (factory.rule === 'bulk_mail_access') bulk = engine as BulkEngine;
    return engine;
  });
  return { engines, bulk };
}

/**
 * Says on an alert about one mailbox that the mailbox is blind, when bulk_mail_access marked it so at the
 * alert's detected_at. The mailbox key is the alert's GUID, else its owner UPN (as classify keys it).
 */
export function markBlind(alert: MailboxAccessAlert, bulk: BulkEngine | null): MailboxAccessAlert {
  if (bulk === null) return alert;
  const mailbox = alert.mailbox_guid ?? alert.mailbox_owner_upn;
  if (mailbox !== null) alert.mailbox_blind_until = bulk.blindUntil(mailbox, alert.detected_at);
  return alert;
}
