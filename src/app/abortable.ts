/**
 * `work`, or a rejection with the signal's reason as soon as the signal aborts: how start-up gives way to
 * a SIGTERM while it waits for Kafka or the registry. `work` is not cancelled; it settles on its own, its
 * rejection handled (nobody waits for it any more), and the process exits once shutdown is done.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
