/**
 * One cross-validation run, the unit of training work: fit and predict every fold of a row set
 * under one feature plan and penalty. Training runs many, independent of each other, so they can
 * go to worker threads (train-pool.ts); each starts cold or from a start given in the task, never
 * from whatever ran before it, so a model comes out the same on any number of threads.
 */
import {
  crossCalibratedProbabilities,
  outOfFoldLogits,
  stratifiedFolds,
} from './cross-validation.js';
import type { LabelledDataset } from './dataset.js';
import { buildDesign, type PackedDesign } from './design.js';
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
  /** Coefficients of a fit on the same design to start every fold's Newton steps from. */
  start?: Float64Array;
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
}

export function runCv(dataset: LabelledDataset, task: CvTask): CvResult {
  const design = task.design ?? buildDesign(dataset, new Map(task.transforms), task.rows).design;
  const labels = Float64Array.from(task.rows, (row) => dataset.labels[row] as number);
  const assignment = stratifiedFolds(labels, task.folds, task.seed);
  const { logits } = outOfFoldLogits(design, labels, assignment, task.folds, task.l2, task.start);
  const probabilities = crossCalibratedProbabilities(logits, labels, assignment, task.folds);
  return { labels, logits, probabilities, loss: logLoss(labels, probabilities) };
}
