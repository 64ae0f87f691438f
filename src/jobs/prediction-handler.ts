import type { PutResult } from '../blobs/port.js';
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
import type { Logger } from '../log.js';
import { epochDays } from '../model/dates.js';
import type { ReceivedMessage } from '../queue/port.js';
import { discardResults, type StoredFor } from './discard-results.js';
import { PermanentJobError } from './errors.js';
import { failureOutcome } from './failure-outcome.js';
import type { JobHandlerDeps } from './job-handler.js';
import { checkJobUpload } from './job-upload.js';
import type { PredictionJob, ScoreJob } from './message.js';
import { throttled } from './progress.js';
import type { ScoredResults, ScoringProgress, TaskScoring } from './scoring-protocol.js';
import type { JobContext, JobOutcome } from './worker.js';

export const ACK: JobOutcome = { kind: 'ack' };

/**
 * The prediction a job is for, once the job is known to describe it exactly (same owner, upload
 * and model) and it is still to be worked on; otherwise what to do with the message: dead-letter
 * a job that does not match (never run), acknowledge one whose prediction has ended or is deleted
 * (a duplicate delivery never produces a second result).
 */
export async function predictionToWorkOn(
  deps: JobHandlerDeps,
  job: PredictionJob,
): Promise<Prediction | JobOutcome> {
  const prediction = await getPredictionForJob(deps.db, job.predictionId);
  const rejection = await checkOwnership(deps.db, job, prediction);
  if (rejection || !prediction) {
    deps.metrics.jobs.inc({ outcome: 'dead_lettered' });
    return { kind: 'dead-letter', reason: rejection ?? 'no prediction with this id exists' };
  }
  if (prediction.deleted_at !== null || TERMINAL_STATUSES.includes(prediction.status)) {
    deps.metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  return prediction;
}

export function isOutcome(value: Prediction | JobOutcome): value is JobOutcome {
  return 'kind' in value;
}

/**
 * Runs one scoring job, already verified (schema, signature, age) by the job handler: one job
 * scores the whole file. The result key is derived from the prediction id, so even two
 * deliveries racing write the one same object.
 */
export async function handleScoreJob(
  deps: JobHandlerDeps,
  job: ScoreJob,
  message: ReceivedMessage,
  context: JobContext,
): Promise<JobOutcome> {
  const { db, log } = deps;
  const prediction = await predictionToWorkOn(deps, job);
  if (isOutcome(prediction)) return prediction;
  if (!(await startAttempt(db, job.predictionId))) {
    deps.metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  const jobLog = log.child({ predictionId: job.predictionId, attempt: message.receiveCount });
  const started = performance.now();
  const stored = { ...job, chunks: null };
  // Progress goes to the prediction as the thread scores; when the prediction is no longer
  // running for this attempt (cancelled, deleted), the write says so and scoring stops.
  const ended = new AbortController();
  const onProgress = watchProgress(ended, jobLog, (rows) =>
    recordScoringProgress(db, job.predictionId, rows),
  );
  try {
    const previous = await previousPrediction(db, job.userId, job.modelId, job.predictionId);
    const scored = await deps.scorer.score({
      modelId: job.modelId,
      inputKey: job.objectKey,
      resultKey: resultKey(job.userId, job.predictionId),
      scoring: await taskScoring(db, prediction),
      ...(isUuid(job.modelId) ? { modelKey: await readyModelKey(db, job) } : {}),
      ...(previous ? { previousIndexKey: previous.rowsIndexKey } : {}),
      signal: AbortSignal.any([context.signal, ended.signal]),
      onProgress,
    });
    return await completeScored(deps, stored, scored, previous, jobLog, started);
  } catch (error) {
    return scoringFailed(deps, stored, message, context, ended.signal, error, jobLog);
  }
}

/**
 * Reports rows scored through `record` (throttled); when it answers that the prediction is no
 * longer running, aborts `ended`, which stops the scoring.
 */
export function watchProgress(
  ended: AbortController,
  log: Logger,
  record: (rows: number) => Promise<boolean>,
): (progress: ScoringProgress) => void {
  return throttled(({ rows }: ScoringProgress) =>
    record(rows).then(
      (running) => {
        if (!running) ended.abort(new Error('the prediction is no longer running'));
      },
      (error: unknown) => log.warn({ err: error }, 'could not record scoring progress'),
    ),
  );
}

/**
 * Completes the prediction with what scoring (one job, or the assembly of its chunks) stored:
 * the customers' history first, so a completed prediction always has it, then the row.
 */
export async function completeScored(
  deps: JobHandlerDeps,
  job: PredictionJob & StoredFor,
  scored: ScoredResults,
  previous: { id: string } | undefined,
  jobLog: Logger,
  started: number,
  /** Results still being stored beside the thread's work (an assembly's: joinResults). */
  results?: Promise<PutResult>,
): Promise<JobOutcome> {
  const { db, log, metrics } = deps;
  const { summary } = scored;
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
  const joinedBytes = results ? (await results).bytes : 0;
  const changes =
    previous && scored.changes ? { previousPredictionId: previous.id, ...scored.changes } : null;
  const completed = await completePrediction(db, job.predictionId, {
    rowsScored: summary.scored,
    rowsFailed: summary.failed,
    summary: { ...summary, changes },
    resultKey: resultKey(job.userId, job.predictionId),
    // The scoring thread writes it next to the results (see stored-output.ts).
    rowsIndexKey: rowsIndexKey(job.userId, job.predictionId),
    resultBytes: scored.storedBytes + joinedBytes,
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
    {
      rows: summary.rows,
      ms: Math.round(performance.now() - started),
      historyMs,
      ...(scored.stepsMs ? { stepsMs: scored.stepsMs } : {}),
    },
    'prediction completed',
  );
  return ACK;
}

/**
 * A scoring attempt that threw: ended by its prediction (cancelled or deleted while it ran), it
 * leaves nothing stored; otherwise a permanent error fails the prediction now and a transient one
 * is retried by redelivery (failure-outcome.ts). A failed prediction keeps nothing.
 */
export async function scoringFailed(
  deps: JobHandlerDeps,
  job: PredictionJob & StoredFor,
  message: ReceivedMessage,
  context: JobContext,
  ended: AbortSignal,
  error: unknown,
  jobLog: Logger,
): Promise<JobOutcome> {
  const { db, metrics } = deps;
  if (ended.aborted && !context.signal.aborted) {
    await discardResults(deps.blobs, deps.log, job);
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
        await discardResults(deps.blobs, deps.log, job);
        await deleteCustomerHistory(db, job.predictionId);
      }
      return failed;
    },
    exhaustedMessage: `Scoring failed ${message.receiveCount} times because of a temporary problem on our side. Create the prediction again; if it keeps failing, contact support.`,
    metrics,
    log: jobLog,
  });
}

/**
 * How to read the file, as fixed when the prediction was made; a prediction from before scoring
 * options existed reads every input by name, with dates counted back from its upload's time.
 */
export async function taskScoring(db: Db, prediction: Prediction): Promise<TaskScoring> {
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
export async function readyModelKey(db: Db, job: PredictionJob): Promise<string> {
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
  job: PredictionJob,
  prediction: Prediction | undefined,
): Promise<string | undefined> {
  if (!prediction) return 'no prediction with this id exists';
  if (prediction.user_id !== job.userId) return "job's user is not the prediction's owner";
  if (prediction.upload_id !== job.uploadId) return "job's upload is not the prediction's upload";
  if (prediction.model_id !== job.modelId) return "job's model is not the prediction's model";
  // A prediction is scored in chunks or in one job, decided when it was made: never both.
  const chunked = job.kind === 'score-chunk' || job.kind === 'assemble';
  if (chunked !== (prediction.chunks !== null)) {
    return chunked
      ? 'the prediction is scored in one job, not in chunks'
      : 'the prediction is scored in chunks, not in one job';
  }
  if (job.kind === 'score-chunk' && job.chunk >= (prediction.chunks ?? 0)) {
    return `the prediction has no chunk ${job.chunk}`;
  }
  return checkJobUpload(db, job);
}
