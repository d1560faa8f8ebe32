import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readNdjson, readNdjsonBatches, type NdjsonItem } from '../../src/cli/ndjson.js';
import { ErrorCodes } from '../../src/errors.js';

async function readAll(text: string, chunk = 7): Promise<NdjsonItem[]> {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += chunk) chunks.push(text.slice(i, i + chunk));
  const items: NdjsonItem[] = [];
  for await (const item of readNdjson(Readable.from(chunks))) items.push(item);
  return items;
}

describe('readNdjson', () => {
  it("yields each line's value with its line number, skipping blank lines", async () => {
    const items = await readAll('\uFEFF{"a":1}\r\n\n   \n{"b":2}\n{"c":3}');
    assert.deepEqual(items, [
      { lineNumber: 1, index: null, value: { a: 1 } },
      { lineNumber: 4, index: null, value: { b: 2 } },
      { lineNumber: 5, index: null, value: { c: 3 } },
    ]);
  });

  it('yields each element of a line holding an array, with the same line number', async () => {
    const items = await readAll('{"a":1}\n[{"b":2},{"c":3}]\n[]\n');
    assert.deepEqual(items, [
      { lineNumber: 1, index: null, value: { a: 1 } },
      { lineNumber: 2, index: 0, value: { b: 2 } },
      { lineNumber: 2, index: 1, value: { c: 3 } },
    ]);
  });

  it('yields an error for a line that is not JSON, and goes on', async () => {
    const items = await readAll('{"a":1}\n{oops\n{"b":2}\n');
    assert.equal(items.length, 3);
    const bad = items[1];
    assert.ok(bad !== undefined && 'error' in bad);
    assert.equal(bad.lineNumber, 2);
    assert.equal(bad.error.code, ErrorCodes.RECORD_NOT_JSON);
    assert.match(bad.error.message, /^not JSON: /);
    assert.deepEqual(items[2], { lineNumber: 3, index: null, value: { b: 2 } });
  });

  it('splits lines across chunks, multi-byte characters and long lines included', async () => {
    const long = 'x'.repeat(50_000);
    const text = `{"name":"Zoë 😀"}\r\n{"long":"${long}"}\n{"last":true}`;
    const bytes = Buffer.from(text, 'utf8');
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 5) chunks.push(bytes.subarray(i, i + 5)); // splits the emoji
    const items: NdjsonItem[] = [];
    for await (const item of readNdjson(Readable.from(chunks))) items.push(item);
    assert.deepEqual(items, [
      { lineNumber: 1, index: null, value: { name: 'Zoë 😀' } },
      { lineNumber: 2, index: null, value: { long } },
      { lineNumber: 3, index: null, value: { last: true } },
    ]);
  });

  it('hands out one batch per chunk', async () => {
    const batches: NdjsonItem[][] = [];
    for await (const batch of readNdjsonBatches(Readable.from(['{"a":1}\n{"b":2}\n{"c":', '3}\n'])))
      batches.push(batch);
    assert.deepEqual(
      batches.map((batch) => batch.map((item) => item.lineNumber)),
      [[1, 2], [3]],
    );
  });
});
