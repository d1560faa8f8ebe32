import { lowerBound, removeRange, upperBound, type Timed } from './sorted.js';

/**
 * Burst episodes of one key. An episode starts when a window reaches the threshold and lasts while
 * counted records keep coming with no gap longer than the window T: its *reach* is [start − T, end + T],
 * and a record that falls in the reach belongs to the episode (it extends it, and raises no new alert).
 * Two bursts more than T apart are two episodes, so two alerts.
 *
 * Held records within T of an episode are taken into it ("absorbed") and leave the window state: a
 * window around a record outside every reach cannot reach them, so they can never count again. That
 * keeps a sustained burst at constant memory — the episode is two numbers.
 */
export interface Episode {
  start: number;
  end: number;
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
export function openEpisode(episodes: Episode[], start: number, end: number): Episode {
  const episode: Episode = { start, end };
  let at = episodes.length;
  while (at > 0 && (episodes[at - 1] as Episode).start > start) at--;
  episodes.splice(at, 0, episode);
  return episode;
}

/**
 * Grows `episode` over every held record chained to it (gaps ≤ gapMs), removes those records from
 * `records` (sorted by time), and merges neighbouring episodes that come within gapMs. Returns the number
 * of records removed.
 */
export function absorb<T extends Timed>(
  episodes: Episode[],
  episode: Episode,
  records: T[],
  gapMs: number,
): number {
  let hi = upperBound(records, episode.end);
  while (hi < records.length && (records[hi] as T).time - episode.end <= gapMs) {
    episode.end = (records[hi] as T).time;
    hi++;
  }
  let lo = lowerBound(records, episode.start);
  while (lo > 0 && episode.start - (records[lo - 1] as T).time <= gapMs) {
    lo--;
    episode.start = (records[lo] as T).time;
  }
  removeRange(records, lo, hi - lo);

  let index = episodes.indexOf(episode);
  while (index + 1 < episodes.length && (episodes[index + 1] as Episode).start - episode.end <= gapMs) {
    episode.end = Math.max(episode.end, (episodes[index + 1] as Episode).end);
    episodes.splice(index + 1, 1);
  }
  while (index > 0 && episode.start - (episodes[index - 1] as Episode).end <= gapMs) {
    const previous = episodes[index - 1] as Episode;
    episode.start = Math.min(episode.start, previous.start);
    episode.end = Math.max(episode.end, previous.end);
    episodes.splice(index - 1, 1);
    index--;
  }
  return hi > lo ? hi - lo : 0;
}

/** Forgets episodes no record on time can extend any more (end + gap < watermark). */
export function expireEpisodes(episodes: Episode[], watermark: number, gapMs: number): void {
  let n = 0;
  while (n < episodes.length && (episodes[n] as Episode).end + gapMs < watermark) n++;
  if (n > 0) episodes.splice(0, n);
}
