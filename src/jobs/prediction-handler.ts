import type { Db } from '../db/connect.js';
import {
  deleteCustomerHistory,
  previousPrediction,
  writeCustomerHistory,
} from '../db/customer-history.js';
import { getModelForJob } from '../db/models.js';
import {
  completePrediction,
  failPrediction,
  getPredictionForJob,
  recordScoringProgress,
  startAttempt,
  TERMINAL_STATUSES,
} from '../db/predictions.js';
import { nowIso, type Prediction, type ScoringOptions } from '../db/schema.js';
import { isUuid, resultKey, rowsIndexKey } from '../ids.js';
import { epochDays } from '../model/dates.js';
import type { ReceivedMessage } from '../queue/port.js';
import { discardResults } from './discard-results.js';
import { PermanentJobError } from './errors.js';
import { failureOutcome } from './failure-outcome.js';
import type { JobHandlerDeps } from './job-handler.js';
import { checkJobUpload } from './job-upload.js';
import type { ScoreJob } from './message.js';
import { throttled } from './progress.js';
import type { ScoringProgress, TaskScoring } from './scoring-protocol.js';
import type { JobContext, JobOutcome } from './worker.js';

export const ACK: JobOutcome = { kind: 'ack' };

/**
 * Runs one scoring job, already verified (schema, signature, age) by the job handler. Its
 * prediction must match the message's owner, upload and model, or it is dead-lettered with the
 * reason and never run. A job whose prediction is already terminal or deleted is acknowledged and
 * skipped, so a duplicate delivery never produces a second result. The result key is derived from
 * the prediction id, so even two deliveries racing write the one same object.
 */
export async function handleScoreJob(
  deps: JobHandlerDeps,
  job: ScoreJob,
  message: ReceivedMessage,
  context: JobContext,
): Promise<JobOutcome> {
  const { db, log, metrics } = deps;
  const prediction = await getPredictionForJob(db, job.predictionId);
  const rejection = await checkOwnership(db, job, prediction);
  if (rejection || !prediction) {
    metrics.jobs.inc({ outcome: 'dead_lettered' });
    return { kind: 'dead-letter', reason: rejection ?? 'no prediction with this id exists' };
  }
  if (prediction.deleted_at !== null || TERMINAL_STATUSES.includes(prediction.status)) {
    metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  if (!(await startAttempt(db, job.predictionId))) {
    metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  const jobLog = log.child({ predictionId: job.predictionId, attempt: message.receiveCount });
  const started = performance.now();
  const key = resultKey(job.userId, job.predictionId);
  // Progress goes to the prediction as the thread scores; when the prediction is no longer
  // running for this attempt (cancelled, deleted), the write says so and scoring stops.
  const ended = new AbortController();
  const onProgress = throttled(({ rows }: ScoringProgress) =>
    recordScoringProgress(db, job.predictionId, rows).then(
      (running) => {
        if (!running) ended.abort(new Error('the prediction is no longer running'));
      },
      (error: unknown) => jobLog.warn({ err: error }, 'could not record scoring progress'),
    ),
  );
  try {
    const previous = await previousPrediction(db, job.userId, job.modelId, job.predictionId);
    const scored = await deps.scorer.score({
      modelId: job.modelId,
      inputKey: job.objectKey,
      resultKey: key,
      scoring: await taskScoring(db, prediction),
      ...(isUuid(job.modelId) ? { modelKey: await readyModelKey(db, job) } : {}),
      ...(previous ? { previousIndexKey: previous.rowsIndexKey } : {}),
      signal: AbortSignal.any([context.signal, ended.signal]),
      onProgress,
    });
    const { summary } = scored;
    // Written before the prediction completes, so a completed prediction always has its history.
    const historyStarted = performance.now();
    await writeCustomerHistory(
      db,
      { id: job.predictionId, userId: job.userId, modelId: job.modelId, scoredAt: nowIso() },
      scored.history,
    );
    const historyMs = {
      compare: Math.round(scored.historyMs),
      write: Math.round(performance.now() - historyStarted),
    };
    const changes =
      previous && scored.changes ? { previousPredictionId: previous.id, ...scored.changes } : null;
    const completed = await completePrediction(db, job.predictionId, {
      rowsScored: summary.scored,
      rowsFailed: summary.failed,
      summary: { ...summary, changes },
      resultKey: key,
      // The scoring thread writes it next to the results (see scoring-tasks.ts).
      rowsIndexKey: rowsIndexKey(job.userId, job.predictionId),
      resultBytes: scored.storedBytes,
    });
    if (completed) metrics.rowsScored.inc(summary.scored);
    // Results belong to a completed prediction only. One deleted or cancelled while it ran, or
    // failed meanwhile (by the dead-letter pass or another delivery's last attempt), must not keep
    // what this attempt stored; a completed one keeps them, whichever delivery won (the keys are
    // the same).
    const now = await getPredictionForJob(db, job.predictionId);
    if (!now || now.deleted_at || now.status !== 'completed') {
      await discardResults(deps.blobs, log, job);
      await deleteCustomerHistory(db, job.predictionId);
    }
    metrics.jobs.inc({ outcome: completed ? 'completed' : 'skipped' });
    jobLog.info(
      { rows: summary.rows, ms: Math.round(performance.now() - started), historyMs },
      'prediction completed',
    );
    return ACK;
  } catch (error) {
    if (ended.signal.aborted && !context.signal.aborted) {
      // Cancelled or deleted while it ran: nothing it stored may stay.
      await discardResults(deps.blobs, log, job);
      await deleteCustomerHistory(db, job.predictionId);
      metrics.jobs.inc({ outcome: 'skipped' });
      jobLog.info('prediction ended while it ran (cancelled or deleted); scoring stopped');
      return ACK;
    }
    return failureOutcome(error, context, {
      async fail(failure) {
        const failed = await failPrediction(db, job.predictionId, failure);
        // What this attempt stored belongs to no completed prediction.
        if (failed) {
          await discardResults(deps.blobs, log, job);
          await deleteCustomerHistory(db, job.predictionId);
        }
        return failed;
      },
      exhaustedMessage: `Scoring failed ${message.receiveCount} times because of a temporary problem on our side. Create the prediction again; if it keeps failing, contact support.`,
      metrics,
      log: jobLog,
    });
  }
}

/**
 * How to read the file, as fixed when the prediction was made; a prediction from before scoring
 * options existed reads every input by name, with dates counted back from its upload's time.
 */
async function taskScoring(db: Db, prediction: Prediction): Promise<TaskScoring> {
  let options: ScoringOptions | undefined;
  if (prediction.scoring_options !== null) {
    options = JSON.parse(prediction.scoring_options) as ScoringOptions;
  } else {
    const upload = await db
      .selectFrom('uploads')
      .select('created_at')
      .where('id', '=', prediction.upload_id)
      .executeTakeFirst();
    options = { asOf: upload?.created_at ?? prediction.created_at };
  }
  return {
    asOfDays: epochDays(options.asOf),
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.allowMissingInputs ? { allowMissingInputs: true } : {}),
    ...(options.playbook ? { playbook: options.playbook } : {}),
  };
}

/** The file of the user's model a job scores with; a model gone or not ready fails the job. */
async function readyModelKey(db: Db, job: ScoreJob): Promise<string> {
  const model = await getModelForJob(db, job.modelId);
  if (!model || model.user_id !== job.userId || model.deleted_at !== null) {
    throw new PermanentJobError(
      'model_missing',
      'The model was deleted. Choose another model and create the prediction again.',
    );
  }
  if (model.status !== 'ready' || model.object_key === null) {
    throw new PermanentJobError(
      'model_not_ready',
      `The model is ${model.status}; only a ready model can score.`,
    );
  }
  return model.object_key;
}

/** The message must describe its prediction exactly: same owner, upload, key and model. */
export async function checkOwnership(
  db: Db,
  job: ScoreJob,
  prediction: Prediction | undefined,
): Promise<string | undefined> {
  if (!prediction) return 'no prediction with this id exists';
  if (prediction.user_id !== job.userId) return "job's user is not the prediction's owner";
  if (prediction.upload_id !== job.uploadId) return "job's upload is not the prediction's upload";
  if (prediction.model_id !== job.modelId) return "job's model is not the prediction's model";
  return checkJobUpload(db, job);
}
