import type { Command } from 'commander';
import { parseConfig } from '../../config/index.js';
import type { JobQueue } from '../../queue/port.js';
import { UsageError } from '../errors.js';

async function withQueue<T>(use: (queue: JobQueue) => Promise<T>): Promise<T> {
  const config = parseConfig(process.env);
  const { openQueue } = await import('../../app.js');
  const queue = await openQueue(config);
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(
      `--max must be a whole number of at least 1; got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

export function registerQueueCommands(program: Command): void {
  const queue = program.command('queue').description('Inspect the job queue.');
  queue
    .command('stats')
    .description('Print visible, in-flight and delayed counts and the oldest message age (JSON).')
    .action(() => withQueue(async (q) => print(await q.stats())));
  queue
    .command('purge-expired')
    .description('Remove messages past their retention period now.')
    .action(() => withQueue(async (q) => print(await q.purgeExpired())));

  const dlq = program.command('dlq').description('Inspect and redrive the dead-letter queue.');
  dlq
    .command('list')
    .description('Print dead letters, oldest first, with the reason each was dead-lettered.')
    .option('--max <n>', 'how many to print', positiveInt, 100)
    .action((options: { max: number }) =>
      withQueue(async (q) => print(await q.listDeadLetters({ max: options.max }))),
    );
  dlq
    .command('redrive')
    .description('Move dead letters back to the queue (new message ids, receive count reset).')
    .option('--max <n>', 'move at most this many (default: all)', positiveInt)
    .action((options: { max?: number }) =>
      withQueue(async (q) =>
        print(await q.redriveDeadLetters(options.max === undefined ? {} : { max: options.max })),
      ),
    );
}
