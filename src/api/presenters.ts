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

export function presentPrediction(prediction: Prediction) {
  const started = prediction.started_at ? Date.parse(prediction.started_at) : null;
  const completed = prediction.completed_at ? Date.parse(prediction.completed_at) : null;
  return {
    id: prediction.id,
    uploadId: prediction.upload_id,
    modelId: prediction.model_id,
    status: prediction.status,
    attempts: prediction.attempts,
    rowsScored: prediction.rows_scored,
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
    links: {
      self: `/v1/predictions/${prediction.id}`,
      results:
        prediction.status === 'completed' ? `/v1/predictions/${prediction.id}/results.csv` : null,
    },
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
