import type { BlobStore } from '../blobs/port.js';
import type { Db } from '../db/connect.js';
import { failModel, getModelForJob } from '../db/models.js';
import { failPrediction, getPredictionForJob, TERMINAL_STATUSES } from '../db/predictions.js';
import type { Logger } from '../log.js';
import type { JobQueue } from '../queue/port.js';
import { announcePredictionOutcome } from '../webhooks/prediction-events.js';
import { discardResults } from './discard-results.js';
import { decodeJobMessage, type SigningKeyring, type TrainJob } from './message.js';
import { checkOwnership } from './prediction-handler.js';
import {
  CONFIGURATION_PROBLEM,
  configurationProblemMessage,
  mismatchOfReason,
} from './signing-key-mismatch.js';
import { checkTrainingOwnership, TRAINING_RETRIES_EXHAUSTED } from './train-handler.js';
import { recordDeadLetteredAttempt } from './webhook-handler.js';

export const RETRIES_EXHAUSTED_MESSAGE =
  'Scoring failed on every attempt because of a temporary problem on our side. Create the prediction again; if it keeps failing, contact support.';

/**
 * A job in the dead-letter queue means its prediction failed. The handler marks it failed when its
 * last attempt fails, but an attempt can die with its worker, and a receive can be counted whose
 * message never reached a worker; then the queue dead-letters the job without any handler seeing
 * it, and its prediction would stay `running` forever. This pass closes that gap: every genuine
 * dead letter (valid signature, matching owner) whose prediction is not yet terminal is failed.
 * Forged or foreign messages are left alone: they name predictions they have no right to touch.
 * What a dead attempt stored (results written before it died) is removed with the failure.
 */
export async function failDeadLetteredPredictions(deps: {
  queue: JobQueue;
  db: Db;
  blobs: BlobStore;
  signingKeys: SigningKeyring;
  log: Logger;
}): Promise<number> {
  let failed = 0;
  for (const letter of await deps.queue.listDeadLetters({ max: 100 })) {
    let decoded: ReturnType<typeof decodeJobMessage>;
    try {
      // Judged as of its send: a dead letter may rightly be older than the replay window now.
      decoded = decodeJobMessage(letter.body, deps.signingKeys, letter.sentAt.getTime());
    } catch {
      continue;
    }
    if (decoded.kind === 'deliver-webhook') {
      await recordDeadLetteredAttempt(deps, decoded);
      continue;
    }
    const failure = deadLetterFailure(letter, {
      code: 'retries_exhausted',
      message: decoded.kind === 'train' ? TRAINING_RETRIES_EXHAUSTED : RETRIES_EXHAUSTED_MESSAGE,
    });
    if (decoded.kind === 'train') {
      if (await failDeadLetteredTraining(deps, decoded, letter.reason, failure)) failed++;
      continue;
    }
    const job = decoded;
    const prediction = await getPredictionForJob(deps.db, job.predictionId);
    if (
      !prediction ||
      prediction.deleted_at !== null ||
      TERMINAL_STATUSES.includes(prediction.status)
    )
      continue;
    if (await checkOwnership(deps.db, job, prediction)) continue;
    if (await failPrediction(deps.db, job.predictionId, failure)) {
      failed++;
      await discardResults(deps.blobs, deps.log, { ...job, chunks: prediction.chunks });
      await announcePredictionOutcome(deps.db, deps.signingKeys, job.predictionId);
      deps.log.warn(
        { predictionId: job.predictionId, reason: letter.reason },
        'prediction failed: its job was dead-lettered',
      );
    }
  }
  return failed;
}

/** The same for a training job: its model, still `training`, is failed. */
async function failDeadLetteredTraining(
  deps: { db: Db; log: Logger },
  job: TrainJob,
  reason: string | undefined,
  failure: { code: string; message: string },
): Promise<boolean> {
  const model = await getModelForJob(deps.db, job.modelId);
  if (!model || model.deleted_at !== null || model.status !== 'training') return false;
  if (await checkTrainingOwnership(deps.db, job, model)) return false;
  const failed = await failModel(deps.db, job.modelId, failure);
  if (failed)
    deps.log.warn({ modelId: job.modelId, reason }, 'model failed: its job was dead-lettered');
  return failed;
}

/**
 * A genuine dead letter that some worker refused for its key (its reason says so) failed for a
 * configuration problem, not a temporary one: the user and the operator read the key id and the
 * fix. The key id is the envelope's, which this worker has just verified.
 */
function deadLetterFailure(
  letter: { body: string; reason: string | undefined },
  otherwise: { code: string; message: string },
): { code: string; message: string } {
  const mismatch = mismatchOfReason(letter.reason);
  if (!mismatch) return otherwise;
  const { kid } = JSON.parse(letter.body) as { kid: string };
  return {
    code: CONFIGURATION_PROBLEM,
    message: configurationProblemMessage(kid, mismatch, 'a worker'),
  };
}
