import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, jsonForScript, renderReport, survival } from '../../src/backtest/report.js';
import { XSS_ACTOR, xssBacktest } from './support.js';

const info = (keys: readonly string[]) => ({
  inputs: ['history<1>.ndjson'],
  generatedAt: new Date(Date.UTC(2026, 10, 27)),
  keys,
});

describe('the backtest report', () => {
  it('escapes every name: markup in an actor never reaches the HTML as markup', () => {
    const { keys, result } = xssBacktest();
    assert.equal(result.settings.find((s) => s.setting.isDefault)?.actors.get(XSS_ACTOR), 1);
    const html = renderReport(result, info(keys));
    assert.ok(!html.includes('<script>window.__pwned'), 'no raw script from the data');
    assert.ok(html.includes(escapeHtml(XSS_ACTOR)), 'the actor, escaped, in the top actors');
    assert.ok(html.includes('<code>history&lt;1&gt;.ndjson</code>'));
    // Three script elements of its own (data, uPlot, page) and no other.
    assert.equal(html.match(/<script\b/g)?.length, 3);
    assert.equal(html.match(/<\/script>/g)?.length, 3);
    assert.ok(!/<link\b|src="http|href="http/.test(html), 'nothing fetched from elsewhere');
  });

  it('embeds JSON that cannot end its script element, and reads back the same', () => {
    const value = { name: '</script><!-- \u2028\u2029 & <b>', n: 1 };
    const text = jsonForScript(value);
    assert.ok(!/[<>&\u2028\u2029]/.test(text), text);
    assert.deepEqual(JSON.parse(text), value);
  });

  it('counts, for each peak value, the keys that reached it under each setting', () => {
    assert.deepEqual(survival([[3, 5, 5, 9], [5, 9], []]), {
      x: [0, 3, 5, 9],
      y: [
        [4, 4, 3, 1],
        [2, 2, 2, 1],
        [0, 0, 0, 0],
      ],
    });
    assert.equal(survival([[], []]), undefined);
  });
});
