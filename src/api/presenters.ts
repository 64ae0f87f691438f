import type { Prediction, Upload } from '../db/schema.js';
import type { ScoreSummary } from '../model/score-stream.js';
import type { SummaryView } from './predictions/schema.js';

/** The API's view of an upload: never the storage key (an internal detail). */
export function presentUpload(upload: Upload) {
  return {
    id: upload.id,
    filename: upload.filename,
    bytes: Number(upload.bytes),
    sha256: upload.sha256,
    rowCount: upload.row_count,
    createdAt: upload.created_at,
  };
}

export function presentPrediction(prediction: Prediction, now = Date.now()) {
  const started = prediction.started_at ? Date.parse(prediction.started_at) : null;
  const completed = prediction.completed_at ? Date.parse(prediction.completed_at) : null;
  const active = prediction.status === 'queued' || prediction.status === 'running';
  return {
    id: prediction.id,
    uploadId: prediction.upload_id,
    modelId: prediction.model_id,
    status: prediction.status,
    attempts: prediction.attempts,
    // While it runs, how far it is lives in `progress`.
    rowsScored: prediction.status === 'completed' ? prediction.rows_scored : null,
    rowsFailed: prediction.rows_failed,
    summary: prediction.summary === null ? null : presentSummary(prediction.summary),
    error:
      prediction.error_code === null
        ? null
        : { code: prediction.error_code, message: prediction.error_message ?? '' },
    createdAt: prediction.created_at,
    startedAt: prediction.started_at,
    completedAt: prediction.completed_at,
    timings: {
      queuedMs: started === null ? null : started - Date.parse(prediction.created_at),
      runMs: started === null || completed === null ? null : completed - started,
    },
    progress: active ? presentProgress(prediction, started, now) : null,
    links: {
      self: `/v1/predictions/${prediction.id}`,
      results:
        prediction.status === 'completed' ? `/v1/predictions/${prediction.id}/results.csv` : null,
      cancel: active ? `/v1/predictions/${prediction.id}/cancel` : null,
    },
  };
}

/**
 * How far a queued or running prediction is. The ETA assumes the pace so far holds: rows scored
 * over the time since the attempt started (a retried attempt starts again from its first row).
 */
function presentProgress(prediction: Prediction, started: number | null, now: number) {
  const done = prediction.status === 'running' ? (prediction.rows_scored ?? 0) : 0;
  const total = prediction.rows_total;
  const elapsed = started === null ? 0 : (now - started) / 1000;
  const rate = done > 0 && elapsed > 0 ? done / elapsed : null;
  return {
    rowsScored: done,
    rowsTotal: total,
    percent: total ? Math.min(100, Math.round((done / total) * 1000) / 10) : null,
    etaSeconds:
      rate === null || total === null ? null : Math.max(0, Math.round((total - done) / rate)),
  };
}

/** A stored summary; those written before the histogram and revenue existed show them as null. */
function presentSummary(stored: string): SummaryView {
  const summary = JSON.parse(stored) as Partial<ScoreSummary> & SummaryView;
  return {
    ...summary,
    probabilityHistogram: summary.probabilityHistogram ?? null,
    // Summaries from before the currency was recorded name none.
    revenue: summary.revenue
      ? { ...summary.revenue, currency: summary.revenue.currency ?? null }
      : null,
    missingInputs: summary.missingInputs ?? [],
  };
}

export type PredictionView = ReturnType<typeof presentPrediction>;
