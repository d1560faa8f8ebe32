import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  domainOf,
  isSid,
  normaliseClientIp,
  normaliseSid,
  normaliseUpn,
  normaliseUserId,
} from '../../src/detect/normalise.js';

describe('normalise', () => {
  it('reads client IPs in every shape the audit log writes', () => {
    const cases: [string | null, string][] = [
      ['40.69.136.121', '40.69.136.121'],
      ['40.69.136.121:51234', '40.69.136.121'],
      ['2603:10B6:5:345::11', '2603:10b6:5:345::11'],
      ['[2603:10b6:5:345::11]:443', '2603:10b6:5:345::11'],
      ['[::1]', '::1'],
      ['::ffff:175.45.176.99', '175.45.176.99'],
      ['::FFFF:AF2D:B063', '175.45.176.99'],
      ['fe80::1%eth0', 'fe80::1'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:1:1:1:1:1:1', '2001:db8:1:1:1:1:1:1'],
      ['::', '::'],
      ['  10.0.0.1  ', '10.0.0.1'],
      ['', ''],
      [null, ''],
      ['not-an-IP', 'not-an-ip'],
      ['1.2.3.999', '1.2.3.999'],
    ];
    for (const [raw, expected] of cases) assert.equal(normaliseClientIp(raw), expected, String(raw));
  });

  it('lower-cases UPNs and upper-cases SIDs', () => {
    assert.equal(normaliseUpn(' AdeleV@M365x816222.OnMicrosoft.com '), 'adelev@m365x816222.onmicrosoft.com');
    assert.equal(normaliseUpn('  '), null);
    assert.equal(normaliseSid('s-1-5-21-1'), 'S-1-5-21-1');
    assert.equal(normaliseSid(null), null);
    assert.equal(normaliseUserId('s-1-5-21-1'), 'S-1-5-21-1');
    assert.equal(normaliseUserId('Eve@Contoso.com'), 'eve@contoso.com');
  });

  it('knows a SID when it sees one', () => {
    assert.equal(isSid('S-1-5-18'), true);
    assert.equal(isSid('s-1-5-18'), true);
    assert.equal(isSid('sam@contoso.com'), false);
    assert.equal(isSid('S-1'), false);
  });

  it('takes the domain after the last @', () => {
    assert.equal(domainOf('Eve@Contoso.COM'), 'contoso.com');
    assert.equal(domainOf('"odd@name"@fabrikam.com.'), 'fabrikam.com');
    assert.equal(domainOf('S-1-5-21-1'), null);
    assert.equal(domainOf('eve@'), null);
    assert.equal(domainOf(null), null);
  });
});
