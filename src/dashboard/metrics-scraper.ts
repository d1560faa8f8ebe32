/**
 * Reads every pipeline instance's /metrics each `intervalMs` (all at once, each bounded by a timeout) and
 * hands the round to `onRound`. An instance that does not answer is a read with an error, not a failure:
 * the page says which one is down.
 */
import { parsePrometheusText } from './prom-text.js';
import type { InstanceRead } from './pipeline-health.js';

export class MetricsScraper {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly urls: readonly string[],
    private readonly intervalMs: number,
    private readonly onRound: (at: number, reads: InstanceRead[]) => void,
  ) {}

  start(): void {
    if (this.urls.length === 0) return;
    const round = async (): Promise<void> => {
      const at = Date.now();
      const reads = await Promise.all(this.urls.map((url) => read(url, Math.min(this.intervalMs, 5_000))));
      if (this.stopped) return;
      this.onRound(at, reads);
      this.timer = setTimeout(() => void round(), Math.max(0, at + this.intervalMs - Date.now()));
    };
    void round();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

async function read(url: string, timeoutMs: number): Promise<InstanceRead> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { url, error: `HTTP ${response.status}` };
    return { url, samples: parsePrometheusText(await response.text()).samples };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { url, error: cause?.code ?? (error as Error).message };
  }
}
