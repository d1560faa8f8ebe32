/**
 * Normal forms for comparing identities and addresses: UPNs and domains lower case, SIDs upper case,
 * client IPs in one canonical text form. Comparisons in the contract are case-insensitive; normalising
 * once lets the rules key on plain strings.
 */

/** True when the text is a Windows SID (`S-1-…`, any case). */
export function isSid(text: string): boolean {
  return (
    text.length > 4 &&
    (text.charCodeAt(0) | 0x20) === 115 /* s */ &&
    text.charCodeAt(1) === 45 /* - */ &&
    text.charCodeAt(2) === 49 /* 1 */ &&
    text.charCodeAt(3) === 45
  );
}

/** A SID upper-cased; null for null or blank. */
export function normaliseSid(sid: string | null | undefined): string | null {
  if (sid === null || sid === undefined) return null;
  const text = sid.trim();
  return text.length === 0 ? null : text.toUpperCase();
}

/** A UPN (or any address) lower-cased; null for null or blank. */
export function normaliseUpn(upn: string | null | undefined): string | null {
  if (upn === null || upn === undefined) return null;
  const text = upn.trim();
  return text.length === 0 ? null : text.toLowerCase();
}

/** A user id: upper case when it is a SID, lower case otherwise (UPN, `NT AUTHORITY\SYSTEM`); null if blank. */
export function normaliseUserId(userId: string | null | undefined): string | null {
  if (userId === null || userId === undefined) return null;
  const text = userId.trim();
  if (text.length === 0) return null;
  return isSid(text) ? text.toUpperCase() : text.toLowerCase();
}

/** The domain of a UPN (after the last `@`, lower case, no trailing dot); null when there is none. */
export function domainOf(upn: string | null | undefined): string | null {
  if (upn === null || upn === undefined) return null;
  const at = upn.lastIndexOf('@');
  if (at < 0) return null;
  let end = upn.length;
  while (end > at + 1 && (upn.charCodeAt(end - 1) === 46 /* . */ || upn.charCodeAt(end - 1) <= 32)) end--;
  if (end === at + 1) return null;
  return upn.slice(at + 1, end).toLowerCase();
}

/** Case-insensitive equality of two optional strings, without allocating when they are equal as given. */
export function sameText(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined || a.length === 0) return false;
  if (a === b) return true;
  return a.length === b.length && a.toUpperCase() === b.toUpperCase();
}

/**
 * A client IP in canonical form: `v4`, `v4:port` → `v4`; `[v6]:port`, `v6%zone` → `v6` in RFC 5952 form
 * (lower case, no leading zeros, the longest zero run as `::`); `::ffff:v4` → `v4`; blank → `""`. Text
 * that is not an address is returned trimmed and lower-cased.
 */
export function normaliseClientIp(raw: string | null | undefined): string {
  if (raw === null || raw === undefined) return '';
  let text = raw.trim();
  if (text.length === 0) return '';
  if (text.charCodeAt(0) === 91 /* [ */) {
    const end = text.indexOf(']');
    if (end > 0) text = text.slice(1, end);
  } else {
    const colon = text.indexOf(':');
    // One colon and a dot: v4:port.
    if (colon > 0 && text.indexOf(':', colon + 1) < 0 && text.indexOf('.') > 0) text = text.slice(0, colon);
  }
  const percent = text.indexOf('%');
  if (percent >= 0) text = text.slice(0, percent);
  if (text.indexOf(':') < 0) return isIpv4(text) ? text : text.toLowerCase();
  return canonicalIpv6(text) ?? text.toLowerCase();
}

function isIpv4(text: string): boolean {
  let parts = 0;
  let value = -1;
  let length = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (value < 0 || value > 255) return false;
      parts++;
      value = -1;
      length = 0;
    } else if (c >= 48 && c <= 57) {
      value = (value < 0 ? 0 : value) * 10 + (c - 48);
      if (++length > 3) return false;
    } else {
      return false;
    }
  }
  return parts === 4;
}

/** RFC 5952 text of an IPv6 address (mapped IPv4 as dotted quad), or null when it is not one. */
function canonicalIpv6(text: string): string | null {
  const groups: number[] = [];
  let gap = -1; // index in groups where `::` stands
  const body = text.toLowerCase();
  let i = 0;
  if (body.startsWith('::')) {
    gap = 0;
    i = 2;
  }
  while (i < body.length) {
    const dot = body.indexOf('.', i);
    const colon = body.indexOf(':', i);
    if (dot >= 0 && (colon < 0 || dot < colon)) {
      // Embedded IPv4 in the last 32 bits.
      const v4 = body.slice(i);
      if (!isIpv4(v4)) return null;
      const octets = v4.split('.').map(Number) as [number, number, number, number];
      groups.push((octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]);
      i = body.length;
      break;
    }
    const end = colon < 0 ? body.length : colon;
    if (end === i || end - i > 4) return null;
    const group = parseInt(body.slice(i, end), 16);
    if (Number.isNaN(group) || !/^[0-9a-f]+$/.test(body.slice(i, end))) return null;
    groups.push(group);
    if (colon < 0) {
      i = body.length;
    } else if (body.charCodeAt(colon + 1) === 58) {
      if (gap >= 0) return null;
      gap = groups.length;
      i = colon + 2;
    } else {
      i = colon + 1;
      if (i === body.length) return null;
    }
  }
  if (gap >= 0) {
    if (groups.length > 7) return null;
    groups.splice(gap, 0, ...new Array<number>(8 - groups.length).fill(0));
  }
  if (groups.length !== 8) return null;
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    const high = groups[6] as number;
    const low = groups[7] as number;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  // Longest run of two or more zero groups becomes `::` (the first, on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
