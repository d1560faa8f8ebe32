import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ErrorCodes, RecordError } from '../errors.js';
import { readJsonInput } from './json-input.js';
import { readNdjsonBatches, type NdjsonItem } from './ndjson.js';
import { openInput } from './open-input.js';

/** One value of the input, or why it could not be read; `index` for an element of an array. */
export type HistoryItem = NdjsonItem;

const DOCUMENT_BATCH = 1_024;

/**
 * Reads history for `backtest`, in batches: an `--input` path (`-` for stdin), gunzipped when its name ends
 * in `.gz`, in any shape `replay` and `ingest` read — NDJSON (snake_case or Management API records, a line
 * may hold a content blob's array) through ndjson.ts's batch reader, the fast path; a whole JSON document
 * (a content blob file, pretty-printed) through json-input.ts. The shape is told from the start of the
 * input as json-input.ts tells it: a first line that is JSON on its own means NDJSON.
 */
export async function* readHistory(path: string, stdin: Readable): AsyncGenerator<HistoryItem[]> {
  let stream = await openInput(path, stdin);
  if (path.toLowerCase().endsWith('.gz')) {
    const file = stream;
    const gunzip = createGunzip();
    file.on('error', (error) => gunzip.destroy(error));
    stream = file.pipe(gunzip);
  }
  try {
    const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    // Peek up to the first non-blank byte, and for '[' its whole first line.
    const head: Buffer[] = [];
    let text = '';
    let ended = false;
    for (;;) {
      const trimmed = text.replace(/^\uFEFF/, '').trimStart();
      if (trimmed.length > 0 && (trimmed[0] !== '[' || trimmed.includes('\n'))) break;
      const next = await chunks.next();
      if (next.done === true) {
        ended = true;
        break;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      head.push(chunk);
      text += chunk.toString('utf8');
    }
    const rest = Readable.from(
      (async function* () {
        yield* head;
        if (ended) return;
        for (;;) {
          const next = await chunks.next();
          if (next.done === true) return;
          yield next.value;
        }
      })(),
      { objectMode: false },
    );
    if (isDocument(text)) {
      let batch: HistoryItem[] = [];
      for await (const item of readJsonInput(rest)) {
        batch.push(
          'error' in item
            ? {
                lineNumber: item.line,
                index: item.index,
                error: new RecordError(null, item.error, ErrorCodes.RECORD_NOT_JSON),
              }
            : { lineNumber: item.line, index: item.index, value: item.value },
        );
        if (batch.length >= DOCUMENT_BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } else {
      yield* readNdjsonBatches(rest);
    }
  } finally {
    stream.destroy();
  }
}

/** A document (not NDJSON): it starts with '[' and its first line is not JSON on its own. */
function isDocument(head: string): boolean {
  const text = head.replace(/^\uFEFF/, '');
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('[')) return false;
  const end = trimmed.indexOf('\n');
  const first = end === -1 ? trimmed : trimmed.slice(0, end);
  try {
    JSON.parse(first);
    return false;
  } catch {
    return true;
  }
}
