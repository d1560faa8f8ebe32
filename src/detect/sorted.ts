/** Binary searches and insertion over arrays kept sorted by event time. */

export interface Timed {
  readonly time: number;
}

/** The first index whose time is ≥ `time` (the length when none is). */
export function lowerBound(items: readonly Timed[], time: number, from = 0): number {
  let lo = from;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((items[mid] as Timed).time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose time is > `time` (the length when none is). */
export function upperBound(items: readonly Timed[], time: number, from = 0): number {
  let lo = from;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((items[mid] as Timed).time <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Inserts after any item with the same time (arrival order among equals) and returns the index. */
export function insertSorted<T extends Timed>(items: T[], item: T): number {
  const n = items.length;
  if (n === 0 || (items[n - 1] as T).time <= item.time) {
    items.push(item);
    return n;
  }
  const at = upperBound(items, item.time);
  items.splice(at, 0, item);
  return at;
}

/** Removes `count` items at `start` in place (unlike splice, allocates no array of the removed items). */
export function removeRange<T>(items: T[], start: number, count: number): void {
  if (count <= 0) return;
  items.copyWithin(start, start + count);
  items.length -= count;
}
