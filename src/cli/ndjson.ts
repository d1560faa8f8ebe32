import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ErrorCodes, RecordError } from '../errors.js';

/** One value read from an NDJSON stream, or why a line could not be read. */
export type NdjsonItem =
  | { lineNumber: number; index: number | null; value: unknown }
  | { lineNumber: number; index: number | null; error: RecordError };

/**
 * Reads NDJSON line by line (streaming: memory stays flat whatever the size). Each non-blank line yields
 * its JSON value with its 1-based line number; a line holding a JSON array (a content blob of the
 * Management Activity API) yields each element with the same line number and its `index`. A line that is
 * not JSON yields an error (RECORD_NOT_JSON) instead, and reading goes on.
 *
 * @example
 * for await (const item of readNdjson(createReadStream(file))) if ('value' in item) use(item.value);
 */
export async function* readNdjson(input: Readable): AsyncGenerator<NdjsonItem> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const raw of lines) {
      lineNumber++;
      const line = lineNumber === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      if (isBlank(line)) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        yield {
          lineNumber,
          index: null,
          error: new RecordError(null, `not JSON: ${(error as Error).message}`, ErrorCodes.RECORD_NOT_JSON),
        };
        continue;
      }
      if (Array.isArray(value)) {
        for (let index = 0; index < value.length; index++)
          yield { lineNumber, index, value: value[index] as unknown };
      } else {
        yield { lineNumber, index: null, value };
      }
    }
  } finally {
    lines.close();
  }
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) > 32) return false;
  return true;
}
