/**
 * Training: choose the penalty and the engineered features under cross-validation, fit the final
 * model on every row, calibrate it on out-of-fold logits, and report repeated-CV metrics.
 */
import { fitPlatt } from './calibration.js';
import {
  crossCalibratedProbabilities,
  evaluate,
  type FeaturePlan,
  outOfFoldLogits,
  stratifiedFolds,
} from './cross-validation.js';
import type { LabelledDataset } from './dataset.js';
import { fitEncoder, withWeights } from './encoder.js';
import { fitLogistic } from './logistic.js';
import { logLoss } from './metrics.js';
import {
  type Evaluation,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelFile,
  type NumericTransform,
} from './model-file.js';
import { synonymsFor } from './synonyms.js';

export interface TrainOptions {
  name: string;
  folds?: number;
  /** Repeats of the k-fold split (different seeds) for the reported metrics. */
  repeats?: number;
  /** Penalties tried; the one with the lowest out-of-fold log loss is used. */
  l2Grid?: readonly number[];
  /** Try engineered transforms of numeric columns and keep those that lower the CV log loss. */
  engineer?: boolean;
  /** Smallest drop in out-of-fold log loss for an engineered feature to be kept. */
  minGain?: number;
  /** Reports progress of the slow steps. */
  onProgress?: (message: string) => void;
}

const CANDIDATE_TRANSFORMS: readonly NumericTransform[] = ['log1p', 'sqrt', 'square'];
/** Seeds for selection and reporting differ, so the reported folds are not the tuned ones. */
const SELECTION_SEED = 7919;

/** Customers at or above this calibrated probability are more likely than not to churn. */
const HIGH_RISK_PROBABILITY = 0.5;

function selectionLoss(dataset: LabelledDataset, plan: FeaturePlan, folds: number): number {
  const assignment = stratifiedFolds(dataset.labels, folds, SELECTION_SEED);
  const logits = outOfFoldLogits(dataset, plan, assignment, folds);
  return logLoss(
    dataset.labels,
    crossCalibratedProbabilities(logits, dataset.labels, assignment, folds),
  );
}

export function trainModel(dataset: LabelledDataset, options: TrainOptions): ModelFile {
  const folds = options.folds ?? 5;
  const repeats = options.repeats ?? 3;
  const minGain = options.minGain ?? 0.0005;
  const progress = options.onProgress ?? (() => {});
  const numericColumns = dataset.columns.filter((column) => column.kind === 'numeric');

  // 1. The penalty, on the plain features.
  const plain = new Map<string, NumericTransform[]>(
    numericColumns.map((column) => [column.name, ['linear']]),
  );
  let best = { l2: 1, loss: Number.POSITIVE_INFINITY };
  for (const l2 of options.l2Grid ?? [0.1, 0.3, 1, 3, 10]) {
    const loss = selectionLoss(dataset, { transforms: plain, l2 }, folds);
    progress(`l2 ${l2}: out-of-fold log loss ${loss.toFixed(5)}`);
    if (loss < best.loss) best = { l2, loss };
  }
  const l2 = best.l2;

  // 2. Engineered features, greedily: each candidate is kept only if it lowers the loss.
  const transforms = new Map(plain);
  const engineered: ModelFile['training']['engineered'] = [];
  let currentLoss = best.loss;
  if (options.engineer ?? true) {
    for (const column of numericColumns) {
      const values = column.values.filter((x) => !Number.isNaN(x));
      const nonNegative = values.every((x) => x >= 0);
      for (const transform of CANDIDATE_TRANSFORMS) {
        if ((transform === 'log1p' || transform === 'sqrt') && !nonNegative) continue;
        const trial = new Map(transforms);
        trial.set(column.name, [...(transforms.get(column.name) ?? []), transform]);
        const loss = selectionLoss(dataset, { transforms: trial, l2 }, folds);
        const gain = currentLoss - loss;
        const kept = gain >= minGain;
        progress(`${transform}(${column.name}): gain ${gain.toFixed(5)}${kept ? ' (kept)' : ''}`);
        engineered.push({ column: column.name, transform, kept, gain });
        if (kept) {
          transforms.set(column.name, trial.get(column.name) as NumericTransform[]);
          currentLoss = loss;
        }
      }
    }
  }
  const plan: FeaturePlan = { transforms, l2 };

  // 3. Reported metrics: repeated k-fold with fresh seeds; calibration from the pooled OOF logits.
  const base = dataset.labels.reduce((sum, label) => sum + label, 0) / dataset.labels.length;
  const tiers = { high: HIGH_RISK_PROBABILITY, medium: Math.min(base, HIGH_RISK_PROBABILITY) };
  const evaluations: Evaluation[] = [];
  const pooledLogits: number[] = [];
  const pooledLabels: number[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    const assignment = stratifiedFolds(dataset.labels, folds, repeat + 1);
    const logits = outOfFoldLogits(dataset, plan, assignment, folds);
    const probabilities = crossCalibratedProbabilities(logits, dataset.labels, assignment, folds);
    evaluations.push(evaluate(dataset.labels, probabilities, tiers));
    pooledLogits.push(...logits);
    pooledLabels.push(...dataset.labels);
    progress(`repeat ${repeat + 1}: ROC AUC ${evaluations.at(-1)?.rocAuc.toFixed(4)}`);
  }
  const calibration = fitPlatt(Float64Array.from(pooledLogits), Float64Array.from(pooledLabels));
  const mean = (pick: (e: (typeof evaluations)[number]) => number) =>
    evaluations.reduce((sum, e) => sum + pick(e), 0) / evaluations.length;

  // 4. The final model on every row.
  const allRows = Int32Array.from(dataset.labels, (_, row) => row);
  const encoder = fitEncoder(dataset, transforms, allRows);
  const fit = fitLogistic(encoder.encode(allRows), dataset.labels, { l2 });
  const columns = withWeights(encoder.columns, fit.weights).map((column) => ({
    ...column,
    synonyms: synonymsFor(column.name),
  }));

  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: options.name,
    label: dataset.labelColumn,
    intercept: fit.intercept,
    columns,
    calibration,
    tiers,
    training: {
      rows: dataset.labels.length,
      positives: dataset.labels.reduce((sum, label) => sum + label, 0),
      fingerprint: dataset.fingerprint,
      l2,
      skippedColumns: dataset.skipped,
      engineered,
      crossValidation: {
        folds,
        repeats,
        mean: {
          rows: dataset.labels.length,
          rocAuc: mean((e) => e.rocAuc),
          prAuc: mean((e) => e.prAuc),
          brier: mean((e) => e.brier),
          logLoss: mean((e) => e.logLoss),
        },
        perRepeat: evaluations,
      },
    },
  };
}
