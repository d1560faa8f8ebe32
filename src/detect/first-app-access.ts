import type { OperatorFunction } from 'rxjs';
import type { MailboxAccessAlert } from '../model/alert.js';
import { buildAlert } from './build-alert.js';
import type { PolicyBook } from './policies.js';
import { ruleOperator, type RuleEngine } from './rule-operator.js';
import { TimeHeap } from './time-heap.js';
import type {
  Access,
  AccessFlow,
  CheckpointMark,
  FirstAppAccessConfig,
  PolicyConfig,
  RuleOutput,
  StateChange,
} from './types.js';

/** Changelog store: key = app id, value = when the app was last seen reading mail (event time, ms). */
export const SEEN_STORE = 'first-app-access-seen';

/** Changelog store: key LEARNING_KEY, value = the event time learning started at. */
export const LEARNING_STORE = 'first-app-access-learning';
export const LEARNING_KEY = 'started_at';
/**
 * An app's last-seen time is written again only once it is this much older than the new access: a
 * steady app costs one state change per hour of event time, not one per record. The lookback is read
 * against a last-seen up to an hour early, so an app is new again up to an hour sooner: days against 1 h.
 */
export const REFRESH_MS = 3_600_000;

/**
 * `first_app_access`: an app reads mail that was not seen reading mail within `lookbackMs` (14 days) —
 * how the CISA Storm-0558 advisory found that intrusion (an AppId never seen before reading mail), and the
 * 14-day history of Elastic's "M365 Exchange Mailbox Accessed by Unusual Client". One alert per appearance.
 *
 * From the earliest event time it sees (a record older than the start, within the allowed lateness, moves
 * it back: the start does not depend on which records arrive first), the rule learns for `learnForMs`
 * (14 days by default, the lookback: an app that reads mail every two weeks is seen once before the rule
 * may call it new) and alerts on nothing. State beyond the windows — each app's last-seen time and when learning started — is reported
 * as `state` changes (SEEN_STORE, LEARNING_STORE; null when an app's last-seen falls out of the lookback)
 * and taken back through `restore`, so the core stays pure and a restart neither forgets nor re-learns.
 *
 * @example
 * accesses$.pipe(firstAppAccess(config.detection.rules.firstAppAccess))
 */
export function firstAppAccess(config: FirstAppAccessConfig): OperatorFunction<AccessFlow, RuleOutput> {
  return ruleOperator((changes) => createFirstAppAccessEngine(config, changes));
}

/** The policy that decided an access for this rule, if any. */
type Decided = PolicyConfig | undefined;

/**
 * `policies`: a policy that matches the app (by its id) may turn the rule off for it — the app is then not
 * remembered either — or set the alert's severity.
 */
export function createFirstAppAccessEngine(
  config: FirstAppAccessConfig,
  changes: StateChange[],
  policies: PolicyBook | null = null,
): RuleEngine {
  const lookback = config.lookbackMs;
  const lastSeen = new Map<string, number>();
  const expiry = new TimeHeap<string>(); // last seen + lookback, per app
  let learningFrom: number | null = null;
  let alerts = 0;

  const see = (app: string, time: number, announce: boolean): void => {
    lastSeen.set(app, time);
    expiry.push(time + lookback, app);
    if (announce) changes.push({ kind: 'state', store: SEEN_STORE, key: app, value: time });
  };

  /** The alert for an app's read that the rule found new: `last`, when it was seen before that. */
  const alertFor = (access: Access, last: number | undefined, decided: Decided): MailboxAccessAlert => {
    const rule = {
      enabled: true,
      threshold: 1,
      windowMs: lookback,
      severity: decided?.rules.firstAppAccess?.severity,
      policy: decided?.name,
    };
    const alert = buildAlert('first_app_access', rule, access.actor, [access], access.time);
    alert.reason =
      last === undefined
        ? `app not seen reading mail in the ${lookback / 86_400_000} days before`
        : `app last seen reading mail ${new Date(last).toISOString()}`;
    // A point in time, not an episode: one message, closed (issue 13's lifecycle, revision 0).
    alert.status = 'closed';
    alert.revision = 0;
    alert.duration_ms = 0;
    alerts++;
    return alert;
  };
  /**
   * Apps whose read was found new while learning, by that read. Behind the repartition the records reach
   * this rule partition by partition, so an earlier record may come after it and move the start of learning
   * back: a read it puts past the learning period is then alerted on, as in event-time order. Kept for two
   * learning periods.
   */
  const learnt = new Map<string, { access: Access; last: number | undefined; decided: Decided }>();
  const late: MailboxAccessAlert[] = [];

  return {
    add(access: Access): MailboxAccessAlert | null {
      if (!access.app) return null;
      const decided = policies?.policyOf('firstAppAccess', access);
      if (decided?.rules.firstAppAccess?.enabled === false) return null;
      const time = access.time;
      // The earliest event time seen, not the first to arrive (see `learnt`).
      if (learningFrom === null || time < learningFrom) {
        learningFrom = time;
        changes.push({ kind: 'state', store: LEARNING_STORE, key: LEARNING_KEY, value: time });
        for (const [app, first] of learnt)
          if (first.access.time >= learningFrom + config.learnForMs) {
            learnt.delete(app);
            late.push(alertFor(first.access, first.last, first.decided));
          }
      }
      const app = access.actor;
      const last = lastSeen.get(app);
      if (last !== undefined && time - last <= lookback) {
        if (time - last >= REFRESH_MS) see(app, time, true);
        return null; // seen within the lookback (or a record older than the last seen)
      }
      see(app, time, true);
      if (time < learningFrom + config.learnForMs) {
        if (!learnt.has(app)) learnt.set(app, { access, last, decided });
        return null; // learning
      }
      return alertFor(access, last, decided);
    },

    take(): MailboxAccessAlert[] {
      return late.length === 0 ? [] : late.splice(0);
    },

    advance(watermark: number): void {
      if (learningFrom !== null && learnt.size > 0 && watermark > learningFrom + 2 * config.learnForMs)
        learnt.clear();
      // An app last seen before watermark − lookback is new to any record on time: forget it.
      while (expiry.peekTime() < watermark) {
        const due = expiry.peekTime();
        const app = expiry.pop() as string;
        if (lastSeen.get(app) !== due - lookback) continue; // seen again since
        lastSeen.delete(app);
        changes.push({ kind: 'state', store: SEEN_STORE, key: app, value: null });
      }
    },

    restore(store: string, key: string, value: number | null): void {
      if (store === LEARNING_STORE && key === LEARNING_KEY) learningFrom = value;
      else if (store === SEEN_STORE) {
        if (value === null) lastSeen.delete(key);
        else see(key, value, false);
      }
    },

    report(mark: CheckpointMark): void {
      mark.stats.alerts.first_app_access = alerts;
      mark.stats.openKeys += lastSeen.size;
    },

    clear(): void {
      lastSeen.clear();
      expiry.clear();
      learnt.clear();
      late.length = 0;
      learningFrom = null;
    },
  };
}
