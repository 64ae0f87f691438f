import type { Prediction } from './api';

/** A completed prediction's summary, as the API's OpenAPI document types it. */
export type PredictionSummary = NonNullable<Prediction['summary']>;
export type Tier = keyof PredictionSummary['tiers'];

export const TIERS: readonly Tier[] = ['high', 'medium', 'low'];
/** probabilityHistogram: 20 bands of 0.05, [0, 0.05) ... [0.95, 1]. */
export const HISTOGRAM_BINS = 20;
