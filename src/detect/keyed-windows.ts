import type { MailboxAccessAlert, RuleName } from '../model/alert.js';
import type { Episode } from './episode.js';
import { absorb, expireEpisodes, findEpisode, openEpisode } from './episode.js';
import type { EpisodeAlert } from './lifecycle.js';
import { insertSorted, lowerBound, removeRange } from './sorted.js';
import { TimeHeap } from './time-heap.js';
import type { RuleEngine } from './rule-operator.js';
import type { Access, CheckpointMark } from './types.js';

/** The window state of one key: held records (sorted by event time) and open episodes. */
export interface WindowState {
  readonly key: string;
  readonly records: Access[];
  readonly episodes: Episode[];
  /** When the expiry schedule looks at this key next; +Infinity when not scheduled, NaN once deleted. */
  due: number;
  /**
   * A lower bound of the earliest time this key needs (first held record, first episode's start), under
   * which it sits in the `neededFrom` heap; undefined: not in it.
   */
  needed?: number;
}

/** The earliest time a key needs: its first held record, its first episode's start (Infinity: nothing). */
function neededBy(state: WindowState): number {
  const first = state.records[0];
  const episode = state.episodes[0];
  const a = first === undefined ? Infinity : first.time;
  const b = episode === undefined ? Infinity : episode.start;
  return a < b ? a : b;
}

/**
 * Per-key window state with an expiry schedule on event time. A record at time r can share a window
 * with a record on time (≥ watermark) only while r ≥ watermark − T, and an episode can be extended only
 * while end + T ≥ watermark. An episode that a record on time opens may still absorb records down to its
 * floor (episode.ts), T before its window, so ≥ watermark − 2T: a record is held until the watermark passes
 * r + 2T, so that what an episode takes in never depends on how far the watermark has moved. Past that
 * they are freed, and a key with nothing left is deleted. A min-heap holds at most a few entries per key,
 * so freeing costs O(log keys) per key, not a scan.
 */
export class KeyedWindows<S extends WindowState> {
  readonly states = new Map<string, S>();
  /** Records held over all keys. */
  retained = 0;
  /** Revisions of the episodes' alerts (updates, closes) waiting to leave; see `take`. */
  readonly outbox: MailboxAccessAlert[] = [];
  private readonly schedule = new TimeHeap<S>();
  /**
   * Keys by (a lower bound of) the earliest time they need, so that `neededFrom` need not scan every key
   * at each checkpoint. A key's needed time only falls when a record earlier than it arrives (pushed
   * then); it rises as records and episodes expire, which `neededFrom` finds lazily at the top.
   */
  private readonly needs = new TimeHeap<S>();

  constructor(
    readonly windowMs: number,
    private readonly create: (key: string) => S,
    /** Frees what a state keeps beside records and episodes; gets the time before which nothing counts. */
    private readonly pruneExtra?: (state: S, horizon: number) => void,
  ) {}

  get(key: string): S {
    let state = this.states.get(key);
    if (state === undefined) {
      state = this.create(key);
      this.states.set(key, state);
    }
    return state;
  }

  /**
   * The first step of every rule: a record within T of an open episode extends it (and the episode
   * absorbs the held records it now reaches); -1 is returned, as there is nothing new to alert on.
   * Otherwise the record is held, sorted by time, and its index among the held records is returned.
   */
  extendOrHold(state: S, access: Access): number {
    const time = access.time;
    if (!(time >= (state.needed ?? Infinity))) {
      state.needed = time;
      this.needs.push(time, state);
    }
    const inEpisode = findEpisode(state.episodes, time, this.windowMs);
    if (inEpisode >= 0) {
      const episode = state.episodes[inEpisode] as Episode;
      if (time < episode.start) episode.start = time;
      if (time > episode.end) episode.end = time;
      const update = episode.alert?.add(access);
      if (update !== undefined && update !== null) this.outbox.push(update);
      this.retained -= absorb(state.episodes, episode, state.records, this.windowMs, this.outbox);
      this.expireAfter(state, episode.end + this.windowMs);
      return -1;
    }
    const at = insertSorted(state.records, access);
    this.retained++;
    this.expireAfter(state, time + 2 * this.windowMs);
    return at;
  }

  /**
   * The threshold was crossed by `window` (held records of `state`, in time order): an episode opens over
   * it with the alert's life, takes in the held records it reaches, and the key is looked at again once
   * the episode can end.
   */
  openEpisode(state: S, window: readonly Access[], life: EpisodeAlert): void {
    const start = (window[0] as Access).time;
    const episode = openEpisode(
      state.episodes,
      start,
      (window[window.length - 1] as Access).time,
      start - this.windowMs,
    );
    episode.alert = life;
    this.retained -= absorb(state.episodes, episode, state.records, this.windowMs, this.outbox);
    this.expireAfter(state, episode.end + this.windowMs);
  }

  /** Looks at `state` again once the watermark passes `time` (if that is sooner than planned). */
  expireAfter(state: S, time: number): void {
    if (time < state.due) {
      state.due = time;
      this.schedule.push(time, state);
    }
  }

  /** Frees what the watermark has passed. */
  advance(watermark: number): void {
    const horizon = watermark - 2 * this.windowMs; // records held until then: see the class
    while (this.schedule.peekTime() < watermark) {
      const due = this.schedule.peekTime();
      const state = this.schedule.pop() as S;
      if (state.due !== due) continue; // superseded by an earlier entry, or deleted
      state.due = Infinity;
      const records = state.records;
      const old = lowerBound(records, horizon);
      if (old > 0) {
        removeRange(records, 0, old);
        this.retained -= old;
      }
      expireEpisodes(state.episodes, watermark, this.windowMs, this.outbox);
      this.pruneExtra?.(state, horizon);
      if (records.length === 0 && state.episodes.length === 0) {
        this.states.delete(state.key);
        state.due = NaN;
      } else {
        const first = records.length > 0 ? (records[0] as Access).time : Infinity;
        const episodeEnd = state.episodes.length > 0 ? (state.episodes[0] as Episode).end : Infinity;
        this.expireAfter(state, Math.min(first + this.windowMs, episodeEnd) + this.windowMs);
      }
    }
  }

  /** The alert revisions produced since the last call (updates, closes), in order. */
  take(): MailboxAccessAlert[] {
    return this.outbox.length === 0 ? [] : this.outbox.splice(0);
  }

  /** The earliest event time any key still needs (first held record, start of an open episode). */
  neededFrom(): number {
    const needs = this.needs;
    for (;;) {
      const time = needs.peekTime();
      if (time === Infinity) return Infinity;
      const state = needs.peek() as S;
      // Stale: the key was deleted, or was pushed again under another time.
      if (Number.isNaN(state.due) || state.needed !== time) {
        needs.pop();
        continue;
      }
      const actual = neededBy(state);
      if (actual <= time) return actual; // never below the bound; equal
      needs.pop();
      state.needed = actual;
      if (actual !== Infinity) needs.push(actual, state);
      else state.needed = undefined;
    }
  }

  clear(): void {
    this.outbox.length = 0;
    this.states.clear();
    this.schedule.clear();
    this.needs.clear();
    this.retained = 0;
  }
}

/**
 * The part of a windowed rule's engine that is the windows' alone: the watermark frees state (and closes
 * episodes), their revisions leave through `take`, and a checkpoint gets the rule's alert count (`alerts()`)
 * with the windows' size and needs.
 */
export function windowedEngineParts<S extends WindowState>(
  rule: RuleName,
  windows: KeyedWindows<S>,
  alerts: () => number,
): Pick<RuleEngine, 'advance' | 'take' | 'report'> {
  return {
    advance(watermark: number): void {
      windows.advance(watermark);
    },

    take(): MailboxAccessAlert[] {
      return windows.take();
    },

    report(mark: CheckpointMark): void {
      mark.stats.alerts[rule] = alerts();
      mark.stats.openKeys += windows.states.size;
      mark.stats.retainedRecords += windows.retained;
      mark.neededFrom = Math.min(mark.neededFrom, windows.neededFrom());
    },
  };
}
