#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ErrorCodes, RadarError } from '../errors.js';
import { registerBacktest } from './backtest.js';
import { registerDashboard } from './dashboard.js';
import { registerIngest } from './ingest.js';
import { registerReplay } from './replay.js';
import { registerRun } from './run.js';
import { registerSchemas } from './schemas.js';
import { registerSimulate } from './simulate.js';
import { registerTail } from './tail.js';
import { packageVersion } from './version.js';

/**
 * `mailbox-radar`: one subcommand per file, each exporting a `register(program)` function. To add a
 * command, write `src/cli/<name>.ts` and list its register function here.
 */
const COMMANDS: readonly ((program: Command) => void)[] = [
  registerRun,
  registerReplay,
  registerSimulate,
  registerSchemas,
  registerTail,
  registerIngest,
  registerDashboard,
  registerBacktest,
];

/** Errors that mean "the user must fix something" (exit 2), not "mailbox-radar broke" (exit 1). */
const USAGE_ERRORS = new Set<string>([
  ErrorCodes.CONFIG_INVALID,
  ErrorCodes.CONFIG_NOT_FOUND,
  ErrorCodes.INPUT_NOT_FOUND,
]);

export function createProgram(): Command {
  const program = new Command('mailbox-radar')
    .description(
      'Raises alerts on non-owner Exchange Online mailbox access bursts, from audit records on Kafka',
    )
    .version(packageVersion())
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Exit codes: 0 done, 1 unexpected error, 2 bad usage, input or configuration. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with code 0; commander has already printed the message.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof RadarError && USAGE_ERRORS.has(error.code)) {
      process.stderr.write(`mailbox-radar: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(
      `mailbox-radar: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
