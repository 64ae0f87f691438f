/**
 * The one handler the worker loop runs: verifies a message (schema, HMAC signature, age) and
 * hands the job to the handler of its kind. A message that does not verify is dead-lettered with
 * the reason and never run. Each kind's module decides its own ownership checks, idempotency and
 * what is permanent; the loop, heartbeat, retries and dead letters are shared.
 */
import type { BlobStore } from '../blobs/port.js';
import type { Db } from '../db/connect.js';
import type { Logger } from '../log.js';
import type { Alarms } from '../monitor/alarms.js';
import type { Metrics } from '../monitor/metrics.js';
import { announcePredictionOutcome } from '../webhooks/prediction-events.js';
import type { TargetPolicy } from '../webhooks/target.js';
import { handleAssembleJob, handleScoreChunkJob } from './chunk-handlers.js';
import {
  decodeJobMessage,
  InvalidJobMessageError,
  type Job,
  SigningKeyMismatchError,
  type SigningKeyring,
} from './message.js';
import { handleScoreJob } from './prediction-handler.js';
import type { Scorer } from './scoring-pool.js';
import { handleSigningKeyMismatch } from './signing-key-mismatch.js';
import { handleTrainJob } from './train-handler.js';
import { handleWebhookJob } from './webhook-handler.js';
import type { JobHandler, JobOutcome } from './worker.js';

export interface JobHandlerDeps {
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly scorer: Scorer;
  readonly signingKeys: SigningKeyring;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Raises `unknown_signing_key` (signing-key-mismatch.ts); absent in tests that need none. */
  readonly alarms?: Alarms;
  /** Where webhooks may go (src/webhooks/target.ts); the strict policy when absent. */
  readonly webhookTargets?: TargetPolicy;
  /** In a process that runs the API too: sends the webhook jobs a job queued without waiting. */
  readonly relay?: { trigger(): void };
}

export function createJobHandler(deps: JobHandlerDeps): JobHandler {
  return async (message, context) => {
    const started = performance.now();
    if (message.receiveCount === 1) {
      deps.metrics.queueWait.observe(Math.max(0, Date.now() - message.sentAt.getTime()) / 1000);
    }
    let job: Job;
    try {
      job = decodeJobMessage(message.body, deps.signingKeys);
    } catch (error) {
      if (error instanceof SigningKeyMismatchError)
        return handleSigningKeyMismatch(deps, message.body, context, error);
      if (!(error instanceof InvalidJobMessageError)) throw error;
      deps.metrics.jobs.inc({ outcome: 'dead_lettered' });
      return { kind: 'dead-letter', reason: error.message };
    }
    let outcome: JobOutcome;
    if (job.kind === 'train') outcome = await handleTrainJob(deps, job, message, context);
    else if (job.kind === 'deliver-webhook') outcome = await handleWebhookJob(deps, job, context);
    else {
      if (job.kind === 'score-chunk') {
        outcome = await handleScoreChunkJob(deps, job, message, context);
      } else if (job.kind === 'assemble') {
        outcome = await handleAssembleJob(deps, job, message, context);
      } else outcome = await handleScoreJob(deps, job, message, context);
      // A chunk can end its prediction too (failed for good); announcing is idempotent.
      outcome = await announce(deps, job.predictionId, outcome);
    }
    deps.metrics.jobDuration.observe((performance.now() - started) / 1000);
    return outcome;
  };
}

/**
 * Queues the webhooks of a prediction that has ended (idempotent per event and endpoint). If that
 * fails, the job is retried: its redelivery finds the prediction ended and announces it then.
 */
async function announce(
  deps: JobHandlerDeps,
  predictionId: string,
  outcome: JobOutcome,
): Promise<JobOutcome> {
  try {
    if ((await announcePredictionOutcome(deps.db, deps.signingKeys, predictionId)) > 0) {
      deps.relay?.trigger();
    }
    return outcome;
  } catch (error) {
    deps.log.warn({ err: error, predictionId }, 'could not queue the webhooks of a prediction');
    return outcome.kind === 'ack' ? { kind: 'retry', error } : outcome;
  }
}
