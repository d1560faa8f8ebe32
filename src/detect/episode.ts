import type { MailboxAccessAlert } from '../model/alert.js';
import type { EpisodeAlert } from './lifecycle.js';
import { lowerBound, removeRange, upperBound, type Timed } from './sorted.js';
import type { Access } from './types.js';

/**
 * Burst episodes of one key. An episode starts when a window reaches the threshold and lasts while
 * counted records keep coming with no gap longer than the window T: its *reach* is [start − T, end + T],
 * and a record that falls in the reach belongs to the episode (it extends it, and raises no new alert).
 * Two bursts more than T apart are two episodes, so two alerts.
 *
 * Held records within T of an episode are taken into it ("absorbed") and leave the window state: a
 * window around a record outside every reach cannot reach them, so they can never count again. That
 * keeps a sustained burst at constant memory — the episode is two numbers and its alert's tally
 * (lifecycle.ts), which absorbed records go into.
 *
 * Backwards, absorbing stops at the episode's `floor`: T before the first record of the window that opened
 * it. Without it a chain of records each within T of the next would be absorbed as far back as records are
 * still held — and how far back they are held follows the watermark, which other keys' records move: the
 * same records would give an alert other counts (and severity) with other traffic beside them, on one
 * instance or several, live or replayed. KeyedWindows holds a record until the watermark passes it by 2T,
 * so everything at or above a floor is still there when an episode opens.
 */
export interface Episode {
  start: number;
  end: number;
  /** No held record before this is absorbed (see above); −∞: no bound. */
  floor: number;
  /** The alert the episode opened, which grows with it and closes when it ends. */
  alert?: EpisodeAlert;
}

/** The index of the episode whose reach holds `time`, or -1. Episodes are few (usually 0 or 1). */
export function findEpisode(episodes: readonly Episode[], time: number, gapMs: number): number {
  for (let i = 0; i < episodes.length; i++) {
    const episode = episodes[i] as Episode;
    if (time < episode.start - gapMs) return -1; // sorted by start, and reaches do not overlap a later start
    if (time <= episode.end + gapMs) return i;
  }
  return -1;
}

/** Adds an episode over [start, end], keeping the list sorted by start; returns it. */
export function openEpisode(
  episodes: Episode[],
  start: number,
  end: number,
  floor = Number.NEGATIVE_INFINITY,
): Episode {
  const episode: Episode = { start, end, floor };
  let at = episodes.length;
  while (at > 0 && (episodes[at - 1] as Episode).start > start) at--;
  episodes.splice(at, 0, episode);
  return episode;
}

/**
 * Grows `episode` over every held record chained to it (gaps ≤ gapMs; backwards, none before its floor),
 * removes those records from `records` (sorted by time) into its alert's tally, and merges neighbouring
 * episodes that come within gapMs (the later alert closes into the earlier one's; its close goes to
 * `outbox`). Returns the number of records removed.
 */
export function absorb<T extends Timed>(
  episodes: Episode[],
  episode: Episode,
  records: T[],
  gapMs: number,
  outbox?: MailboxAccessAlert[],
): number {
  let hi = upperBound(records, episode.end);
  while (hi < records.length && (records[hi] as T).time - episode.end <= gapMs) {
    episode.end = (records[hi] as T).time;
    hi++;
  }
  let lo = lowerBound(records, episode.start);
  while (
    lo > 0 &&
    episode.start - (records[lo - 1] as T).time <= gapMs &&
    (records[lo - 1] as T).time >= episode.floor
  ) {
    lo--;
    episode.start = (records[lo] as T).time;
  }
  if (episode.alert !== undefined)
    for (let i = lo; i < hi; i++) episode.alert.absorb(records[i] as unknown as Access);
  removeRange(records, lo, hi - lo);

  let index = episodes.indexOf(episode);
  while (index + 1 < episodes.length && (episodes[index + 1] as Episode).start - episode.end <= gapMs) {
    const next = episodes[index + 1] as Episode;
    episode.end = Math.max(episode.end, next.end);
    episode.floor = Math.min(episode.floor, next.floor);
    mergeAlerts(episode, next, gapMs, outbox);
    episodes.splice(index + 1, 1);
  }
  while (index > 0 && episode.start - (episodes[index - 1] as Episode).end <= gapMs) {
    const previous = episodes[index - 1] as Episode;
    episode.start = Math.min(episode.start, previous.start);
    episode.end = Math.max(episode.end, previous.end);
    episode.floor = Math.min(episode.floor, previous.floor);
    // The earlier episode's alert goes on; the one that started later closes into it.
    const kept = previous.alert ?? episode.alert;
    const gone = previous.alert === undefined ? undefined : episode.alert;
    if (kept !== undefined) episode.alert = kept;
    if (kept !== undefined && gone !== undefined) {
      kept.merge(gone);
      outbox?.push(gone.close(gapMs, kept));
    }
    episodes.splice(index - 1, 1);
    index--;
  }
  return hi > lo ? hi - lo : 0;
}

/** `later` merges into `episode`: its alert closes into episode's (or becomes it, if it has none). */
function mergeAlerts(episode: Episode, later: Episode, gapMs: number, outbox?: MailboxAccessAlert[]): void {
  if (later.alert === undefined) return;
  if (episode.alert === undefined) {
    episode.alert = later.alert;
    return;
  }
  episode.alert.merge(later.alert);
  outbox?.push(later.alert.close(gapMs, episode.alert));
}

/**
 * Forgets episodes no record on time can extend any more (end + gap < watermark): their alerts close
 * (into `outbox`).
 */
export function expireEpisodes(
  episodes: Episode[],
  watermark: number,
  gapMs: number,
  outbox?: MailboxAccessAlert[],
): void {
  let n = 0;
  while (n < episodes.length && (episodes[n] as Episode).end + gapMs < watermark) {
    const alert = (episodes[n] as Episode).alert;
    if (alert !== undefined) outbox?.push(alert.close(gapMs));
    n++;
  }
  if (n > 0) episodes.splice(0, n);
}
