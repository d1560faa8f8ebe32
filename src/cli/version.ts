import { readFileSync } from 'node:fs';

/**
 * The folder of this package's package.json, found by walking up from this file: it sits two levels up
 * from src/cli in a checkout and three from dist/src/cli once built (or installed), and the image copies
 * package.json too.
 */
export function packageRoot(): URL | undefined {
  for (let dir = new URL('./', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    try {
      const json = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown };
      if (json.name === 'mailbox-radar') return dir;
    } catch {
      // no package.json here: one level up
    }
  }
  return undefined;
}

/** The version in the package's package.json. */
export function packageVersion(): string {
  const root = packageRoot();
  if (root === undefined) return 'unknown';
  const json = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version?: unknown };
  return typeof json.version === 'string' ? json.version : 'unknown';
}
