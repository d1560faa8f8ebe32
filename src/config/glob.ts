/**
 * The patterns of `detection.policies[].match`: a UPN, a SID, an app id, or a glob over them, where `*`
 * stands for any characters (dots and `@` included) and `?` for one. Matching ignores case. Checked once
 * when the configuration is loaded (`patternProblem`), compiled once when a core starts (`PatternSet`).
 */

/** Why `pattern` is not one, or undefined. Refuses what looks like another syntax rather than read it literally. */
export function patternProblem(pattern: string): string | undefined {
  if (/[[\]{}()|]/.test(pattern))
    return '[ ] { } ( ) | are not pattern syntax here: * stands for any characters, ? for one';
  if (/[,;]/.test(pattern)) return 'must be one UPN, SID or glob per entry (a list is written [a, b])';
  if (/\s/.test(pattern)) return 'must be one UPN, SID or glob, without spaces';
  if (/[\\/]/.test(pattern))
    return 'must be a UPN, a SID or a glob, not a path (a file of UPNs is mailboxFile)';
  if (pattern.includes('**')) return '** is not pattern syntax here: * already matches any characters';
  return undefined;
}

/** A compiled list of patterns: exact entries in a set, globs in one regular expression. */
export class PatternSet {
  private readonly exact = new Set<string>();
  private readonly globs: RegExp | null;

  constructor(patterns: readonly string[]) {
    const globs: string[] = [];
    for (const raw of patterns) {
      const pattern = raw.trim().toLowerCase();
      if (/[*?]/.test(pattern)) globs.push(globSource(pattern));
      else this.exact.add(pattern);
    }
    this.globs = globs.length === 0 ? null : new RegExp(`^(?:${globs.join('|')})$`);
  }

  get size(): number {
    return this.exact.size + (this.globs === null ? 0 : 1);
  }

  /** Whether `text` (any case) is one of the entries or matches one of the globs. */
  matches(text: string | null): boolean {
    if (text === null) return false;
    const lower = text.toLowerCase();
    return this.exact.has(lower) || (this.globs !== null && this.globs.test(lower));
  }
}

function globSource(pattern: string): string {
  let source = '';
  for (const c of pattern) {
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  return source;
}
