/**
 * Stratified k-fold cross-validation with deterministic, seeded folds: the out-of-fold logits
 * that every training metric, the calibration and the feature selection are computed from.
 */
import { calibrate, fitPlatt } from './calibration.js';
import type { PackedDesign } from './design.js';
import { fitPacked, foldHessians, predictPacked } from './logistic.js';
import {
  averagePrecision,
  brierScore,
  calibrationTable,
  logLoss,
  rocAuc,
  type TierCutoffs,
  tierMetrics,
} from './metrics.js';
import type { Evaluation } from './model-file.js';

/** mulberry32: a small seeded generator, so folds are the same on every machine and run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fold number of every row; each fold gets the same share of positives. */
export function stratifiedFolds(labels: Float64Array, folds: number, seed: number): Int32Array {
  const random = seededRandom(seed);
  const assignment = new Int32Array(labels.length);
  let position = 0;
  for (const label of [1, 0]) {
    const rows: number[] = [];
    labels.forEach((value, row) => {
      if (value === label) rows.push(row);
    });
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j] as number, rows[i] as number];
    }
    for (const row of rows) assignment[row] = position++ % folds;
  }
  return assignment;
}

function rowsWhere(assignment: Int32Array, keep: (fold: number) => boolean): Int32Array {
  let count = 0;
  for (const fold of assignment) if (keep(fold)) count++;
  const rows = new Int32Array(count);
  let next = 0;
  assignment.forEach((fold, row) => {
    if (keep(fold)) rows[next++] = row;
  });
  return rows;
}

/**
 * Newton stops on a fold once no coefficient moves by more than this: a logit then moves by about
 * 1e-6 per unit of a feature, far below what any metric or comparison of losses can resolve,
 * while the last few steps to machine precision would cost a third of the time.
 */
const FOLD_TOLERANCE = 1e-6;

/**
 * What every fold of a cross-validation run starts from: the fit on all the run's rows, and each
 * fold's Hessian there, from one shared pass (foldHessians). Folds share most of their rows, so
 * from there a few cheap gradient steps finish each, and the folds are independent of each other:
 * they can run in any order, on any thread, with the same result.
 */
export interface FoldStart {
  fit: Float64Array;
  hessians: Float64Array[];
}

/**
 * The fit on every design row (from `start`, or from `fit` when it is that fit already) and
 * every fold's Hessian there. The encoding's means and scales come from the whole design; they
 * use no label, and centring does not change a penalised fit's weights.
 */
export function foldStart(
  design: PackedDesign,
  labels: Float64Array,
  assignment: Int32Array,
  folds: number,
  l2: number,
  from: { start?: Float64Array; fit?: Float64Array },
): FoldStart {
  const fit =
    from.fit ??
    fitPacked(design, labels, {
      l2,
      tolerance: FOLD_TOLERANCE,
      ...(from.start ? { start: from.start } : {}),
    });
  return { fit, hessians: foldHessians(design, fit, assignment, folds, l2) };
}

/** The logits of fold `fold`'s rows, in row order, from a model fitted on the other folds. */
export function foldLogits(
  design: PackedDesign,
  labels: Float64Array,
  assignment: Int32Array,
  fold: number,
  l2: number,
  start: FoldStart,
): Float64Array {
  const beta = fitPacked(design, labels, {
    l2,
    rows: rowsWhere(assignment, (f) => f !== fold),
    tolerance: FOLD_TOLERANCE,
    start: start.fit,
    hessian: start.hessians[fold] as Float64Array,
  });
  return predictPacked(
    design,
    beta,
    rowsWhere(assignment, (f) => f === fold),
  );
}

/** Every row's logits assembled from each fold's (see foldLogits). */
export function assembleLogits(
  assignment: Int32Array,
  perFold: readonly Float64Array[],
): Float64Array {
  const logits = new Float64Array(assignment.length);
  const next = new Int32Array(perFold.length);
  assignment.forEach((fold, row) => {
    const position = next[fold] as number;
    logits[row] = (perFold[fold] as Float64Array)[position] as number;
    next[fold] = position + 1;
  });
  return logits;
}

/** Out-of-fold logits: each row is predicted by a model fitted without it (in this thread). */
export function outOfFoldLogits(
  design: PackedDesign,
  labels: Float64Array,
  assignment: Int32Array,
  folds: number,
  l2: number,
  start?: Float64Array,
): { logits: Float64Array; fit: Float64Array } {
  const begin = foldStart(design, labels, assignment, folds, l2, start ? { start } : {});
  const perFold = Array.from({ length: folds }, (_, fold) =>
    foldLogits(design, labels, assignment, fold, l2, begin),
  );
  return { logits: assembleLogits(assignment, perFold), fit: begin.fit };
}

/**
 * Calibrated out-of-fold probabilities: the Platt scaling applied to a fold is fitted on the
 * other folds' out-of-fold logits, so the calibration is judged on rows it never saw.
 */
export function crossCalibratedProbabilities(
  logits: Float64Array,
  labels: Float64Array,
  assignment: Int32Array,
  folds: number,
): Float64Array {
  const probabilities = new Float64Array(logits.length);
  for (let fold = 0; fold < folds; fold++) {
    const platt = fitPlatt(
      logits,
      labels,
      rowsWhere(assignment, (f) => f !== fold),
    );
    assignment.forEach((f, row) => {
      if (f === fold) probabilities[row] = calibrate(logits[row] as number, platt);
    });
  }
  return probabilities;
}

export function evaluate(
  labels: Float64Array,
  probabilities: Float64Array,
  cutoffs: TierCutoffs,
): Evaluation {
  return {
    rows: labels.length,
    rocAuc: rocAuc(labels, probabilities),
    prAuc: averagePrecision(labels, probabilities),
    brier: brierScore(labels, probabilities),
    logLoss: logLoss(labels, probabilities),
    calibration: calibrationTable(labels, probabilities),
    tiers: tierMetrics(labels, probabilities, cutoffs),
  };
}
