import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, ErrorCodes, RadarError, RecordError } from '../src/errors.js';

const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...docs.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));

test('every error code is documented in docs/errors.md, and nothing else is', () => {
  assert.deepEqual([...documented].sort(), Object.values(ErrorCodes).sort());
});

test('errors carry code, retriable flag and cause', () => {
  const cause = new Error('socket hang up');
  const e = new RadarError(ErrorCodes.REGISTRY_UNAVAILABLE, 'no registry', { cause, retriable: true });
  assert.equal(e.code, 'REGISTRY_UNAVAILABLE');
  assert.equal(e.retriable, true);
  assert.equal(e.cause, cause);
  assert.equal(new RecordError('creation_time', 'not a timestamp').message, 'creation_time: not a timestamp');
  const c = new ConfigError('kafka.brokers', 'nope', 'must be host:port');
  assert.equal(c.message, 'invalid config kafka.brokers="nope": must be host:port');
  assert.equal(c.retriable, false);
});
