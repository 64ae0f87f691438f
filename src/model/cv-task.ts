/**
 * The units of training work: one cross-validation run (fit and predict every fold of a row set
 * under one feature plan and penalty) and one fit on a prebuilt design. Training runs many,
 * independent of each other, so they can go to worker threads (train-pool.ts); each starts cold
 * or from a start given in the task, never from whatever ran before it, so a model comes out the
 * same on any number of threads.
 */
import {
  crossCalibratedProbabilities,
  outOfFoldLogits,
  stratifiedFolds,
} from './cross-validation.js';
import type { LabelledDataset } from './dataset.js';
import {
  buildDesign,
  carryCoefficients,
  type KeyedCoefficients,
  type PackedDesign,
} from './design.js';
import { fitPacked, oneStepGain } from './logistic.js';
import { logLoss } from './metrics.js';
import type { FeatureTransform } from './model-file.js';

export interface CvTask {
  /** Dataset rows taking part, in row order. */
  rows: Int32Array;
  transforms: Array<[column: string, transforms: FeatureTransform[]]>;
  l2: number;
  folds: number;
  /** Seeds the stratified fold assignment. */
  seed: number;
  /**
   * Coefficients of a fit on similar rows to start the first fold's Newton steps from, possibly
   * under another feature plan: features in both start where that fit left them, new ones at 0.
   */
  start?: KeyedCoefficients;
  /**
   * The design of `rows` under `transforms`, when the caller built it already (in shared memory):
   * every repeat of the reported cross-validation uses the same one.
   */
  design?: PackedDesign;
}

export interface CvResult {
  labels: Float64Array;
  /** Out-of-fold logits, and the same calibrated on the other folds, per task row. */
  logits: Float64Array;
  probabilities: Float64Array;
  /** Log loss of the calibrated probabilities: what selection compares. */
  loss: number;
  /** The fit on all the task's rows: a warm start, or the base a candidate feature is screened at. */
  fit: KeyedCoefficients;
}

/**
 * Screens a candidate feature plan: the in-sample gain of one Newton step from `start` (a fit of
 * the current plan on the same rows; the candidate's new features start at zero).
 */
export interface ScreenTask {
  rows: Int32Array;
  transforms: Array<[column: string, transforms: FeatureTransform[]]>;
  l2: number;
  start: KeyedCoefficients;
}

/** A fit on every row of a prebuilt design (the dataset's rows in order), to machine precision. */
export interface FitTask {
  design: PackedDesign;
  l2: number;
  start?: KeyedCoefficients;
}

export function runCv(dataset: LabelledDataset, task: CvTask): CvResult {
  const design = task.design ?? buildDesign(dataset, new Map(task.transforms), task.rows).design;
  const labels = Float64Array.from(task.rows, (row) => dataset.labels[row] as number);
  const assignment = stratifiedFolds(labels, task.folds, task.seed);
  const start = task.start && carryCoefficients(design.keys, task.start);
  const { logits, fit } = outOfFoldLogits(design, labels, assignment, task.folds, task.l2, start);
  const probabilities = crossCalibratedProbabilities(logits, labels, assignment, task.folds);
  return {
    labels,
    logits,
    probabilities,
    loss: logLoss(labels, probabilities),
    fit: { keys: design.keys, beta: fit },
  };
}

export function runFit(dataset: LabelledDataset, task: FitTask): Float64Array {
  return fitPacked(task.design, dataset.labels, {
    l2: task.l2,
    ...(task.start ? { start: carryCoefficients(task.design.keys, task.start) } : {}),
  });
}

/** A screen's estimate of the candidate's gain in log loss per row (see oneStepGain). */
export function runScreen(dataset: LabelledDataset, task: ScreenTask): number {
  const { design } = buildDesign(dataset, new Map(task.transforms), task.rows);
  const labels = Float64Array.from(task.rows, (row) => dataset.labels[row] as number);
  return oneStepGain(design, labels, carryCoefficients(design.keys, task.start), { l2: task.l2 });
}
