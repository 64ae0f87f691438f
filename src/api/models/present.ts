/** The API's views of models: list entries for shipped and trained ones, and the model card. */

import type { z } from 'zod';
import type { UserModel } from '../../db/schema.js';
import type { TrainedModel, TrainingProgress } from '../../jobs/scoring-protocol.js';
import { readsOf } from '../../model/fit-report.js';
import type { ModelFile } from '../../model/model-file.js';
import { leakWarnings } from '../../model/single-column.js';
import { describeTierRule } from '../../model/tier-rules.js';
import type { ModelView, modelCardSchema } from './schema.js';

type Card = NonNullable<z.infer<typeof modelCardSchema>['card']>;

export function presentShippedModel(id: string, model: ModelFile, isDefault: boolean): ModelView {
  const cv = model.training.crossValidation;
  return {
    id,
    name: model.name,
    source: 'shipped',
    status: 'ready',
    description: `Logistic regression predicting "${model.label}", trained on ${model.training.rows.toLocaleString('en-US')} customers; ${cv.repeats}x${cv.folds}-fold cross-validated.`,
    createdAt: null,
    trainedAt: null,
    metrics: {
      rocAuc: cv.mean.rocAuc,
      prAuc: cv.mean.prAuc,
      brier: cv.mean.brier,
      logLoss: cv.mean.logLoss,
    },
    rows: model.training.rows,
    uploadId: null,
    progress: null,
    churners: model.training.positives,
    requiredColumns: model.columns.map((column) => column.name),
    error: null,
    isDefault,
  };
}

export function presentUserModel(row: UserModel, isDefault: boolean): ModelView {
  const trained = row.summary === null ? null : (JSON.parse(row.summary) as TrainedModel);
  const description =
    row.status === 'training'
      ? `Training on your upload to predict "${row.label}".`
      : row.status === 'failed'
        ? `Training to predict "${row.label}" failed.`
        : `Logistic regression predicting "${row.label}", trained on ${trained?.rows.toLocaleString('en-US')} of your customers; 3x5-fold cross-validated.`;
  return {
    id: row.id,
    name: row.name,
    source: 'trained',
    status: row.status,
    description,
    createdAt: row.created_at,
    trainedAt: row.status === 'ready' ? row.completed_at : null,
    metrics: trained?.metrics ?? null,
    rows: trained?.rows ?? null,
    uploadId: row.upload_id,
    progress:
      row.status === 'training' && row.progress !== null
        ? (JSON.parse(row.progress) as TrainingProgress)
        : null,
    churners: trained?.positives ?? null,
    requiredColumns: trained?.columns ?? [],
    error:
      row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    isDefault,
  };
}

/** How a model was made and how well it does, from its file. */
export function modelCard(model: ModelFile): Card {
  const training = model.training;
  const first = training.crossValidation.perRepeat[0];
  const baseRate = training.positives / training.rows;
  const cutoffs = { high: model.tiers.high, medium: model.tiers.medium, low: 0 };
  const spreads = new Map(training.importance?.map((entry) => [entry.column, entry.spread]));
  const total = [...spreads.values()].reduce((sum, spread) => sum + spread, 0);
  return {
    label: {
      column: model.label,
      churnedValues: training.label?.positiveKeys ?? ['yes', 'true', '1'],
      rule: training.label?.rule ?? 'yes/no',
    },
    unlabelledRows: training.unlabelledRows ?? 0,
    baseRate,
    asOf: training.asOf ?? null,
    fingerprint: training.fingerprint,
    crossValidation: {
      folds: training.crossValidation.folds,
      repeats: training.crossValidation.repeats,
    },
    calibration: first?.calibration ?? [],
    tiers: (first?.tiers ?? []).map((tier) => ({
      ...tier,
      from: cutoffs[tier.tier],
      liftOverBaseRate: baseRate > 0 ? tier.churnRate / baseRate : 0,
    })),
    importance: model.columns
      .map((column) => ({
        column: column.name,
        share: total > 0 ? (spreads.get(column.name) ?? 0) / total : 0,
      }))
      .sort((a, b) => b.share - a.share),
    inputs: model.columns.map((column) => ({ column: column.name, reads: readsOf(column) })),
    skippedColumns: training.skippedColumns,
    engineered: training.engineered
      .filter((entry) => entry.kept)
      .map((entry) => `${entry.transform}(${entry.column})`),
    tierRule: describeTierRule(model.tiers.rule),
    bestSingleColumn: training.singleColumn?.[0] ?? null,
    warnings: leakWarnings(training.singleColumn),
  };
}
