import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ErrorCodes, RadarError } from '../errors.js';

/** The `--input` of replay and ingest: `-` is stdin; a file that cannot be opened is INPUT_NOT_FOUND. */
export async function openInput(path: string, stdin: Readable): Promise<Readable> {
  if (path === '-') return stdin;
  try {
    const handle = await open(path, 'r');
    return handle.createReadStream({ highWaterMark: 256 * 1024 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new RadarError(ErrorCodes.INPUT_NOT_FOUND, `input ${path}: ${reason}`, { cause: error });
  }
}
