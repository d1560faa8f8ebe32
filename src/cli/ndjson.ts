import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ErrorCodes, RecordError } from '../errors.js';

/** One value read from an NDJSON stream, or why a line could not be read. */
export type NdjsonItem =
  | { lineNumber: number; index: number | null; value: unknown }
  | { lineNumber: number; index: number | null; error: RecordError };

/**
 * Reads NDJSON line by line, streaming: memory stays flat whatever the size of the input. Each non-blank
 * line yields its JSON value with its 1-based line number; a line holding a JSON array (a content blob of
 * the Management Activity API) yields each element with the same line number and its `index`. A line
 * that is not JSON yields an error (RECORD_NOT_JSON) instead, and reading goes on. Lines end in LF or
 * CRLF; a byte-order mark at the start is skipped.
 *
 * @example
 * for await (const item of readNdjson(createReadStream(file))) if ('value' in item) use(item.value);
 */
export async function* readNdjson(input: Readable): AsyncGenerator<NdjsonItem> {
  for await (const batch of readNdjsonBatches(input)) yield* batch;
}

/**
 * The same, one batch per chunk of input: the hot path of `replay` and `ingest`, which then pay one
 * await per chunk rather than one per line. Lines are split here rather than by node:readline, whose
 * per-line events and async iteration cost as much as the JSON parsing of a typical audit record.
 */
export async function* readNdjsonBatches(input: Readable): AsyncGenerator<NdjsonItem[]> {
  const decoder = new StringDecoder('utf8');
  let pending: string[] = []; // the start of a line that spans chunks
  let lineNumber = 0;

  const parseLine = (raw: string, batch: NdjsonItem[]): void => {
    lineNumber++;
    let line = raw;
    if (lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.charCodeAt(line.length - 1) === 13 /* \r */) line = line.slice(0, -1);
    if (isBlank(line)) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const reason = `not JSON: ${(error as Error).message}`;
      batch.push({
        lineNumber,
        index: null,
        error: new RecordError(null, reason, ErrorCodes.RECORD_NOT_JSON),
      });
      return;
    }
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++)
        batch.push({ lineNumber, index, value: value[index] as unknown });
    } else {
      batch.push({ lineNumber, index: null, value });
    }
  };

  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    const batch: NdjsonItem[] = [];
    let start = 0;
    let end = text.indexOf('\n');
    if (end >= 0 && pending.length > 0) {
      pending.push(text.slice(0, end));
      parseLine(pending.join(''), batch);
      pending = [];
      start = end + 1;
      end = text.indexOf('\n', start);
    }
    while (end >= 0) {
      parseLine(text.slice(start, end), batch);
      start = end + 1;
      end = text.indexOf('\n', start);
    }
    if (start < text.length) pending.push(start === 0 ? text : text.slice(start));
    if (batch.length > 0) yield batch;
  }
  const last = pending.join('') + decoder.end();
  if (last.length > 0) {
    const batch: NdjsonItem[] = [];
    parseLine(last, batch);
    if (batch.length > 0) yield batch;
  }
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) > 32) return false;
  return true;
}
