import type { OperatorFunction } from 'rxjs';
import type { MailboxAccessAlert } from '../model/alert.js';
import { buildAlert } from './build-alert.js';
import type { PolicyBook } from './policies.js';
import { ruleOperator, type RuleEngine } from './rule-operator.js';
import type {
  Access,
  AccessFlow,
  CheckpointMark,
  FirstAccessConfig,
  RuleOutput,
  RuleSettings,
  StateChange,
} from './types.js';

/** Changelog store: key `<mailbox>\n<actor>`, value = when the actor last opened the mailbox (event time, ms). */
export const SEEN_STORE = 'first-access-seen';
/** Changelog store: key LEARNING_KEY, value = the event time learning started at. */
export const LEARNING_STORE = 'first-access-learning';
export const LEARNING_KEY = 'started_at';
/**
 * A pair's last-seen time is written again only once it is this much older than the new access: a delegate
 * who works in a mailbox all day costs one state change per hour of event time, not one per record. The
 * lookback is read against a last-seen up to an hour early: 30 days against 1 hour.
 */
export const REFRESH_MS = 3_600_000;

const DAY_MS = 86_400_000;
/**
 * Last-seen times are held to the second, counted from 2020: small integers, which V8 keeps in the map's
 * slot instead of a 16-byte number object per pair (until 2088). The changelog keeps milliseconds.
 */
const EPOCH_S = Date.UTC(2020, 0, 1) / 1_000;
const toSeconds = (ms: number): number => Math.floor(ms / 1_000) - EPOCH_S;
const toMs = (seconds: number): number => (seconds + EPOCH_S) * 1_000;

/**
 * `first_access`: a non-owner opens a mailbox they have not opened within `lookbackMs` (30 days) — the
 * baseline the Sentinel, Splunk and Elastic versions of this rule keep ("this account has never opened
 * this mailbox before"). Keyed by (mailbox, actor); user accesses only (apps have first_app_access); one
 * alert per first access, a point in time: one message, closed, revision 0. Severity low (raised by
 * external access; a policy may set it, e.g. high on executives' mailboxes).
 *
 * From the earliest event time it sees, the rule learns for `learnForMs` (30 days by default, the
 * lookback: a delegate who opens the mailbox at least monthly is seen once before the rule may call them
 * new) and alerts on nothing, so a fresh deployment does not alert on every existing delegate. State beyond
 * the windows — each pair's last-seen time and when learning started — is reported as `state` changes
 * (SEEN_STORE, LEARNING_STORE; null once a pair's last-seen falls out of the lookback) and taken back
 * through `restore`: a restart neither re-alerts a known pair nor forgets one.
 *
 * Memory: per mailbox a map of its actors' last-seen seconds, actor names shared between mailboxes — about
 * 50 bytes a remembered pair (BENCHMARKS.md). Pairs out of the lookback are swept once per 30th of the
 * lookback of event time (daily by default); until then a stale pair is read as what it is, not seen within
 * the lookback.
 *
 * @example
 * accesses$.pipe(firstAccess(config.detection.rules.firstAccess))
 */
export function firstAccess(config: FirstAccessConfig): OperatorFunction<AccessFlow, RuleOutput> {
  return ruleOperator((changes) => createFirstAccessEngine(config, changes));
}

/** The rule's engine, which can say how many pairs it remembers. */
export interface FirstAccessEngine extends RuleEngine {
  readonly remembered: number;
}

/**
 * `policies`: the policy of the pair (its mailbox and actor) may turn the rule off for it — the pair is then
 * not remembered either — or set the alert's severity.
 */
export function createFirstAccessEngine(
  config: FirstAccessConfig,
  changes: StateChange[],
  policies: PolicyBook | null = null,
): FirstAccessEngine {
  const lookback = config.lookbackMs;
  const sweepEveryMs = Math.min(DAY_MS, Math.max(1_000, Math.floor(lookback / 30)));
  /** mailbox → actor → last seen (seconds since 2020). */
  const pairs = new Map<string, Map<string, number>>();
  /** One string per actor, shared by every mailbox map it is a key of (rebuilt by each sweep). */
  let actors = new Map<string, string>();
  let remembered = 0;
  let learningFrom: number | null = null;
  let nextSweep = Number.NEGATIVE_INFINITY;
  let alerts = 0;

  const seen = (mailbox: string, actor: string, time: number): void => {
    changes.push({ kind: 'state', store: SEEN_STORE, key: `${mailbox}\n${actor}`, value: time });
  };

  const remember = (mailbox: string, actor: string, seconds: number): void => {
    let shared = actors.get(actor);
    if (shared === undefined) actors.set(actor, (shared = actor));
    let mine = pairs.get(mailbox);
    if (mine === undefined) pairs.set(mailbox, (mine = new Map()));
    if (!mine.has(shared)) remembered++;
    mine.set(shared, seconds);
  };

  const forget = (mailbox: string, actor: string): void => {
    const mine = pairs.get(mailbox);
    if (mine === undefined || !mine.delete(actor)) return;
    remembered--;
    if (mine.size === 0) pairs.delete(mailbox);
  };

  /** Forgets the pairs last seen before watermark − lookback (null changes) and the actors left with none. */
  const sweep = (watermark: number): void => {
    const horizon = toSeconds(watermark - lookback);
    const kept = new Map<string, string>();
    for (const [mailbox, mine] of pairs) {
      for (const [actor, last] of mine) {
        if (last < horizon) {
          mine.delete(actor);
          remembered--;
          changes.push({ kind: 'state', store: SEEN_STORE, key: `${mailbox}\n${actor}`, value: null });
        } else kept.set(actor, actor);
      }
      if (mine.size === 0) pairs.delete(mailbox);
    }
    actors = kept;
  };

  const learnFrom = (time: number): void => {
    if (learningFrom !== null && learningFrom <= time) return;
    learningFrom = time;
    changes.push({ kind: 'state', store: LEARNING_STORE, key: LEARNING_KEY, value: time });
  };

  return {
    // A pair's last-seen is kept as it was written to SEEN_STORE: a record processed before the commit
    // that the store was read back at changes nothing (it is older than what the store holds, or within
    // REFRESH_MS of it). So a restore's replay skips this rule (detect.ts).
    storeOnly: true,

    get remembered(): number {
      return remembered;
    },

    add(access: Access): MailboxAccessAlert | null {
      if (access.app || access.owner) return null;
      const decided = policies?.policyOf('firstAccess', access);
      const override = decided?.rules.firstAccess;
      if (override?.enabled === false) return null;
      const time = access.time;
      // From the earliest time seen: `run`'s partitions need not be read in event-time order.
      learnFrom(time);
      const { mailbox, actor } = access;
      const last = pairs.get(mailbox)?.get(actor);
      const lastMs = last === undefined ? undefined : toMs(last);
      if (lastMs !== undefined && time - lastMs <= lookback) {
        if (time - lastMs >= REFRESH_MS) {
          remember(mailbox, actor, toSeconds(time));
          seen(mailbox, actor, time);
        }
        return null; // opened within the lookback (or a record older than the last seen)
      }
      remember(mailbox, actor, toSeconds(time));
      seen(mailbox, actor, time);
      if (time < (learningFrom as number) + config.learnForMs) return null; // learning
      const settings: RuleSettings = {
        enabled: true,
        threshold: 1,
        windowMs: lookback,
        severity: override?.severity,
        policy: decided?.name,
      };
      const alert = buildAlert('first_access', settings, access.pairKey, [access], time);
      alert.reason =
        lastMs === undefined
          ? `first access by this actor to this mailbox in the ${days(lookback)} before`
          : `last access by this actor ${new Date(lastMs).toISOString()}, ${days(time - lastMs)} before`;
      // A point in time, not an episode: one message, closed (issue 13's lifecycle, revision 0).
      alert.status = 'closed';
      alert.revision = 0;
      alert.duration_ms = 0;
      alerts++;
      return alert;
    },

    advance(watermark: number): void {
      if (watermark < nextSweep || watermark === Number.NEGATIVE_INFINITY) return;
      if (watermark === Number.POSITIVE_INFINITY) {
        // The end of a history (replay): nothing can follow, nothing is worth a change per pair.
        pairs.clear();
        actors.clear();
        remembered = 0;
        return;
      }
      sweep(watermark);
      nextSweep = watermark + sweepEveryMs;
    },

    restore(store: string, key: string, value: number | null): void {
      if (store === LEARNING_STORE && key === LEARNING_KEY) {
        if (value !== null) learningFrom = learningFrom === null ? value : Math.min(learningFrom, value);
      } else if (store === SEEN_STORE) {
        const at = key.indexOf('\n');
        if (at < 0) return;
        const mailbox = key.slice(0, at);
        const actor = key.slice(at + 1);
        if (value === null) forget(mailbox, actor);
        else remember(mailbox, actor, toSeconds(value));
      }
    },

    report(mark: CheckpointMark): void {
      // Remembered pairs are no window or episode state: they do not count as open keys.
      mark.stats.alerts.first_access = alerts;
    },

    clear(): void {
      pairs.clear();
      actors.clear();
      remembered = 0;
      learningFrom = null;
      nextSweep = Number.NEGATIVE_INFINITY;
    },
  };
}

function days(ms: number): string {
  const n = Math.round(ms / DAY_MS);
  return n === 1 ? '1 day' : `${n} days`;
}
