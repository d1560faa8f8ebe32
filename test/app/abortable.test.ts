import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abortable } from '../../src/app/abortable.js';

describe('abortable', () => {
  it('gives the work its result when nothing aborts', async () => {
    assert.equal(await abortable(Promise.resolve(42), new AbortController().signal), 42);
    await assert.rejects(abortable(Promise.reject(new Error('no')), new AbortController().signal), /no/);
  });

  it('rejects with the reason as soon as the signal aborts, the work still pending', async () => {
    const stop = new AbortController();
    let settle!: (error: Error) => void;
    const work = new Promise<number>((_, reject) => (settle = reject));
    const waiting = abortable(work, stop.signal);
    stop.abort('SIGTERM');
    await assert.rejects(waiting, (reason: unknown) => reason === 'SIGTERM');
    // The work failing afterwards is nobody's concern: no unhandled rejection (the runner would fail this file).
    settle(new Error('disconnected'));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('rejects at once when the signal has already aborted', async () => {
    const stop = new AbortController();
    stop.abort('SIGINT');
    await assert.rejects(
      abortable(new Promise(() => undefined), stop.signal),
      (r: unknown) => r === 'SIGINT',
    );
  });
});
