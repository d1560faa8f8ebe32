import { readFileSync } from 'node:fs';

/**
 * The version in the package's package.json. Found by walking up from this file: it sits two levels up
 * from src/cli in a checkout and three from dist/src/cli once built (or installed), and the image copies
 * package.json too.
 */
export function packageVersion(): string {
  for (let dir = new URL('./', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    try {
      const json = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (json.name === 'mailbox-radar' && typeof json.version === 'string') return json.version;
    } catch {
      // no package.json here: one level up
    }
  }
  return 'unknown';
}
