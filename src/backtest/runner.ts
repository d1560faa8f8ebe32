import { Subject, type Subscription } from 'rxjs';
import { detect } from '../detect/detect.js';
import type { CoreInput, CoreStats } from '../detect/types.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import type { MailboxAccessAlert, RuleName } from '../model/alert.js';
import type { GridSetting } from './grid.js';
import { AlertTally, DAY_MS, dayOf } from './tally.js';

/**
 * The one pass of a backtest: every record, parsed once, goes to one Subject, which hands it to one
 * detection core per setting (`detect()`, the pure core `replay` and `run` use), each with its own state.
 * Each core's alerts go to its setting's tally. `finish()` ends the history as `replay` does — a watermark
 * at +∞ closes every episode still open — and sums up.
 *
 * Like the core, it reads no clock: it runs on the event time of the records.
 *
 * @example
 * const run = new Backtest(grid.settings);
 * for (const record of records) run.record(record);
 * const result = run.finish();
 */
export class Backtest {
  private readonly inputs = new Subject<CoreInput>();
  private readonly lanes: Lane[];
  private readonly subscriptions: Subscription[] = [];
  private failure: unknown;
  private records = 0;
  private firstEvent = Number.POSITIVE_INFINITY;
  private lastEvent = Number.NEGATIVE_INFINITY;

  constructor(
    settings: readonly GridSetting[],
    /** Keep each alert's latest revision for these settings (tests compare them with `replay`). */
    keepFinals: (setting: GridSetting) => boolean = () => false,
  ) {
    this.lanes = settings.map((setting) => ({
      setting,
      tally: new AlertTally(keepFinals(setting)),
      stats: undefined,
    }));
    for (const lane of this.lanes) {
      this.subscriptions.push(
        this.inputs.pipe(detect(lane.setting.detection)).subscribe({
          next: (output) => {
            if (output.kind === 'alert') lane.tally.add(output.alert);
            else if (output.kind === 'checkpoint') lane.stats = output.stats;
          },
          error: (error: unknown) => {
            this.failure ??= error;
          },
        }),
      );
    }
  }

  /** Feeds one record to every setting's core. */
  record(record: ExchangeMailboxActivity): void {
    this.records++;
    if (record.creation_time < this.firstEvent) this.firstEvent = record.creation_time;
    if (record.creation_time > this.lastEvent) this.lastEvent = record.creation_time;
    this.inputs.next({ kind: 'record', record });
    if (this.failure !== undefined) throw this.failure;
  }

  /** Records taken so far. */
  get count(): number {
    return this.records;
  }

  /** Alerts (distinct ids) so far, per setting. */
  alertsSoFar(): number[] {
    return this.lanes.map((lane) => lane.tally.total);
  }

  /** The history has ended: every episode closes; the results, one per setting in their order. */
  finish(): BacktestResult {
    this.inputs.next({ kind: 'watermark', time: Number.POSITIVE_INFINITY });
    this.inputs.next({ kind: 'checkpoint', id: 0 });
    this.inputs.complete();
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    if (this.failure !== undefined) throw this.failure;
    const span =
      this.records === 0 ? { first: null, last: null } : { first: this.firstEvent, last: this.lastEvent };
    // Alerts per day over the input's span of event time, counted as one day at least.
    const days = span.first === null ? 1 : Math.max(1, ((span.last as number) - span.first) / DAY_MS);
    const dayList = span.first === null ? [] : daysBetween(span.first, span.last as number);
    return {
      records: this.records,
      firstEvent: span.first,
      lastEvent: span.last,
      days,
      dayList,
      settings: this.lanes.map(({ setting, tally, stats }) => {
        const daily = tally.daily();
        return {
          setting,
          alerts: tally.byRule(),
          total: tally.total,
          perDay: tally.total / days,
          daily: dayList.map((day) => daily.get(day) ?? 0),
          peaks: tally.peaks(),
          actors: tally.actors(),
          mailboxes: tally.mailboxes(),
          stats: stats as CoreStats,
          finals: tally.finalAlerts(),
        };
      }),
    };
  }
}

interface Lane {
  setting: GridSetting;
  tally: AlertTally;
  stats: CoreStats | undefined;
}

export interface BacktestResult {
  /** Records fed to the cores (rejected lines are not records). */
  records: number;
  /** The earliest and latest event time in the input (epoch ms); null without records. */
  firstEvent: number | null;
  lastEvent: number | null;
  /** The span of event time in days (at least 1): what alerts/day divide by. */
  days: number;
  /** Every UTC day from the first event's to the last's. */
  dayList: string[];
  settings: SettingResult[];
}

export interface SettingResult {
  setting: GridSetting;
  /** Distinct alert ids per rule. */
  alerts: Record<RuleName, number>;
  total: number;
  perDay: number;
  /** Alerts opened on each day of `dayList`. */
  daily: number[];
  /** Per rule, the peak count of each alert key, ascending (AlertTally.peaks). */
  peaks: Partial<Record<RuleName, number[]>>;
  /** Alerts per actor and per mailbox, the most first. */
  actors: Map<string, number>;
  mailboxes: Map<string, number>;
  stats: CoreStats;
  /** Each alert's latest revision, when kept for this setting; otherwise empty. */
  finals: MailboxAccessAlert[];
}

function daysBetween(first: number, last: number): string[] {
  const out: string[] = [];
  for (let t = Math.floor(first / DAY_MS) * DAY_MS; t <= last; t += DAY_MS) out.push(dayOf(t));
  return out;
}
