/**
 * Durations in configuration: a number of milliseconds, or a string of one or more `<number><unit>` parts
 * with unit `ms`, `s`, `m`, `h` or `d` (`"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1h30m"`). A bare string of
 * digits is milliseconds too, so values from environment variables read the same as numbers.
 */
const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** The reason a value is not a duration, for error messages. */
export const DURATION_HINT = 'must be a duration such as 500ms, 30s, 5m, 2h (or a number of milliseconds)';

/** Parses a duration to whole milliseconds; `undefined` when the value is not a duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 && Number.isSafeInteger(value) ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (text.length === 0) return undefined;
  if (/^\d+$/.test(text)) return parseDuration(Number(text));
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Formats milliseconds the way a person would write them in the configuration (`300000` → `"5m"`). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
