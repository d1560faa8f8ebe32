import type { Readable } from 'node:stream';

/**
 * Reads activity JSON in the shapes the Management Activity API and people produce, streaming:
 * - NDJSON: one record per line;
 * - NDJSON of arrays: a line holding a JSON array (a content blob) yields each element;
 * - a whole document: one JSON array (a content blob file, possibly pretty-printed over many lines), or
 *   several top-level arrays or objects one after another.
 * The shape is told from the start of the input: a first line that is JSON on its own means NDJSON.
 *
 * Each item carries its position — the 1-based line where the value starts, and its index when it is an
 * element of an array — and either the parsed value or why it could not be read, with the raw text.
 * A bad NDJSON line costs only that line; in a document, a bad element costs only that element.
 */
export type JsonInputItem =
  | { line: number; index: number | null; value: unknown }
  | { line: number; index: number | null; error: string; raw: string };

export async function* readJsonInput(input: Readable): AsyncGenerator<JsonInputItem> {
  input.setEncoding('utf8');
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<string>;
  // Peek: up to the first non-blank character, and for '[' the whole first line.
  let head = '';
  let ended = false;
  for (;;) {
    const trimmed = head.replace(/^\uFEFF/, '').trimStart();
    if (trimmed.length > 0 && (trimmed[0] !== '[' || trimmed.includes('\n'))) break;
    const next = await chunks.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    head += next.value;
  }
  head = head.replace(/^\uFEFF/, '');
  const rest = async function* (): AsyncGenerator<string> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const next = await chunks.next();
      if (next.done === true) return;
      yield next.value;
    }
  };
  if (isDocument(head)) yield* readDocument(rest());
  else yield* readLines(rest());
}

/** A document (not NDJSON): it starts with '[' and its first line is not JSON on its own. */
function isDocument(head: string): boolean {
  const trimmed = head.trimStart();
  if (!trimmed.startsWith('[')) return false;
  const leading = head.length - trimmed.length;
  const end = head.indexOf('\n', leading);
  const first = end === -1 ? head.slice(leading) : head.slice(leading, end);
  try {
    JSON.parse(first);
    return false;
  } catch {
    return true;
  }
}

async function* readLines(chunks: AsyncIterable<string>): AsyncGenerator<JsonInputItem> {
  let carry = '';
  let line = 0;
  for await (const chunk of chunks) {
    carry += chunk;
    let at: number;
    while ((at = carry.indexOf('\n')) !== -1) {
      line++;
      yield* parseLine(carry.slice(0, at), line);
      carry = carry.slice(at + 1);
    }
  }
  if (carry.length > 0) yield* parseLine(carry, line + 1);
}

function* parseLine(raw: string, line: number): Generator<JsonInputItem> {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (text.trim().length === 0) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    yield { line, index: null, error: `not JSON: ${(error as Error).message}`, raw: text };
    return;
  }
  if (Array.isArray(value))
    for (let index = 0; index < value.length; index++) yield { line, index, value: value[index] };
  else yield { line, index: null, value };
}

/**
 * A scanner over a JSON document that cuts out each element of a top-level array (and each top-level
 * object) without holding the whole document: it tracks strings, escapes and nesting, and hands every
 * element's text to JSON.parse on its own.
 */
/** The index of `char` in `text` from `from`, or the text's length. */
function indexOr(text: string, char: string, from: number): number {
  const at = text.indexOf(char, from);
  return at === -1 ? text.length : at;
}

async function* readDocument(chunks: AsyncIterable<string>): AsyncGenerator<JsonInputItem> {
  let line = 1;
  let inArray = false; // inside a top-level array, between elements
  let index = 0;
  let depth = 0; // nesting inside the current element
  let inString = false;
  let escaped = false;
  let parts: string[] | null = null; // text of the current element
  let startLine = 0;
  let elementIndex: number | null = null;
  let scalar = false;

  const finish = (text: string): JsonInputItem => {
    try {
      return { line: startLine, index: elementIndex, value: JSON.parse(text) as unknown };
    } catch (error) {
      return {
        line: startLine,
        index: elementIndex,
        error: `not JSON: ${(error as Error).message}`,
        raw: text,
      };
    }
  };

  for await (const chunk of chunks) {
    let from = 0; // where the current element's text starts in this chunk
    let nextBackslash = -1;
    let nextNewline = -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (parts !== null) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c !== '"') {
            // Jump to the next quote, backslash or newline: most of a record's text is inside strings.
            if (nextBackslash <= i) nextBackslash = indexOr(chunk, '\\', i + 1);
            if (nextNewline <= i) nextNewline = indexOr(chunk, '\n', i + 1);
            i = Math.min(indexOr(chunk, '"', i + 1), nextBackslash, nextNewline) - 1;
          } else {
            inString = false;
            if (depth === 0) {
              // A string element: over at its closing quote.
              parts.push(chunk.slice(from, i + 1));
              yield finish(parts.join(''));
              parts = null;
            }
          }
        } else if (scalar) {
          if (c === ',' || c === ']' || c === '\n' || c === ' ' || c === '\t' || c === '\r') {
            parts.push(chunk.slice(from, i));
            yield finish(parts.join(''));
            parts = null;
            scalar = false;
            if (c === ']') inArray = false;
          }
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') {
          depth--;
          if (depth === 0) {
            parts.push(chunk.slice(from, i + 1));
            yield finish(parts.join(''));
            parts = null;
          }
        }
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || (inArray && c === ',')) {
        // between values
      } else if (inArray && c === ']') {
        inArray = false;
      } else if (!inArray && c === '[') {
        inArray = true;
        index = 0;
      } else {
        // A value starts: an element of the array, or a top-level value of its own.
        parts = [];
        from = i;
        startLine = line;
        elementIndex = inArray ? index++ : null;
        depth = c === '{' || c === '[' ? 1 : 0;
        inString = c === '"';
        scalar = !inString && depth === 0;
      }
      if (c === '\n') line++;
    }
    if (parts !== null) parts.push(chunk.slice(from));
  }
  if (parts !== null) {
    const text = parts.join('');
    yield scalar && text.trim().length > 0
      ? finish(text)
      : { line: startLine, index: elementIndex, error: 'the input ends inside this value', raw: text };
  } else if (inArray) {
    yield { line, index: null, error: 'the input ends inside a JSON array (no closing ])', raw: '' };
  }
}
