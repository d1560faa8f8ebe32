/** Records dropped as late, told to the operator (to be written: issue 15.4). */
export const LATE_LOG_INTERVAL_MS = 10_000;

export interface LateLogger {
  warn(fields: object, message: string): void;
}

export class LateLog {
  constructor(
    readonly logger: LateLogger,
    readonly allowedLatenessMs: number,
    readonly intervalMs = LATE_LOG_INTERVAL_MS,
  ) {}

  dropped(_topic: string, _partition: number, _eventTime: number, _streamTime: number): void {}

  droppedBehindWatermark(_topic: string, _count: number, _watermark: number): void {}

  close(): void {}
}
