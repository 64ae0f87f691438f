/**
 * At start, in processes that run workers: the queue as it exists compared with the settings.
 * They were never compared (findSettingMismatches ran only in tests), so a queue without a
 * RedrivePolicy, or one that dead-letters where no worker reads, went unnoticed until
 * predictions stayed `running` for ever. API-only processes skip it: on SQS their role may only
 * send (no sqs:GetQueueAttributes).
 */
import { StartupError } from '../config/startup-error.js';
import { explainPostgresFailure } from '../db/connect-errors.js';
import type { Logger } from '../log.js';
import { QueueError } from './errors.js';
import type { JobQueue } from './port.js';

/** Logs each difference with its fix; throws a StartupError (exit 2) for the fatal ones. */
export async function checkQueueSettings(queue: JobQueue, log: Logger): Promise<void> {
  if (!queue.findSettingMismatches) return;
  let found: Awaited<ReturnType<NonNullable<JobQueue['findSettingMismatches']>>>;
  try {
    found = await queue.findSettingMismatches();
  } catch (error) {
    // A missing queue, unusable credentials or a denied permission will not pass on its own.
    if (error instanceof QueueError && !error.retryable)
      throw new StartupError(error.message, 2, { cause: error });
    // Unreachable for now: workers start and retry; readiness shows whether the queue answers.
    log.warn(
      { err: error },
      `could not compare the queue with the settings at start (${error instanceof Error ? error.message : String(error)}); starting anyway`,
    );
    return;
  }
  for (const mismatch of found.filter((m) => m.severity === 'warning')) {
    log.warn(
      { fix: mismatch.fix },
      `queue settings differ: ${mismatch.problem} Fix: ${mismatch.fix}`,
    );
  }
  const fatal = found.filter((m) => m.severity === 'fatal');
  if (fatal.length > 0) {
    throw new StartupError(
      `The SQS queues cannot be used as they are:\n  ${fatal.map((m) => `${m.problem} Fix: ${m.fix}`).join('\n  ')}`,
      2,
    );
  }
}

/**
 * QUEUE=postgres makes its table on first use. Used now, a role that may not create it or use it
 * stops the start with the GRANT to run, rather than every receive failing later in a retry loop.
 */
export async function checkPostgresQueue(queue: JobQueue, url: string): Promise<void> {
  try {
    await queue.stats();
  } catch (error) {
    throw explainPostgresFailure(error, url) ?? error;
  }
}
