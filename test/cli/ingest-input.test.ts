import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readJsonInput, type JsonInputItem } from '../../src/cli/json-input.js';

/** Reads `text` cut into chunks of `size` characters (to cross every boundary). */
async function read(text: string, size = 1 << 16): Promise<JsonInputItem[]> {
  const chunks: Buffer[] = [];
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const out: JsonInputItem[] = [];
  for await (const item of readJsonInput(Readable.from(chunks))) out.push(item);
  return out;
}

const positions = (items: JsonInputItem[]) =>
  items.map((i) => [i.line, i.index, 'error' in i ? 'error' : i.value]);

describe('readJsonInput', () => {
  it('reads NDJSON with line numbers, skips blank lines, reports a bad line with its text', async () => {
    const items = await read('{"a":1}\n\n  \nnot json\r\n{"b":2}\r\n{"c":3}');
    assert.deepEqual(positions(items), [
      [1, null, { a: 1 }],
      [4, null, 'error'],
      [5, null, { b: 2 }],
      [6, null, { c: 3 }],
    ]);
    const bad = items[1] as Extract<JsonInputItem, { error: string }>;
    assert.equal(bad.raw, 'not json');
    assert.match(bad.error, /^not JSON/);
  });

  it('reads NDJSON whose lines hold arrays (content blobs): each element with its index', async () => {
    const items = await read('[{"a":1},{"a":2}]\n{"b":1}\n[{"c":1}]\n');
    assert.deepEqual(positions(items), [
      [1, 0, { a: 1 }],
      [1, 1, { a: 2 }],
      [2, null, { b: 1 }],
      [3, 0, { c: 1 }],
    ]);
  });

  it('reads a pretty-printed JSON array document element by element, with the line each starts on', async () => {
    const records = [
      { Id: 'r1', UserId: 'eve@contoso.com', ObjectId: 'say "hi" \\ [not a bracket] {nor a brace}' },
      { Id: 'r2', Nested: { list: [1, [2, 3]], s: ']' } },
      { Id: 'r3' },
    ];
    const text = `\uFEFF${JSON.stringify(records, null, 2)}\n`;
    for (const size of [1, 7, 64, 1 << 16]) {
      const items = await read(text, size);
      assert.deepEqual(
        items.map((i) => ('value' in i ? i.value : i)),
        records,
        `chunks of ${size}`,
      );
      assert.deepEqual(
        items.map((i) => [i.line, i.index]),
        [
          [2, 0],
          [7, 1],
          [20, 2],
        ],
      );
    }
  });

  it('in a document, a bad element costs only itself; scalars are values; several arrays follow each other', async () => {
    const text = '[\n  {"a":1},\n  {"a": tru},\n  5,\n  "x",\n  {"a":3}\n]\n[\n {"b":1}\n]\n{"c":1}\n';
    const items = await read(text, 3);
    assert.deepEqual(positions(items), [
      [2, 0, { a: 1 }],
      [3, 1, 'error'],
      [4, 2, 5],
      [5, 3, 'x'],
      [6, 4, { a: 3 }],
      [9, 0, { b: 1 }],
      [11, null, { c: 1 }],
    ]);
    assert.equal((items[1] as { raw: string }).raw, '{"a": tru}');
  });

  it('says so when a document ends inside an array or a value', async () => {
    const cut = await read('[\n {"a":1},\n {"a":');
    assert.deepEqual(positions(cut), [
      [2, 0, { a: 1 }],
      [3, 1, 'error'],
    ]);
    assert.match((cut[1] as { error: string }).error, /ends inside/);
    const open = await read('[\n {"a":1}\n');
    assert.equal(open.length, 2);
    assert.match((open[1] as { error: string }).error, /no closing/);
  });

  it('reads nothing from an empty or blank input', async () => {
    assert.deepEqual(await read(''), []);
    assert.deepEqual(await read('\n  \n'), []);
  });
});
