import type { SimulatedRecord } from './simulation.js';

/**
 * Delivers a simulation's records on the simulation clock: a record is handed to `send` once the clock
 * reaches its delivery time, where the clock starts at `start` and runs `speed` times as fast as the
 * wall clock (Infinity: as fast as `send` goes). Records that are due together go in one batch (at most
 * `batchSize`), and each batch is acknowledged before the next, so a slow sink slows the run instead of
 * piling records up; a late record keeps its creation_time (the audit log's records arrive late too).
 */

export interface PaceOptions {
  /** The simulation clock's first instant (epoch ms), i.e. the simulation's start. */
  start: number;
  /** Simulated milliseconds per wall-clock millisecond; Infinity for no pacing. */
  speed: number;
  batchSize: number;
  signal?: AbortSignal | undefined;
  /** After each acknowledged batch, with the totals so far. */
  onBatch?: ((delivered: number) => void) | undefined;
  /** Injectable clock and sleep (tests). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface PaceResult {
  delivered: number;
  /** False when stopped by the signal before the last record. */
  complete: boolean;
}

/** The shortest wait between batches: at a few hundred records/s this groups records in batches of ~10. */
const MIN_SLEEP_MS = 25;

export async function pace(
  items: Iterable<SimulatedRecord>,
  send: (batch: readonly SimulatedRecord[]) => Promise<void>,
  options: PaceOptions,
): Promise<PaceResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms, options.signal));
  const wallStart = now();
  let delivered = 0;
  let batch: SimulatedRecord[] = [];

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    await send(sending);
    delivered += sending.length;
    options.onBatch?.(delivered);
  };

  for (const item of items) {
    if (options.signal?.aborted) {
      await flush();
      return { delivered, complete: false };
    }
    if (Number.isFinite(options.speed)) {
      const due = wallStart + (item.deliverAt - options.start) / options.speed;
      if (due > now()) {
        await flush();
        const wait = due - now();
        if (wait > 0) await sleep(Math.max(wait, MIN_SLEEP_MS));
        if (options.signal?.aborted) return { delivered, complete: false };
      }
    }
    batch.push(item);
    if (batch.length >= options.batchSize) await flush();
  }
  await flush();
  return { delivered, complete: true };
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
