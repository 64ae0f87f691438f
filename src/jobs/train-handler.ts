/**
 * Runs one training job: the model row must match the message's owner and upload, or the job is
 * dead-lettered unrun. A model already ready, failed or deleted is skipped (idempotent by model
 * id). Training runs on a scoring thread, which writes the model file whole before the row is
 * marked ready, so a worker killed mid-training leaves a model that is still `training`, retried
 * by the queue, and never a half model anyone can use.
 */
import type { Db } from '../db/connect.js';
import {
  completeModel,
  failModel,
  getModelForJob,
  recordTrainingProgress,
  startTrainingAttempt,
} from '../db/models.js';
import type { UserModel } from '../db/schema.js';
import { modelKey } from '../ids.js';
import { epochDays } from '../model/dates.js';
import type { TierRule } from '../model/tier-rules.js';
import type { ReceivedMessage } from '../queue/port.js';
import { failureOutcome } from './failure-outcome.js';
import type { JobHandlerDeps } from './job-handler.js';
import { checkJobUpload } from './job-upload.js';
import type { TrainJob } from './message.js';
import { ACK } from './prediction-handler.js';
import { throttled } from './progress.js';
import type { JobContext, JobOutcome } from './worker.js';

export const TRAINING_RETRIES_EXHAUSTED =
  'Training failed on every attempt because of a temporary problem on our side. Train the model again; if it keeps failing, contact support.';

export async function handleTrainJob(
  deps: JobHandlerDeps,
  job: TrainJob,
  message: ReceivedMessage,
  context: JobContext,
): Promise<JobOutcome> {
  const { db, log, metrics } = deps;
  const model = await getModelForJob(db, job.modelId);
  const rejection = await checkTrainingOwnership(db, job, model);
  if (rejection || !model) {
    metrics.jobs.inc({ outcome: 'dead_lettered' });
    return { kind: 'dead-letter', reason: rejection ?? 'no model with this id exists' };
  }
  if (model.deleted_at !== null || model.status !== 'training') {
    metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  if (!(await startTrainingAttempt(db, job.modelId))) {
    metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  const jobLog = log.child({ modelId: job.modelId, attempt: message.receiveCount });
  const key = modelKey(job.userId, job.modelId);
  try {
    const trained = await deps.scorer.train({
      inputKey: job.objectKey,
      modelKey: key,
      training: {
        name: model.name,
        labelColumn: model.label,
        ...(model.positive_value === null ? {} : { positiveValue: model.positive_value }),
        asOfDays: epochDays(model.as_of),
        ...(model.tier_rule === null ? {} : { tiers: JSON.parse(model.tier_rule) as TierRule }),
      },
      signal: context.signal,
      onProgress: throttled((progress) =>
        recordTrainingProgress(db, job.modelId, progress).catch((error: unknown) =>
          jobLog.warn({ err: error }, 'could not record training progress'),
        ),
      ),
    });
    const completed = await completeModel(db, job.modelId, { objectKey: key, summary: trained });
    if (!completed) {
      // Deleted while it trained, or ended by another delivery: unless that delivery made it
      // ready with this same file, nothing points to the file this attempt wrote.
      const now = await getModelForJob(db, job.modelId);
      if (!(now?.status === 'ready' && now.deleted_at === null && now.object_key === key)) {
        await deps.blobs.delete(key).catch((error: unknown) => {
          jobLog.warn({ err: error, key }, 'could not remove the file of a model that ended');
        });
      }
    }
    metrics.jobs.inc({ outcome: completed ? 'completed' : 'skipped' });
    jobLog.info({ rows: trained.rows, rocAuc: trained.metrics.rocAuc }, 'model trained');
    return ACK;
  } catch (error) {
    return failureOutcome(error, context, {
      fail: (failure) => failModel(db, job.modelId, failure),
      exhaustedMessage: TRAINING_RETRIES_EXHAUSTED,
      metrics,
      log: jobLog,
    });
  }
}

/** The message must describe its model exactly: same owner and upload, a stored upload. */
export async function checkTrainingOwnership(
  db: Db,
  job: TrainJob,
  model: UserModel | undefined,
): Promise<string | undefined> {
  if (!model) return 'no model with this id exists';
  if (model.user_id !== job.userId) return "job's user is not the model's owner";
  if (model.upload_id !== job.uploadId) return "job's upload is not the model's training upload";
  return checkJobUpload(db, job);
}
