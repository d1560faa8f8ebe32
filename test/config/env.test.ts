import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultConfig, loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

/**
 * The MAILBOX_RADAR_ namespace belongs to the configuration: the project's own variables (scripts, test
 * support) live outside it, and the loader reads only the config shapes, so a stray variable in someone's
 * shell does not stop every command.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Generated, vendored or the loader's own tests (which use wrong names on purpose).
const SKIP = new Set([
  'node_modules',
  '.git',
  '.stack',
  'dist',
  'coverage',
  'package-lock.json',
  'test/config',
]);

function* repoFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (SKIP.has(name) || SKIP.has(relative(ROOT, path))) continue;
    const stat = statSync(path);
    if (stat.isDirectory()) yield* repoFiles(path);
    else if (stat.isFile() && stat.size < 1_000_000) yield path;
  }
}

describe('config environment namespace', () => {
  it('ignores MAILBOX_RADAR_ variables that are not configuration paths', () => {
    const config = loadConfig({
      env: {
        MAILBOX_RADAR_STACK_DIR: '/tmp/stack',
        MAILBOX_RADAR_NO_DOCKER: '1',
        MAILBOX_RADAR_DETECTION__RULES__NON_OWNER_BURST__THRESHOLD: '30',
      },
    });
    assert.equal(config.detection.rules.nonOwnerBurst.threshold, 30);
  });

  it('refuses the config shapes it cannot place: a misspelt section, a single _ between levels', () => {
    assert.throws(
      () => loadConfig({ env: { MAILBOX_RADAR_KAFKA_BROKERS: '[a:9092]' } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /MAILBOX_RADAR_KAFKA_BROKERS.*levels are split by __/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ env: { MAILBOX_RADAR_KAFKA_SASL_PASSWORD: 'hunter2' } }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes('hunter2'),
    );
    assert.throws(
      () => loadConfig({ env: { MAILBOX_RADAR_KAFAK__BROKERS: '[a:9092]' } }),
      (error: unknown) =>
        error instanceof ConfigError && /kafak=.*unknown key \(did you mean kafka\?\)/.test(error.message),
    );
  });

  it('every MAILBOX_RADAR_ variable the project names is MAILBOX_RADAR_CONFIG or a real config key', () => {
    const sections = Object.keys(defaultConfig()).map((s) => s.toUpperCase());
    const found = new Map<string, string>(); // variable → first file naming it
    for (const file of repoFiles(ROOT)) {
      for (const [name] of readFileSync(file, 'utf8').matchAll(/\bMAILBOX_RADAR_[A-Z0-9_]*[A-Z0-9]/g)) {
        if (!found.has(name)) found.set(name, relative(ROOT, file));
      }
    }
    assert.ok(found.size > 10, `expected to find the project's config variables, found ${found.size}`);
    const strays: string[] = [];
    for (const [name, file] of found) {
      if (name === 'MAILBOX_RADAR_CONFIG') continue;
      const [section] = name.slice('MAILBOX_RADAR_'.length).split('__');
      if (!name.includes('__') || !sections.includes(section as string)) {
        strays.push(`${name} (${file}): not MAILBOX_RADAR_<SECTION>__<KEY>`);
        continue;
      }
      // Any value will do: the key must exist, whatever the loader thinks of the value.
      try {
        loadConfig({ env: { [name]: 'x' } });
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        if (/unknown key|not a configuration path/.test(error.message))
          strays.push(`${name} (${file}): ${error.message}`);
      }
    }
    assert.deepEqual(strays, []);
  });
});
