/**
 * The units of training work, small enough to keep both threads busy: preparing a
 * cross-validation run (its design, folds, the fit on all its rows and every fold's Hessian
 * there), fitting one fold, one fit on a prebuilt design, and screening a candidate feature plan.
 * Each starts from what its task says, never from whatever ran before it on its thread, so a
 * model comes out the same on any number of threads. Designs, labels and folds live in shared
 * memory, so a fold task on another thread copies none of the rows.
 */
import {
  assembleLogits,
  crossCalibratedProbabilities,
  type FoldStart,
  foldLogits,
  foldStart,
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
   * Coefficients of a fit on similar rows to start from, possibly under another feature plan:
   * features in both start where that fit left them, new ones at 0.
   */
  start?: KeyedCoefficients;
  /**
   * The design of `rows` under `transforms` when the caller built it already (in shared memory),
   * and optionally the fit on all of its rows: every repeat of the reported cross-validation
   * uses the final model's.
   */
  design?: PackedDesign;
  fit?: Float64Array;
}

/** A run ready for its folds: what every fold task needs. */
export interface PreparedCv {
  design: PackedDesign;
  labels: Float64Array;
  assignment: Int32Array;
  folds: number;
  l2: number;
  start: FoldStart;
}

export interface FoldTask {
  prepared: PreparedCv;
  fold: number;
}

/** Out-of-fold logits to calibrate, each fold's scaling fitted on the other folds. */
export interface CalibrateTask {
  logits: Float64Array;
  labels: Float64Array;
  assignment: Int32Array;
  folds: number;
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

/** A fit on every row of a prebuilt design, to machine precision. */
export interface FitTask {
  design: PackedDesign;
  /** The design rows' labels; default: the dataset's, when the design has all its rows in order. */
  labels?: Float64Array;
  l2: number;
  start?: KeyedCoefficients;
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

/** Where the tasks run: worker threads (train-pool.ts) or this one. */
export interface TrainRunner {
  prepare(task: CvTask): Promise<PreparedCv>;
  fold(task: FoldTask): Promise<Float64Array>;
  /** Calibrated out-of-fold probabilities. */
  calibrate(task: CalibrateTask): Promise<Float64Array>;
  /** The coefficients (intercept first) of a fit on every row of a design. */
  fit(task: FitTask): Promise<Float64Array>;
  /** A candidate plan's estimated in-sample gain per row. */
  screen(task: ScreenTask): Promise<number>;
}

/** A copy in shared memory, which a task sent to another thread reads without a copy. */
export function shared<T extends Float64Array | Int32Array>(array: T): T {
  const copy = new (array.constructor as new (buffer: SharedArrayBuffer) => T)(
    new SharedArrayBuffer(array.byteLength),
  );
  copy.set(array);
  return copy;
}

export function prepareCv(dataset: LabelledDataset, task: CvTask): PreparedCv {
  const design =
    task.design ??
    buildDesign(dataset, new Map(task.transforms), task.rows, { shared: true }).design;
  const labels = shared(Float64Array.from(task.rows, (row) => dataset.labels[row] as number));
  const assignment = shared(stratifiedFolds(labels, task.folds, task.seed));
  const start = foldStart(design, labels, assignment, task.folds, task.l2, {
    ...(task.fit ? { fit: task.fit } : {}),
    ...(task.start ? { start: carryCoefficients(design.keys, task.start) } : {}),
  });
  return { design, labels, assignment, folds: task.folds, l2: task.l2, start };
}

export function runFold({ prepared, fold }: FoldTask): Float64Array {
  const { design, labels, assignment, l2, start } = prepared;
  return foldLogits(design, labels, assignment, fold, l2, start);
}

export function runCalibrate({ logits, labels, assignment, folds }: CalibrateTask): Float64Array {
  return crossCalibratedProbabilities(logits, labels, assignment, folds);
}

/** One cross-validation run: prepared on one thread, its folds and calibration on any. */
export async function crossValidate(runner: TrainRunner, task: CvTask): Promise<CvResult> {
  const prepared = await runner.prepare(task);
  const perFold = await Promise.all(
    Array.from({ length: prepared.folds }, (_, fold) => runner.fold({ prepared, fold })),
  );
  const { labels, assignment, folds, design } = prepared;
  const logits = assembleLogits(assignment, perFold);
  const probabilities = await runner.calibrate({ logits, labels, assignment, folds });
  return {
    labels,
    logits,
    probabilities,
    loss: logLoss(labels, probabilities),
    fit: { keys: design.keys, beta: prepared.start.fit },
  };
}

export function runFit(dataset: LabelledDataset, task: FitTask): Float64Array {
  return fitPacked(task.design, task.labels ?? dataset.labels, {
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
