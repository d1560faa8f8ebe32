import type { Command } from 'commander';
import { Pipeline } from '../app/pipeline.js';
import { createLogger } from '../app/logger.js';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';

/** `mailbox-radar run`: the pipeline against Kafka until SIGTERM/SIGINT. Exit 0 clean, 1 failure, 2 bad config. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('consume activity from Kafka, detect, publish alerts per rule (the main job)')
    .option('-c, --config <file>', 'YAML or JSON configuration file')
    .action(async (options: { config?: string }) => {
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
      const logger = createLogger(config.log.level);
      const pipeline = new Pipeline(config, logger);
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => void pipeline.stop(signal));
      }
      try {
        await pipeline.start();
      } catch (error) {
        logger.fatal({ err: error }, `start-up failed: ${(error as Error).message}`);
        await pipeline.stop('start-up failed', 1);
      }
      const code = await pipeline.done;
      // Exit explicitly: kafkajs and pino may keep handles open a little longer than needed.
      process.exit(code);
    });
}
