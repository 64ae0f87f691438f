/**
 * The events a prediction's end announces: `prediction.completed` or `prediction.failed`, and
 * `customers.newly_high_risk` when its comparison with the previous prediction (customer
 * history, when present) found customers who became high risk. Called by the worker after every
 * score job, whatever the job's outcome: it reads the prediction's state, announces only a
 * terminal one, and each event once per endpoint (a redelivered job finds them queued already),
 * so an end recorded just before a worker died is still announced by the next delivery.
 */
import type { Kysely } from 'kysely';
import { getPredictionForJob } from '../db/predictions.js';
import type { Database, Prediction } from '../db/schema.js';
import { activeEndpoints, endpointEvents } from '../db/webhooks.js';
import type { SigningKeyring } from '../jobs/message.js';
import { queueWebhookEvent } from './deliveries.js';
import type {
  NewlyHighRiskData,
  PredictionCompletedData,
  PredictionFailedData,
  WebhookEvent,
  WebhookEventType,
} from './events.js';

/** What this module reads of a completed prediction's summary; `changes` comes with history. */
interface SummaryFields {
  tiers?: { high: number; medium: number; low: number };
  changes?: {
    newlyHighRisk: number;
    improved: number;
    worsened: number;
    new: number;
    previousPredictionId: string | null;
  };
}

/** Queues the prediction's events to its owner's endpoints; returns how many deliveries. */
export async function announcePredictionOutcome(
  db: Kysely<Database>,
  keys: SigningKeyring,
  predictionId: string,
): Promise<number> {
  const prediction = await getPredictionForJob(db, predictionId);
  if (!prediction || prediction.deleted_at !== null || prediction.completed_at === null) return 0;
  if (prediction.status !== 'completed' && prediction.status !== 'failed') return 0;
  const endpoints = await activeEndpoints(db, prediction.user_id, prediction.completed_at);
  if (endpoints.length === 0) return 0;
  const upload = await db
    .selectFrom('uploads')
    .select('filename')
    .where('id', '=', prediction.upload_id)
    .executeTakeFirst();
  const events = predictionEvents(prediction, upload?.filename ?? 'customers.csv');
  let queued = 0;
  for (const event of events) {
    const receivers = endpoints.filter((e) => endpointEvents(e).includes(event.type));
    const ids = await queueWebhookEvent(
      db,
      keys,
      receivers,
      event,
      `${event.type}:${prediction.id}`,
    );
    queued += ids.length;
  }
  return queued;
}

export function predictionEvents(
  prediction: Prediction,
  filename: string,
): (WebhookEvent & { type: WebhookEventType })[] {
  const timestamp = prediction.completed_at ?? prediction.updated_at;
  const self = `/v1/predictions/${prediction.id}`;
  const common = {
    predictionId: prediction.id,
    modelId: prediction.model_id,
    uploadId: prediction.upload_id,
    filename,
  };
  if (prediction.status === 'failed') {
    const data: PredictionFailedData = {
      ...common,
      error: {
        code: prediction.error_code ?? 'failed',
        message: prediction.error_message ?? 'The prediction failed.',
      },
      links: { self },
    };
    return [{ type: 'prediction.failed', timestamp, data: { ...data } }];
  }
  const summary = (prediction.summary ? JSON.parse(prediction.summary) : {}) as SummaryFields;
  const completed: PredictionCompletedData = {
    ...common,
    rowsScored: prediction.rows_scored ?? 0,
    rowsFailed: prediction.rows_failed ?? 0,
    tiers: summary.tiers ?? { high: 0, medium: 0, low: 0 },
    links: { self, results: `${self}/results.csv` },
  };
  const events: (WebhookEvent & { type: WebhookEventType })[] = [
    { type: 'prediction.completed', timestamp, data: { ...completed } },
  ];
  const newlyHighRisk = summary.changes?.newlyHighRisk ?? 0;
  if (newlyHighRisk > 0) {
    const data: NewlyHighRiskData = {
      predictionId: prediction.id,
      modelId: prediction.model_id,
      filename,
      newlyHighRisk,
      previousPredictionId: summary.changes?.previousPredictionId ?? null,
      links: { self, changes: `${self}/changes` },
    };
    events.push({ type: 'customers.newly_high_risk', timestamp, data: { ...data } });
  }
  return events;
}
