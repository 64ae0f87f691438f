/**
 * The events Churnline announces and the two bodies it sends for them: the Standard Webhooks
 * shape `{ type, timestamp, data }`, or a Slack-compatible `{ text, blocks }` for an incoming
 * webhook URL, so a channel gets a sentence rather than JSON.
 */
import type { WebhookFormat } from '../db/schema.js';

export const WEBHOOK_EVENTS = [
  'prediction.completed',
  'prediction.failed',
  'customers.newly_high_risk',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Sent only on request (POST /v1/webhooks/{id}/test), to every endpoint whatever its events. */
export const TEST_EVENT = 'webhook.test';

export interface WebhookEvent {
  readonly type: WebhookEventType | typeof TEST_EVENT;
  /** ISO-8601: when it happened. */
  readonly timestamp: string;
  readonly data: Record<string, unknown>;
}

export interface PredictionCompletedData {
  predictionId: string;
  modelId: string;
  uploadId: string;
  filename: string;
  rowsScored: number;
  rowsFailed: number;
  tiers: { high: number; medium: number; low: number };
  links: { self: string; results: string };
}

export interface PredictionFailedData {
  predictionId: string;
  modelId: string;
  uploadId: string;
  filename: string;
  error: { code: string; message: string };
  links: { self: string };
}

export interface NewlyHighRiskData {
  predictionId: string;
  modelId: string;
  filename: string;
  newlyHighRisk: number;
  previousPredictionId: string | null;
  links: { self: string; changes: string };
}

/** The body of one attempt, in the endpoint's format. */
export function renderBody(event: WebhookEvent, format: WebhookFormat): string {
  if (format === 'standard') return JSON.stringify(event);
  const text = escapeSlack(slackText(event));
  return JSON.stringify({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
}

const count = (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-US') : '?');

/** The sentence a person reads in the channel. */
export function slackText(event: WebhookEvent): string {
  const data = event.data;
  const file = typeof data.filename === 'string' ? data.filename : 'a file';
  switch (event.type) {
    case 'prediction.completed': {
      const tiers = data.tiers as PredictionCompletedData['tiers'] | undefined;
      return `Prediction of ${file} completed: ${count(data.rowsScored)} customers, ${count(tiers?.high)} high risk`;
    }
    case 'prediction.failed': {
      const error = data.error as PredictionFailedData['error'] | undefined;
      return `Prediction of ${file} failed: ${error?.message ?? 'no reason given'}`;
    }
    case 'customers.newly_high_risk': {
      const n = data.newlyHighRisk;
      return `${count(n)} ${n === 1 ? 'customer has' : 'customers have'} become high risk since the last prediction (${file}, model ${String(data.modelId)})`;
    }
    case TEST_EVENT:
      return 'Test message from Churnline: this endpoint receives its notifications.';
  }
}

/** Slack's mrkdwn treats these three specially; a file name must not make a link or a mention. */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
