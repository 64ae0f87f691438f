import { describe, expect, it } from 'vitest';
import type { Prediction } from '../db/schema.js';
import { renderBody, slackText } from './events.js';
import { predictionEvents } from './prediction-events.js';

const base: Prediction = {
  id: '3f0c2a4e-1b7d-4c55-9e1a-0d3b2f6a7c81',
  user_id: 'alice',
  upload_id: '9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  model_id: 'telco-v1',
  status: 'completed',
  attempts: 1,
  rows_scored: 7043,
  rows_failed: 0,
  rows_total: 7043,
  summary: JSON.stringify({ tiers: { high: 1869, medium: 1712, low: 3462 } }),
  result_key: null,
  rows_index_key: null,
  error_code: null,
  error_message: null,
  created_at: '2026-03-01T12:00:00.000Z',
  started_at: '2026-03-01T12:00:01.000Z',
  completed_at: '2026-03-01T12:00:03.000Z',
  updated_at: '2026-03-01T12:00:03.000Z',
  deleted_at: null,
  scoring_options: null,
  result_bytes: null,
  chunks: null,
};

describe('prediction events', () => {
  it('announce a completion, in a sentence for Slack', () => {
    const [completed, ...rest] = predictionEvents(base, 'customers.csv');
    expect(rest).toEqual([]);
    expect(completed).toMatchObject({
      type: 'prediction.completed',
      timestamp: '2026-03-01T12:00:03.000Z',
      data: { rowsScored: 7043, tiers: { high: 1869 } },
    });
    expect(slackText(completed!)).toBe(
      'Prediction of customers.csv completed: 7,043 customers, 1,869 high risk',
    );
  });

  it('announce customers newly at high risk when the comparison with history found some', () => {
    const changes = {
      newlyHighRisk: 12,
      improved: 30,
      worsened: 40,
      new: 5,
      previousPredictionId: '11111111-2222-4333-8444-555555555555',
    };
    const events = predictionEvents(
      { ...base, summary: JSON.stringify({ tiers: { high: 1, medium: 1, low: 1 }, changes }) },
      'march.csv',
    );
    expect(events.map((e) => e.type)).toEqual([
      'prediction.completed',
      'customers.newly_high_risk',
    ]);
    expect(events[1]?.data).toEqual({
      predictionId: base.id,
      modelId: 'telco-v1',
      filename: 'march.csv',
      newlyHighRisk: 12,
      previousPredictionId: changes.previousPredictionId,
      links: { self: `/v1/predictions/${base.id}`, changes: `/v1/predictions/${base.id}/changes` },
    });
    expect(slackText(events[1]!)).toBe(
      '12 customers have become high risk since the last prediction (march.csv, model telco-v1)',
    );
    const none = { ...changes, newlyHighRisk: 0 };
    expect(
      predictionEvents({ ...base, summary: JSON.stringify({ changes: none }) }, 'x.csv'),
    ).toHaveLength(1);
  });

  it('announce a failure with its user-safe message; a file name cannot make a Slack link', () => {
    const [failed] = predictionEvents(
      { ...base, status: 'failed', error_code: 'invalid_csv', error_message: 'Bad row 3.' },
      '<https://evil.example|click>.csv',
    );
    expect(failed).toMatchObject({
      type: 'prediction.failed',
      data: { error: { code: 'invalid_csv', message: 'Bad row 3.' } },
    });
    const slack = JSON.parse(renderBody(failed!, 'slack')) as { text: string };
    expect(slack.text).toBe(
      'Prediction of &lt;https://evil.example|click&gt;.csv failed: Bad row 3.',
    );
    expect(JSON.parse(renderBody(failed!, 'standard'))).toEqual(failed);
  });
});
