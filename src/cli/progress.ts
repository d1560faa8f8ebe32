/** Back to the start of the line on a terminal, and clear it. */
const CLEAR_LINE = '\r\x1b[2K';

/**
 * A progress line on stderr for long runs: counts and a rate, redrawn in place on a terminal, one line
 * every `intervalMs` otherwise. Disabled, it does nothing.
 */
export class Progress {
  private readonly started = Date.now();
  private lastDraw = this.started;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream | NodeJS.WritableStream,
    private readonly enabled: boolean,
    private readonly render: (elapsedMs: number) => string,
    private readonly intervalMs = (stream as NodeJS.WriteStream).isTTY === true ? 1_000 : 10_000,
  ) {}

  /** Draws if the interval has passed (call it as often as you like). */
  tick(): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.draw(now);
  }

  /** Clears the in-place line (on a terminal) so that the next output starts clean. */
  done(): void {
    if (this.enabled && this.drawn && this.tty) this.stream.write(CLEAR_LINE);
  }

  private get tty(): boolean {
    return (this.stream as NodeJS.WriteStream).isTTY === true;
  }

  private draw(now: number): void {
    const line = this.render(now - this.started);
    this.stream.write(this.tty ? `${CLEAR_LINE}${line}` : `${line}\n`);
    this.drawn = true;
  }
}

/**
 * What to write before a line of other output on a stream that may show a progress line drawn in place —
 * by this process or another sharing the terminal (`make demo` prints alerts while simulate draws its
 * progress): on a terminal, back to the start of the line and clear it; elsewhere nothing.
 */
export function startOfLine(stream: NodeJS.WriteStream | NodeJS.WritableStream): string {
  return (stream as NodeJS.WriteStream).isTTY === true ? CLEAR_LINE : '';
}

/** Records per second over an elapsed time, for people: 12,345/s. */
export function perSecond(count: number, elapsedMs: number): string {
  return `${formatCount(elapsedMs > 0 ? Math.round((count * 1000) / elapsedMs) : 0)}/s`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
