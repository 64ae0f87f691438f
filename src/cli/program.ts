import { Command, CommanderError } from 'commander';
import { registerEvaluateCommand } from './commands/evaluate.js';
import { registerMappingCommand } from './commands/mapping.js';
import { registerQueueCommands } from './commands/queue.js';
import { registerQuotaCommands } from './commands/quota.js';
import { registerScoreCommand } from './commands/score.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTokenCommands } from './commands/token.js';
import { registerTrainCommand } from './commands/train.js';
import { asUsageError, UsageError } from './errors.js';

/** The `churnline` command. Each subcommand lives in ./commands and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('churnline')
    .description('Churn-risk scoring: score customer CSVs, run the service, manage the job queue.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServeCommand(program);
  registerQueueCommands(program);
  registerQuotaCommands(program);
  registerTokenCommands(program);
  registerScoreCommand(program);
  registerTrainCommand(program);
  registerEvaluateCommand(program);
  registerMappingCommand(program);
  return program;
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
