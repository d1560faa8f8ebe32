import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { alertId } from '../../src/detect/alert-id.js';

describe('alertId', () => {
  it('is the first 32 hex digits of the SHA-256 of rule, key and record ids', () => {
    const expected = createHash('sha256')
      .update('non_owner_burst\nmbx\neve\na\nb')
      .digest('hex')
      .slice(0, 32);
    assert.equal(alertId('non_owner_burst', 'mbx\neve', ['a', 'b']), expected);
  });

  it('changes with the rule, the key and the records', () => {
    const base = alertId('non_owner_burst', 'k', ['a', 'b']);
    assert.notEqual(alertId('cross_domain_burst', 'k', ['a', 'b']), base);
    assert.notEqual(alertId('non_owner_burst', 'k2', ['a', 'b']), base);
    assert.notEqual(alertId('non_owner_burst', 'k', ['a', 'c']), base);
    assert.notEqual(alertId('non_owner_burst', 'k', ['ab']), base);
  });
});
