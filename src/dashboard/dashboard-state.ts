/**
 * What the page shows, held by the process: the alerts (AlertBoard), the pipeline's health points, the
 * feed's status. Each change goes out to the open pages as one event; `snapshot` is what a page starts
 * from.
 */
import { RULES, SEVERITIES, type MailboxAccessAlert } from '../model/alert.js';
import { AlertBoard, type BoardEntry } from './alert-board.js';
import type { FeedStatus } from './alert-feed.js';
import { PipelineHealth, RECORD_SERIES, type HealthPoint, type InstanceRead } from './pipeline-health.js';

/** How many health points a page gets on open: an hour at the default 5 s. */
const HEALTH_POINTS = 720;

export interface Snapshot {
  settings: {
    rules: readonly string[];
    severities: readonly string[];
    recordSeries: readonly string[];
    historyMs: number;
    /** How many pipeline instances' metrics are read. */
    metrics: number;
    /** The activity topic, which the charts call "activity" (its name is often long). */
    activityTopic: string;
  };
  status: FeedStatus;
  /** The latest detected first. */
  alerts: BoardEntry[];
  health: HealthPoint[];
}

export type Broadcast = (event: 'alert' | 'health' | 'status', data: unknown) => void;

export class DashboardState {
  private readonly board: AlertBoard;
  private readonly health = new PipelineHealth(HEALTH_POINTS);
  private status: FeedStatus;

  constructor(
    private readonly settings: {
      maxAlerts: number;
      historyMs: number;
      metrics: number;
      activityTopic: string;
    },
    private readonly broadcast: Broadcast,
  ) {
    this.board = new AlertBoard(settings.maxAlerts);
    this.status = { phase: 'loading', historyMs: settings.historyMs, historyAlerts: 0, undecodable: 0 };
  }

  alert(alert: MailboxAccessAlert): void {
    const change = this.board.add(alert);
    if (change !== undefined) this.broadcast('alert', change);
  }

  healthRound(at: number, reads: readonly InstanceRead[]): void {
    this.broadcast('health', this.health.add(at, reads));
  }

  feedStatus(status: FeedStatus): void {
    this.status = status;
    this.broadcast('status', status);
  }

  snapshot(): Snapshot {
    return {
      settings: {
        rules: RULES,
        severities: SEVERITIES,
        recordSeries: RECORD_SERIES,
        historyMs: this.settings.historyMs,
        metrics: this.settings.metrics,
        activityTopic: this.settings.activityTopic,
      },
      status: this.status,
      alerts: this.board.entries(),
      health: this.health.points(),
    };
  }
}
