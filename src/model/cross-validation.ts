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

export interface OutOfFold {
  /** Each design row's logit from the model fitted without its fold. */
  logits: Float64Array;
  /** The fit on every design row the folds started from: a warm start for neighbouring fits. */
  fit: Float64Array;
}

/**
 * Out-of-fold logits: each row is predicted by a model fitted without it. Every fold starts from
 * `start` (else from a fit on all the rows), with its Hessian there taken from one shared pass
 * (foldHessians): folds share most of their rows, so a few cheap gradient steps finish each. The
 * encoding's means and scales come from the whole design; they use no label, and centring does
 * not change a penalised fit's weights.
 */
export function outOfFoldLogits(
  design: PackedDesign,
  labels: Float64Array,
  assignment: Int32Array,
  folds: number,
  l2: number,
  start?: Float64Array,
): OutOfFold {
  const logits = new Float64Array(design.rows);
  const from = fitPacked(design, labels, {
    l2,
    tolerance: FOLD_TOLERANCE,
    ...(start ? { start } : {}),
  });
  const hessians = foldHessians(design, from, assignment, folds, l2);
  for (let fold = 0; fold < folds; fold++) {
    const training = rowsWhere(assignment, (f) => f !== fold);
    const validation = rowsWhere(assignment, (f) => f === fold);
    const beta = fitPacked(design, labels, {
      l2,
      rows: training,
      tolerance: FOLD_TOLERANCE,
      start: from,
      hessian: hessians[fold] as Float64Array,
    });
    const predicted = predictPacked(design, beta, validation);
    validation.forEach((row, i) => {
      logits[row] = predicted[i] as number;
    });
  }
  return { logits, fit: from };
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
