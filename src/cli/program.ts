import { existsSync, statSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerEvaluateCommand } from './commands/evaluate.js';
import { registerMappingCommand } from './commands/mapping.js';
import { registerQueueCommands } from './commands/queue.js';
import { registerQuotaCommands } from './commands/quota.js';
import { registerScoreCommand } from './commands/score.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSetupCommand } from './commands/setup.js';
import { registerTokenCommands } from './commands/token.js';
import { registerTrainCommand } from './commands/train.js';
import { asUsageError, UsageError } from './errors.js';

/** The `churnline` command. Each subcommand lives in ./commands and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('churnline')
    .description('Churn-risk scoring: score customer CSVs, run the service, manage the job queue.')
    .showHelpAfterError('(run with --help for usage)')
    .option(
      '--env <file>',
      'read settings from a file of NAME=value lines (as systemd EnvironmentFile= and docker --env-file read); variables already set win',
    )
    .hook('preAction', (command) => loadEnvFile(command.opts<{ env?: string }>().env))
    .exitOverride();
  registerServeCommand(program);
  registerSetupCommand(program);
  registerQueueCommands(program);
  registerQuotaCommands(program);
  registerTokenCommands(program);
  registerScoreCommand(program);
  registerTrainCommand(program);
  registerEvaluateCommand(program);
  registerMappingCommand(program);
  return program;
}

/** Loads `--env` into process.env before any command reads its configuration. */
function loadEnvFile(file: string | undefined): void {
  if (file === undefined) return;
  if (existsSync(file) && !statSync(file).isFile()) {
    throw new UsageError(`--env ${file} is not a file: name a file of NAME=value lines.`);
  }
  try {
    process.loadEnvFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `--env ${file}: no such file.`
        : `--env ${file} cannot be read: ${(error as Error).message}`,
    );
  }
}

export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help text).
      return error.exitCode === 0 ? 0 : 2;
    }
    const usage = asUsageError(error);
    if (usage instanceof UsageError) {
      process.stderr.write(`churnline: ${usage.message}\n`);
      return 2;
    }
    process.stderr.write(`churnline: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
