/**
 * Training: choose the penalty and the engineered features under cross-validation, fit the final
 * model on every row, calibrate it on out-of-fold logits, and report repeated-CV metrics.
 */
import { fitPlatt } from './calibration.js';
import {
  crossCalibratedProbabilities,
  evaluate,
  outOfFoldLogits,
  stratifiedFolds,
} from './cross-validation.js';
import type { LabelledDataset, NumericColumn } from './dataset.js';
import { buildDesign, contributionSpread, toModelColumns } from './design.js';
import { fitPacked } from './logistic.js';
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
  /** Rows to choose the penalty and features on (a stratified sample of larger files). */
  selectionRows?: number;
  /** Reports progress of the slow steps. */
  onProgress?: (message: string) => void;
}

const CANDIDATE_TRANSFORMS: readonly NumericTransform[] = ['log1p', 'sqrt', 'square'];
/** Seeds for selection and reporting differ, so the reported folds are not the tuned ones. */
const SELECTION_SEED = 7919;
/**
 * Rows the penalty and the engineered features are chosen on. Past a few tens of thousands of
 * rows the choice no longer changes (the penalty matters less and less), while every candidate
 * costs a full cross-validation: larger files are subsampled, stratified, for the choice only.
 */
export const SELECTION_ROWS = 50_000;

const DAY_MS = 86_400_000;

/** Customers at or above this calibrated probability are more likely than not to churn. */
const HIGH_RISK_PROBABILITY = 0.5;

/** Every row of the dataset, or a stratified seeded sample of `limit` of them, in row order. */
export function selectionRows(labels: Float64Array, limit: number, seed: number): Int32Array {
  if (labels.length <= limit) return Int32Array.from(labels, (_, row) => row);
  // Fold 0 of a k-fold split is a stratified sample of ~n/k rows; take enough folds' worth.
  const parts = Math.ceil(labels.length / limit);
  const assignment = stratifiedFolds(labels, parts, seed);
  const rows: number[] = [];
  assignment.forEach((part, row) => {
    if (part === 0) rows.push(row);
  });
  return Int32Array.from(rows);
}

interface Selection {
  dataset: LabelledDataset;
  rows: Int32Array;
  labels: Float64Array;
  assignment: Int32Array;
  folds: number;
}

/** Cross-validated, cross-calibrated log loss of one candidate on the selection rows. */
function selectionLoss(
  selection: Selection,
  transforms: ReadonlyMap<string, readonly NumericTransform[]>,
  l2: number,
  start?: Float64Array,
): { loss: number; last: Float64Array } {
  const { design } = buildDesign(selection.dataset, transforms, selection.rows);
  const { labels, assignment, folds } = selection;
  const { logits, last } = outOfFoldLogits(design, labels, assignment, folds, l2, start);
  return {
    loss: logLoss(labels, crossCalibratedProbabilities(logits, labels, assignment, folds)),
    last,
  };
}

function chooseTransforms(
  selection: Selection,
  numericColumns: readonly NumericColumn[],
  plain: Map<string, NumericTransform[]>,
  l2: number,
  startLoss: number,
  minGain: number,
  progress: (message: string) => void,
): {
  transforms: Map<string, NumericTransform[]>;
  engineered: ModelFile['training']['engineered'];
} {
  const transforms = new Map(plain);
  const engineered: ModelFile['training']['engineered'] = [];
  let currentLoss = startLoss;
  for (const column of numericColumns) {
    let nonNegative = true;
    for (const x of column.values) if (x < 0) nonNegative = false;
    for (const transform of CANDIDATE_TRANSFORMS) {
      if ((transform === 'log1p' || transform === 'sqrt') && !nonNegative) continue;
      const trial = new Map(transforms);
      trial.set(column.name, [...(transforms.get(column.name) ?? []), transform]);
      const { loss } = selectionLoss(selection, trial, l2);
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
  return { transforms, engineered };
}

export function trainModel(dataset: LabelledDataset, options: TrainOptions): ModelFile {
  const folds = options.folds ?? 5;
  const repeats = options.repeats ?? 3;
  const minGain = options.minGain ?? 0.0005;
  const progress = options.onProgress ?? (() => {});
  const numericColumns = dataset.columns.filter((column) => column.kind === 'numeric');
  const n = dataset.labels.length;

  // 1. The penalty, on the plain features, on (a sample of) the rows; each penalty's folds start
  //    from the previous penalty's solution.
  const rows = selectionRows(
    dataset.labels,
    options.selectionRows ?? SELECTION_ROWS,
    SELECTION_SEED,
  );
  const labels = Float64Array.from(rows, (row) => dataset.labels[row] as number);
  const selection: Selection = {
    dataset,
    rows,
    labels,
    assignment: stratifiedFolds(labels, folds, SELECTION_SEED),
    folds,
  };
  if (rows.length < n) progress(`choosing the penalty and features on ${rows.length} of ${n} rows`);
  const plain = new Map<string, NumericTransform[]>(
    numericColumns.map((column) => [column.name, ['linear']]),
  );
  let best = { l2: 1, loss: Number.POSITIVE_INFINITY };
  let warm: Float64Array | undefined;
  for (const l2 of options.l2Grid ?? [0.1, 0.3, 1, 3, 10]) {
    const { loss, last } = selectionLoss(selection, plain, l2, warm);
    warm = last;
    progress(`l2 ${l2}: out-of-fold log loss ${loss.toFixed(5)}`);
    if (loss < best.loss) best = { l2, loss };
  }
  const l2 = best.l2;

  // 2. Engineered features, greedily: each candidate is kept only if it lowers the loss.
  const { transforms, engineered } =
    (options.engineer ?? true)
      ? chooseTransforms(selection, numericColumns, plain, l2, best.loss, minGain, progress)
      : { transforms: plain, engineered: [] };

  // 3. Reported metrics on every row: repeated k-fold with fresh seeds; calibration from the
  //    pooled out-of-fold logits.
  const allRows = Int32Array.from(dataset.labels, (_, row) => row);
  const fitted = buildDesign(dataset, transforms, allRows);
  const base = dataset.labels.reduce((sum, label) => sum + label, 0) / n;
  const tiers = { high: HIGH_RISK_PROBABILITY, medium: Math.min(base, HIGH_RISK_PROBABILITY) };
  const evaluations: Evaluation[] = [];
  const pooledLogits = new Float64Array(n * repeats);
  const pooledLabels = new Float64Array(n * repeats);
  warm = undefined;
  for (let repeat = 0; repeat < repeats; repeat++) {
    const assignment = stratifiedFolds(dataset.labels, folds, repeat + 1);
    const { logits, last } = outOfFoldLogits(
      fitted.design,
      dataset.labels,
      assignment,
      folds,
      l2,
      warm,
    );
    warm = last;
    const probabilities = crossCalibratedProbabilities(logits, dataset.labels, assignment, folds);
    evaluations.push(evaluate(dataset.labels, probabilities, tiers));
    pooledLogits.set(logits, repeat * n);
    pooledLabels.set(dataset.labels, repeat * n);
    progress(`repeat ${repeat + 1}: ROC AUC ${evaluations.at(-1)?.rocAuc.toFixed(4)}`);
  }
  const calibration = fitPlatt(pooledLogits, pooledLabels);
  const mean = (pick: (e: (typeof evaluations)[number]) => number) =>
    evaluations.reduce((sum, e) => sum + pick(e), 0) / evaluations.length;

  // 4. The final model on every row.
  const beta = fitPacked(fitted.design, dataset.labels, { l2, ...(warm ? { start: warm } : {}) });
  const { intercept, columns } = toModelColumns(fitted, beta);
  const spread = contributionSpread(fitted, beta);
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: options.name,
    label: dataset.labelColumn,
    intercept,
    columns: columns.map((column) => ({ ...column, synonyms: synonymsFor(column.name) })),
    calibration,
    tiers,
    training: {
      rows: n,
      positives: dataset.label.positives,
      ...(columns.some((column) => column.kind === 'numeric' && column.source?.kind === 'date')
        ? { asOf: new Date(dataset.asOfDays * DAY_MS).toISOString() }
        : {}),
      label: { positiveKeys: dataset.label.positiveKeys, rule: dataset.label.rule },
      unlabelledRows: dataset.unlabelledRows,
      importance: columns.map((column, c) => ({
        column: column.name,
        spread: spread[c] as number,
      })),
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
