import { closeSync, fstatSync, openSync } from 'node:fs';

/**
 * Why the process could not read the file at `path`, or undefined when it can. Paths in the configuration
 * (kafka.ssl.ca, cert, key) are checked when it is loaded, so a missing file is a configuration error
 * naming its key (exit 2), not an ENOENT when the first connection is made. Relative paths are from the
 * working directory, as the process reads them.
 */
export function fileProblem(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'file not found';
    if (code === 'EISDIR') return 'is a directory, not a file';
    if (code === 'EACCES' || code === 'EPERM') return 'cannot be read (permission denied)';
    return `cannot be read (${code || (error as Error).message})`;
  }
  try {
    // Opening a directory for reading succeeds on Linux; reading it would not.
    if (fstatSync(fd).isDirectory()) return 'is a directory, not a file';
    return undefined;
  } finally {
    closeSync(fd);
  }
}
