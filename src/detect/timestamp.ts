/**
 * Event timestamps as the record shapes write them, to epoch milliseconds: a number (epoch ms), an ISO-8601
 * string (a missing zone means UTC, as the Management Activity API writes `CreationTime`), a string of
 * digits (epoch ms), or the Sentinel export's `4/28/2021, 2:54:37.000 PM` (UTC). Returns undefined for
 * anything else. Hand-rolled rather than `Date.parse`, which reads a zone-less date-time as local time
 * and is slower.
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const iso = parseIso(value);
  if (iso !== undefined) return iso;
  return parseOther(value.trim());
}

const ZERO = 48;

/** The number written by `length` ASCII digits at `start`, or -1. */
function digits(text: string, start: number, length: number): number {
  if (start + length > text.length) return -1;
  let n = 0;
  for (let i = start; i < start + length; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** `YYYY-MM-DD[(T| )HH:MM[:SS[.fff…]]][Z | ±HH[:MM]]`. */
function parseIso(text: string): number | undefined {
  const n = text.length;
  const year = digits(text, 0, 4);
  if (year < 1000 || text.charCodeAt(4) !== 45 /* - */ || text.charCodeAt(7) !== 45) return undefined;
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let i = 10;
  const separator = text.charCodeAt(i);
  if (separator === 84 /* T */ || separator === 116 /* t */ || separator === 32 /* space */) {
    hour = digits(text, i + 1, 2);
    minute = digits(text, i + 4, 2);
    if (hour < 0 || hour > 23 || text.charCodeAt(i + 3) !== 58 /* : */ || minute < 0 || minute > 59)
      return undefined;
    i += 6;
    if (text.charCodeAt(i) === 58) {
      second = digits(text, i + 1, 2);
      if (second < 0 || second > 59) return undefined;
      i += 3;
      const dot = text.charCodeAt(i);
      if (dot === 46 /* . */ || dot === 44 /* , */) {
        i++;
        let scale = 100;
        const start = i;
        for (; i < n; i++) {
          const d = text.charCodeAt(i) - ZERO;
          if (d < 0 || d > 9) break;
          ms += d * scale; // digits past milliseconds add fractions; truncated below
          scale /= 10;
        }
        if (i === start) return undefined;
        ms = Math.floor(ms);
      }
    }
  }
  let offset = 0;
  if (i < n) {
    const zone = text.charCodeAt(i);
    if ((zone === 90 /* Z */ || zone === 122) /* z */ && i + 1 === n) {
      // UTC
    } else if (zone === 43 /* + */ || zone === 45 /* - */) {
      const zh = digits(text, i + 1, 2);
      let zm = 0;
      if (i + 3 === n) zm = 0;
      else if (text.charCodeAt(i + 3) === 58 && i + 6 === n) zm = digits(text, i + 4, 2);
      else if (i + 5 === n) zm = digits(text, i + 3, 2);
      else return undefined;
      if (zh < 0 || zh > 23 || zm < 0 || zm > 59) return undefined;
      offset = (zone === 43 ? 1 : -1) * (zh * 60 + zm) * 60_000;
    } else {
      return undefined;
    }
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const SENTINEL =
  /^(\d{1,2})\/(\d{1,2})\/(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*([AaPp][Mm])?$/;

function parseOther(text: string): number | undefined {
  if (text.length > 0 && text.length <= 16 && digits(text, 0, text.length) >= 0) return Number(text);
  const m = SENTINEL.exec(text);
  if (m === null) return undefined;
  const month = Number(m[1]);
  const day = Number(m[2]);
  const year = Number(m[3]);
  let hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  const half = m[8]?.toUpperCase();
  if (half !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (half === 'PM' ? 12 : 0);
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}
