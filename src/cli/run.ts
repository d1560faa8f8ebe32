import { Option, type Command } from 'commander';
import { Pipeline } from '../app/pipeline.js';
import { createLogger } from '../app/logger.js';
import { loadConfig } from '../config/load.js';
import type { LogFormat } from '../config/types.js';
import { ConfigError, ErrorCodes, RadarError } from '../errors.js';
import { resolveRegistryUrl } from '../kafka/registry-url.js';

/** `mailbox-radar run`: the pipeline against Kafka until SIGTERM/SIGINT. Exit 0 clean, 1 failure, 2 bad config. */
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
      let url: string;
      try {
        // Apicurio's base URL becomes its /apis/ccompat/v7; a URL that is no registry is a config error.
        url = await resolveRegistryUrl(config.registry, (message) => logger.info(message));
      } catch (error) {
        if (error instanceof RadarError && error.code === ErrorCodes.CONFIG_INVALID) {
          process.stderr.write(`mailbox-radar: ${error.message}\n`);
          process.exit(2);
        }
        logger.fatal(startupFailure(error), `start-up failed: ${(error as Error).message}`);
        process.exit(1);
      }
      let pipeline: Pipeline;
      try {
        pipeline = new Pipeline({ ...config, registry: { ...config.registry, url } }, logger);
      } catch (error) {
        // e.g. a TLS file that cannot be read: one log entry, as for any start-up failure.
        logger.fatal(startupFailure(error), `start-up failed: ${(error as Error).message}`);
        process.exit(1);
      }
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => void pipeline.stop(signal));
      }
      try {
        await pipeline.start();
      } catch (error) {
        logger.fatal(startupFailure(error), `start-up failed: ${(error as Error).message}`);
        await pipeline.stop('start-up failed', 1);
      }
      const code = await pipeline.done;
      // Exit explicitly: kafkajs and pino may keep handles open a little longer than needed.
      process.exit(code);
    });
}

/** The error and, beside the message, its code: what a reader of the logs (or an alert rule) looks for. */
function startupFailure(error: unknown): { err: unknown; code?: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { err: error, code } : { err: error };
}
