/**
 * The handlers of chunked scoring's two job kinds (src/jobs/chunks.ts): `score-chunk` scores one
 * byte range of the upload into its part; `assemble` joins the parts and completes the prediction.
 */
import { previousPrediction } from '../db/customer-history.js';
import {
  finishChunk,
  getChunk,
  listChunks,
  recordChunkProgress,
  startAssemblyAttempt,
  startChunkAttempt,
} from '../db/prediction-chunks.js';
import { getPredictionForJob } from '../db/predictions.js';
import { nowIso } from '../db/schema.js';
import { isUuid, partKeys, resultKey } from '../ids.js';
import type { ChunkCounts } from '../model/tally-json.js';
import type { ReceivedMessage } from '../queue/port.js';
import { discardParts, discardResults, type StoredFor } from './discard-results.js';
import type { JobHandlerDeps } from './job-handler.js';
import { type AssembleJob, encodeJobMessage, type ScoreChunkJob } from './message.js';
import {
  ACK,
  completeScored,
  isOutcome,
  predictionToWorkOn,
  readyModelKey,
  scoringFailed,
  taskScoring,
  watchProgress,
} from './prediction-handler.js';
import { asJobError } from './scoring-pool.js';
import { joinResults } from './stored-output.js';
import type { JobContext, JobOutcome } from './worker.js';

export async function handleScoreChunkJob(
  deps: JobHandlerDeps,
  job: ScoreChunkJob,
  message: ReceivedMessage,
  context: JobContext,
): Promise<JobOutcome> {
  const { db, log, metrics } = deps;
  const prediction = await predictionToWorkOn(deps, job);
  if (isOutcome(prediction)) return prediction;
  const found = await getChunk(db, job.predictionId, job.chunk);
  if (!found) {
    metrics.jobs.inc({ outcome: 'dead_lettered' });
    return { kind: 'dead-letter', reason: `the prediction has no chunk ${job.chunk}` };
  }
  if (
    found.chunk.status !== 'queued' ||
    !(await startChunkAttempt(db, job.predictionId, job.chunk))
  ) {
    metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  const jobLog = log.child({
    predictionId: job.predictionId,
    chunk: job.chunk,
    attempt: message.receiveCount,
  });
  const ended = new AbortController();
  const part = partKeys(job.userId, job.predictionId, job.chunk);
  const stored = { ...job, chunks: prediction.chunks };
  try {
    const counts = await deps.scorer.scoreChunk({
      modelId: job.modelId,
      inputKey: job.objectKey,
      headerEnd: found.headerEnd,
      start: Number(found.chunk.start_byte),
      end: Number(found.chunk.end_byte),
      part,
      scoring: await taskScoring(db, prediction),
      ...(isUuid(job.modelId) ? { modelKey: await readyModelKey(db, job) } : {}),
      signal: AbortSignal.any([context.signal, ended.signal]),
      onProgress: watchProgress(ended, jobLog, (rows) =>
        recordChunkProgress(db, job.predictionId, job.chunk, rows),
      ),
    });
    const { chunk: _chunk, ...named } = job;
    const assembly = encodeJobMessage(
      { ...named, kind: 'assemble', publishedAt: nowIso() },
      deps.signingKeys,
    );
    const finished = await finishChunk(
      db,
      job.predictionId,
      { chunk: job.chunk, rows: counts.tally.rows, tally: JSON.stringify(counts) },
      { ownerId: job.userId, body: assembly },
    );
    await afterChunk(deps, stored, finished);
    if (finished === 'last') deps.relay?.trigger();
    metrics.jobs.inc({
      outcome: finished === 'last' || finished === 'scored' ? 'completed' : 'skipped',
    });
    jobLog.info({ rows: counts.tally.rows, finished }, 'chunk scored');
    return ACK;
  } catch (error) {
    return scoringFailed(deps, stored, message, context, ended.signal, error, jobLog);
  }
}

/**
 * What a chunk stored stays only while its prediction may still be assembled from it. A second
 * delivery of a scored chunk rewrote the same part with the same bytes, which the assembly may
 * already have taken and removed: once completed, that copy goes too.
 */
async function afterChunk(
  deps: JobHandlerDeps,
  job: ScoreChunkJob & StoredFor,
  finished: Awaited<ReturnType<typeof finishChunk>>,
): Promise<void> {
  if (finished === 'last' || finished === 'scored') return;
  const now = await getPredictionForJob(deps.db, job.predictionId);
  if (now && now.deleted_at === null && now.status === 'running') return;
  if (now?.status === 'completed' && now.deleted_at === null) {
    const part = partKeys(job.userId, job.predictionId, job.chunk);
    await Promise.all([deps.blobs.delete(part.results), deps.blobs.delete(part.rows)]).catch(
      (error: unknown) => deps.log.warn({ err: error, part }, 'could not remove a part'),
    );
  } else {
    await discardResults(deps.blobs, deps.log, job);
  }
}

export async function handleAssembleJob(
  deps: JobHandlerDeps,
  job: AssembleJob,
  message: ReceivedMessage,
  context: JobContext,
): Promise<JobOutcome> {
  const { db, log, metrics } = deps;
  const prediction = await predictionToWorkOn(deps, job);
  if (isOutcome(prediction)) return prediction;
  const chunks = await listChunks(db, job.predictionId);
  if (chunks.length === 0 || chunks.some((chunk) => chunk.status !== 'scored' || !chunk.tally)) {
    // Queued only by the last chunk scored, in the transaction that scored it: never early.
    metrics.jobs.inc({ outcome: 'dead_lettered' });
    return { kind: 'dead-letter', reason: 'the prediction has chunks still to score' };
  }
  if (!(await startAssemblyAttempt(db, job.predictionId, message.receiveCount))) {
    // Ended since predictionToWorkOn looked (cancelled, failed, deleted): nothing to assemble.
    metrics.jobs.inc({ outcome: 'skipped' });
    return ACK;
  }
  const jobLog = log.child({ predictionId: job.predictionId, attempt: message.receiveCount });
  const started = performance.now();
  const stored = { ...job, chunks: prediction.chunks };
  const parts = chunks.map((chunk) => partKeys(job.userId, job.predictionId, chunk.chunk));
  const key = resultKey(job.userId, job.predictionId);
  // The results are joined here while a scoring thread builds the rows index from the parts. The
  // first of the two to fail stops the other, and its error is the one the attempt ends with.
  const stop = new AbortController();
  const signal = AbortSignal.any([context.signal, stop.signal]);
  let joinFailure: Error | undefined;
  const joined = joinResults(deps.blobs, key, parts, signal).then(
    (result) => {
      jobLog.info(
        { ms: Math.round(performance.now() - started), bytes: result.bytes },
        'results joined',
      );
      return result;
    },
    (error: unknown) => {
      if (!signal.aborted) {
        joinFailure = asJobError(error, 'assemble');
        stop.abort();
      }
      throw joinFailure ?? error;
    },
  );
  // Awaited below on every path; meanwhile its rejection is not unhandled.
  joined.catch(() => {});
  try {
    const previous = await previousPrediction(db, job.userId, job.modelId, job.predictionId);
    const scored = await deps.scorer.assemble({
      resultKey: key,
      parts,
      counts: chunks.map((chunk) => JSON.parse(chunk.tally as string) as ChunkCounts),
      ...(previous ? { previousIndexKey: previous.rowsIndexKey } : {}),
      signal,
    });
    const outcome = await completeScored(deps, stored, scored, previous, jobLog, started, joined);
    await discardParts(deps.blobs, log, stored);
    return outcome;
  } catch (error) {
    // Both steps have ended before what they stored is removed.
    stop.abort();
    await joined.catch(() => {});
    // Nothing but the worker's shutdown stops an assembly: a cancel meanwhile is found when it
    // completes (completeScored then removes what it stored).
    return scoringFailed(
      deps,
      stored,
      message,
      context,
      context.signal,
      joinFailure ?? error,
      jobLog,
    );
  }
}
