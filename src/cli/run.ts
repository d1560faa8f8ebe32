import { Option, type Command } from 'commander';
import { Pipeline } from '../app/pipeline.js';
import { createLogger } from '../app/logger.js';
import { loadConfig } from '../config/load.js';
import type { LogFormat } from '../config/types.js';
import { ConfigError, ErrorCodes, RadarError } from '../errors.js';

/**
 * `mailbox-radar run`: the pipeline against Kafka until SIGTERM/SIGINT. Exit 0 when asked to stop (also
 * during start-up) and stopped within pipeline.shutdownTimeoutMs; 1 on a failure, a failed start-up (Kafka
 * unreachable within 3 × kafka.connectionTimeoutMs, the registry, …) or a shutdown that overran; 2 on bad
 * config (a missing TLS file included).
 */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('consume activity from Kafka, detect, publish alerts per rule (the main job)')
    .option('-c, --config <file>', 'YAML or JSON configuration file')
    .addOption(
      new Option(
        '--log-format <format>',
        'logs on stderr (default: log.format, auto = pretty on a terminal)',
      ).choices(['auto', 'json', 'pretty']),
    )
    .action(async (options: { config?: string; logFormat?: LogFormat }) => {
      let config;
      try {
        config = loadConfig({ file: options.config, env: process.env });
      } catch (error) {
        if (error instanceof ConfigError || (error as { code?: string }).code === 'CONFIG_NOT_FOUND') {
          process.stderr.write(`mailbox-radar: ${(error as Error).message}\n`);
          process.exit(2);
        }
        throw error;
      }
      const logger = createLogger(config.log.level, options.logFormat ?? config.log.format);
      // SIGTERM/SIGINT are honoured in every state: they stop the pipeline, which ends its start-up at once
      // (waiting for Kafka or the registry included) and bounds its shutdown by shutdownTimeoutMs.
      let pipeline: Pipeline | undefined;
      for (const signal of ['SIGTERM', 'SIGINT'] as const)
        process.once(signal, () => void pipeline?.stop(signal));
      try {
        pipeline = new Pipeline(config, logger);
      } catch (error) {
        // e.g. a TLS file that cannot be read: one log entry, as for any start-up failure.
        logger.fatal(startupFailure(error), `start-up failed: ${(error as Error).message}`);
        process.exit(1);
      }
      const running = pipeline;
      // Not awaited: a stop asked for during start-up ends the process through `done`, whatever start-up
      // is waiting for. A start-up that fails on its own is one fatal line and exit code 1.
      running.start().catch(async (error: unknown) => {
        if (running.stopRequested) return;
        if (error instanceof RadarError && error.code === ErrorCodes.CONFIG_INVALID) {
          // registry.url answers but is no schema registry: a configuration error, one line, exit 2.
          process.stderr.write(`mailbox-radar: ${error.message}\n`);
          await running.stop('start-up failed', 2);
          return;
        }
        logger.fatal(startupFailure(error), `start-up failed: ${(error as Error).message}`);
        await running.stop('start-up failed', 1);
      });
      const code = await running.done;
      // Exit explicitly: kafkajs and pino may keep handles open a little longer than needed.
      process.exit(code);
    });
}

/** The error and, beside the message, its code: what a reader of the logs (or an alert rule) looks for. */
function startupFailure(error: unknown): { err: unknown; code?: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { err: error, code } : { err: error };
}
