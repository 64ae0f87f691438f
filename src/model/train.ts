/**
 * Training: choose the penalty and the engineered features under cross-validation, fit the final
 * model on every row, calibrate it on out-of-fold logits, and report repeated-CV metrics.
 */
import { fitPlatt } from './calibration.js';
import { evaluate, stratifiedFolds } from './cross-validation.js';
import { type CvResult, type CvTask, crossValidate, shared, type TrainRunner } from './cv-task.js';
import type { LabelledDataset, NumericColumn } from './dataset.js';
import { isoOfEpochDays } from './dates.js';
import {
  buildDesign,
  contributionSpread,
  type KeyedCoefficients,
  type PackedDesign,
  toModelColumns,
} from './design.js';
import {
  type Evaluation,
  type FeatureTransform,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelFile,
} from './model-file.js';
import { LEAK_AUC, singleColumnAucs } from './single-column.js';
import { synonymsFor } from './synonyms.js';
import { type TierRule, tierCutoffs } from './tier-rules.js';
import { createTrainPool, defaultTrainThreads } from './train-pool.js';

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
  /** Threads for the cross-validation runs (default: up to two); the model is the same on any. */
  threads?: number;
  /** How to draw the risk tiers; default: high from 50%, medium from the churn rate. */
  tiers?: TierRule;
  /** Reports progress of the slow steps, as text. */
  onProgress?: (message: string) => void;
  /** Reports each finished cross-validation run, of an estimated total (a kept transform adds a few). */
  onStep?: (step: TrainingStep) => void;
}

/**
 * Tried for every numeric column, each kept only if it lowers the cross-validated loss: smooth
 * curves, and bins (a step function over deciles) for thresholds such as "no login for 14 days".
 */
const CANDIDATE_TRANSFORMS: readonly FeatureTransform[] = ['log1p', 'sqrt', 'square', 'bins'];
/** Seeds for selection and reporting differ, so the reported folds are not the tuned ones. */
const SELECTION_SEED = 7919;
/**
 * Rows the penalty and the engineered features are chosen on. Past a few tens of thousands of
 * rows the choice no longer changes (the penalty matters less and less), while every candidate
 * costs a full cross-validation: larger files are subsampled, stratified, for the choice only.
 */
export const SELECTION_ROWS = 50_000;

/** Penalties tried, on the sum of the log loss (so a fixed prior, whatever the row count). */
const DEFAULT_L2_GRID: readonly number[] = [0.1, 0.3, 1, 3, 10];

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

/** What every selection task shares: the rows, the folds, the threads. */
interface Selection {
  runner: TrainRunner;
  /** Runs a cross-validation, counting it as a step. */
  cv: (task: CvTask) => Promise<CvResult>;
  rows: Int32Array;
  folds: number;
}

function entriesOf(
  transforms: ReadonlyMap<string, readonly FeatureTransform[]>,
): CvTask['transforms'] {
  return [...transforms].map(([column, list]) => [column, [...list]]);
}

function selectionTask(
  selection: Selection,
  transforms: ReadonlyMap<string, readonly FeatureTransform[]>,
  l2: number,
  start: KeyedCoefficients,
  design?: PackedDesign,
): CvTask {
  return {
    rows: selection.rows,
    transforms: entriesOf(transforms),
    l2,
    folds: selection.folds,
    seed: SELECTION_SEED,
    start,
    ...(design ? { design } : {}),
  };
}

/** The penalty with the lowest cross-validated loss; every candidate's folds start from `anchor`. */
async function choosePenalty(
  selection: Selection,
  plain: ReadonlyMap<string, readonly FeatureTransform[]>,
  grid: readonly number[],
  anchor: KeyedCoefficients & { design: PackedDesign },
  progress: (message: string) => void,
): Promise<{ l2: number; result: CvResult }> {
  const results = await Promise.all(
    grid.map((l2) => selection.cv(selectionTask(selection, plain, l2, anchor, anchor.design))),
  );
  let best = 0;
  grid.forEach((l2, i) => {
    const { loss } = results[i] as CvResult;
    progress(`l2 ${l2}: out-of-fold log loss ${loss.toFixed(5)}`);
    if (loss < (results[best] as CvResult).loss) best = i;
  });
  return { l2: grid[best] as number, result: results[best] as CvResult };
}

/**
 * Engineered transforms, greedily in column order: each is kept only if it lowers the loss. A
 * column's candidates are measured at once against the current features; after one is kept, the
 * column's later candidates are measured again against the new features, so the choice is the
 * same as one at a time. Every candidate is first screened: a candidate whose in-sample gain (one
 * Newton step from the current fit) is below `minGain` cannot reach it out of sample, and is
 * ruled out without a cross-validation. The others' folds start from the current fit.
 */
async function chooseTransforms(
  selection: Selection,
  numericColumns: readonly NumericColumn[],
  plain: Map<string, FeatureTransform[]>,
  l2: number,
  start: CvResult,
  minGain: number,
  progress: (message: string) => void,
): Promise<{
  transforms: Map<string, FeatureTransform[]>;
  engineered: ModelFile['training']['engineered'];
  fit: KeyedCoefficients;
}> {
  const transforms = new Map(plain);
  const engineered: ModelFile['training']['engineered'] = [];
  let currentLoss = start.loss;
  let currentFit = start.fit;
  for (const column of numericColumns) {
    let nonNegative = true;
    for (const x of column.values) if (x < 0) nonNegative = false;
    let candidates = CANDIDATE_TRANSFORMS.filter(
      (transform) => nonNegative || (transform !== 'log1p' && transform !== 'sqrt'),
    );
    while (candidates.length > 0) {
      const trials = candidates.map((transform) => {
        const trial = new Map(transforms);
        trial.set(column.name, [...(transforms.get(column.name) ?? []), transform]);
        return trial;
      });
      const screens = await Promise.all(
        trials.map((trial) =>
          selection.runner.screen({
            rows: selection.rows,
            transforms: entriesOf(trial),
            l2,
            start: currentFit,
          }),
        ),
      );
      const results = await Promise.all(
        trials.map((trial, i) =>
          (screens[i] as number) >= minGain
            ? selection.cv(selectionTask(selection, trial, l2, currentFit))
            : undefined,
        ),
      );
      const keptAt = results.findIndex(
        (result) => result !== undefined && currentLoss - result.loss >= minGain,
      );
      const decided = keptAt === -1 ? candidates.length : keptAt + 1;
      for (let i = 0; i < decided; i++) {
        const transform = candidates[i] as FeatureTransform;
        const result = results[i];
        const kept = i === keptAt;
        if (result === undefined) {
          const gain = screens[i] as number;
          progress(`${transform}(${column.name}): at most ${gain.toFixed(5)} in sample, not tried`);
          engineered.push({ column: column.name, transform, kept, gain, screened: true });
          continue;
        }
        const gain = currentLoss - result.loss;
        progress(`${transform}(${column.name}): gain ${gain.toFixed(5)}${kept ? ' (kept)' : ''}`);
        engineered.push({ column: column.name, transform, kept, gain });
      }
      if (keptAt !== -1) {
        transforms.set(column.name, trials[keptAt]?.get(column.name) as FeatureTransform[]);
        currentLoss = (results[keptAt] as CvResult).loss;
        currentFit = (results[keptAt] as CvResult).fit;
      }
      candidates = candidates.slice(decided);
    }
  }
  return { transforms, engineered, fit: currentFit };
}

export interface TrainingStep {
  stage: 'choosing features' | 'cross-validating';
  done: number;
  total: number;
}

/** Counts finished runs for `onStep`, of an estimated total (screening rules some out). */
function stepCounter(total: number, onStep: TrainOptions['onStep']) {
  let done = 0;
  return (stage: TrainingStep['stage']) => {
    done++;
    onStep?.({ stage, done, total: Math.max(total, done) });
  };
}

export async function trainModel(
  dataset: LabelledDataset,
  options: TrainOptions,
): Promise<ModelFile> {
  const pool = createTrainPool(dataset, options.threads ?? defaultTrainThreads());
  const numeric = dataset.columns.filter((column) => column.kind === 'numeric').length;
  const runs =
    (options.l2Grid ?? DEFAULT_L2_GRID).length +
    (options.engineer === false ? 0 : numeric * CANDIDATE_TRANSFORMS.length) +
    (options.repeats ?? 3) +
    1;
  try {
    return await train(dataset, options, pool, stepCounter(runs, options.onStep));
  } finally {
    await pool.close();
  }
}

async function train(
  dataset: LabelledDataset,
  options: TrainOptions,
  runner: TrainRunner,
  step: (stage: TrainingStep['stage']) => void,
): Promise<ModelFile> {
  const folds = options.folds ?? 5;
  const repeats = options.repeats ?? 3;
  const minGain = options.minGain ?? 0.0005;
  const progress = options.onProgress ?? (() => {});
  const numericColumns = dataset.columns.filter((column) => column.kind === 'numeric');
  const n = dataset.labels.length;
  const grid = options.l2Grid ?? DEFAULT_L2_GRID;

  // 1. The penalty, on the plain features, on (a sample of) the rows. Every candidate's folds
  //    start from one fit on all the selection rows: a few Newton steps each instead of many.
  const rows = selectionRows(
    dataset.labels,
    options.selectionRows ?? SELECTION_ROWS,
    SELECTION_SEED,
  );
  const counted = (stage: TrainingStep['stage']) => async (task: CvTask) => {
    const result = await crossValidate(runner, task);
    step(stage);
    return result;
  };
  const selection: Selection = { runner, cv: counted('choosing features'), rows, folds };
  if (rows.length < n) progress(`choosing the penalty and features on ${rows.length} of ${n} rows`);
  const plain = new Map<string, FeatureTransform[]>(
    numericColumns.map((column) => [column.name, ['linear']]),
  );
  // Built once, in shared memory, for every penalty's run, which all start from one fit on
  // another thread while this one measures each column alone.
  const anchorDesign = buildDesign(dataset, plain, rows, { shared: true }).design;
  const labels = shared(Float64Array.from(rows, (row) => dataset.labels[row] as number));
  const anchorFit = runner.fit({ design: anchorDesign, labels, l2: grid[0] as number });
  const singleColumn = singleColumnAucs(dataset.columns, rows, labels);
  for (const leak of singleColumn.filter((entry) => entry.rocAuc >= LEAK_AUC)) {
    progress(`${leak.column} alone has ROC AUC ${leak.rocAuc.toFixed(3)}: probably a leak`);
  }
  const anchor = { design: anchorDesign, keys: anchorDesign.keys, beta: await anchorFit };
  const best = await choosePenalty(selection, plain, grid, anchor, progress);
  const l2 = best.l2;

  // 2. Engineered features.
  const chosen =
    (options.engineer ?? true)
      ? await chooseTransforms(selection, numericColumns, plain, l2, best.result, minGain, progress)
      : { transforms: plain, engineered: [], fit: best.result.fit };
  const { transforms, engineered } = chosen;

  // 3. The final model on every row and, beside it on the other threads, the reported metrics:
  //    repeated k-fold with fresh seeds, and calibration from the pooled out-of-fold logits.
  //    All start from the last selection fit, whose features the final ones carry on.
  const allRows = Int32Array.from(dataset.labels, (_, row) => row);
  const fitted = buildDesign(dataset, transforms, allRows, { shared: true });
  const beta = await runner.fit({ design: fitted.design, l2, start: chosen.fit });
  step('cross-validating');
  // Started together; this thread meanwhile reads the model off the fit, and measures each
  // repeat as it comes back.
  const repeated = Array.from({ length: repeats }, (_, repeat) =>
    counted('cross-validating')({
      rows: allRows,
      transforms: entriesOf(transforms),
      l2,
      folds,
      seed: repeat + 1,
      design: fitted.design,
      fit: beta,
    }),
  );
  // A failure is reported when its repeat's turn comes; until then it is not unhandled.
  Promise.all(repeated).catch(() => {});
  const { intercept, columns } = toModelColumns(fitted, beta);
  const spread = contributionSpread(fitted, beta);
  const base = dataset.label.positives / n;
  const tiers = options.tiers
    ? {
        ...tierCutoffs(
          options.tiers,
          base,
          (await (repeated[0] as Promise<CvResult>)).probabilities,
        ),
        rule: options.tiers,
      }
    : { high: HIGH_RISK_PROBABILITY, medium: Math.min(base, HIGH_RISK_PROBABILITY) };
  const evaluations: Evaluation[] = [];
  const pooledLogits = new Float64Array(n * repeats);
  const pooledLabels = new Float64Array(n * repeats);
  for (const [repeat, pending] of repeated.entries()) {
    const result = await pending;
    evaluations.push(evaluate(dataset.labels, result.probabilities, tiers));
    pooledLogits.set(result.logits, repeat * n);
    pooledLabels.set(dataset.labels, repeat * n);
    progress(`repeat ${repeat + 1}: ROC AUC ${evaluations.at(-1)?.rocAuc.toFixed(4)}`);
  }
  const calibration = fitPlatt(pooledLogits, pooledLabels);
  const mean = (pick: (e: (typeof evaluations)[number]) => number) =>
    evaluations.reduce((sum, e) => sum + pick(e), 0) / evaluations.length;

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
        ? { asOf: isoOfEpochDays(dataset.asOfDays) }
        : {}),
      label: { positiveKeys: dataset.label.positiveKeys, rule: dataset.label.rule },
      unlabelledRows: dataset.unlabelledRows,
      importance: columns.map((column, c) => ({
        column: column.name,
        spread: spread[c] as number,
      })),
      singleColumn,
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
