/**
 * What a failed job attempt becomes, the same for every kind: an error the user can fix ends the
 * job now (acknowledged); a transient one is retried by redelivery, except on the last attempt,
 * which ends the job and dead-letters the message with the cause.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../monitor/metrics.js';
import { PermanentJobError } from './errors.js';
import type { JobContext, JobOutcome } from './worker.js';

export interface JobFailureHooks {
  /** Records the job's end with this failure; false when another delivery ended it first. */
  fail(failure: { code: string; message: string }): Promise<boolean>;
  /** What the user reads when every attempt failed for a reason on our side. */
  exhaustedMessage: string;
  metrics: Metrics;
  log: Logger;
}

export async function failureOutcome(
  error: unknown,
  context: JobContext,
  hooks: JobFailureHooks,
): Promise<JobOutcome> {
  if (error instanceof PermanentJobError) {
    await hooks.fail({ code: error.code, message: error.userMessage });
    hooks.metrics.jobs.inc({ outcome: 'failed' });
    hooks.log.info({ code: error.code }, `job failed: ${error.userMessage}`);
    return { kind: 'ack' };
  }
  if (context.isLastAttempt && !context.signal.aborted) {
    await hooks.fail({ code: 'retries_exhausted', message: hooks.exhaustedMessage });
    hooks.metrics.jobs.inc({ outcome: 'failed' });
    return {
      kind: 'dead-letter',
      reason: `last attempt failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  hooks.metrics.jobs.inc({ outcome: 'retried' });
  return { kind: 'retry', error };
}
