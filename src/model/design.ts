/**
 * Turns dataset columns into the logistic model's design, packed for speed: numeric terms,
 * missing-value indicators and booleans as a dense block (standardised and centred), and each
 * categorical column as the index of the row's one-hot feature. A row then costs its number of
 * source columns, not its number of features, in every Newton step.
 *
 * One-hot features are fitted uncentred: with the intercept unpenalised, centring a feature only
 * moves the intercept, so the fitted weights are exactly those of the centred encoding the model
 * file stores (whose intercept is the logit of an average customer). `toModelColumns` converts.
 */
import type { FeatureColumn, LabelledDataset } from './dataset.js';
import type { ModelColumn, NumericTransform } from './model-file.js';

export interface PackedDesign {
  rows: number;
  /** Dense features per row, row-major in `denseValues`, already centred. */
  dense: number;
  denseValues: Float64Array;
  /** Categorical columns; row r's active one-hot feature indexes are `sparseIndexes[r * sparse + s]`. */
  sparse: number;
  sparseIndexes: Int32Array;
  /** Dense features first, then every categorical level. */
  features: number;
  /** What each feature's value is measured from in the model file: 0 for dense ones, the level's frequency for one-hot ones. */
  centres: Float64Array;
}

export interface FittedDesign {
  design: PackedDesign;
  /** The model's columns with means, scales and frequencies, and all weights still zero. */
  columns: ModelColumn[];
  /** Design feature index of each model feature, in the order `toModelColumns` reads them. */
  modelOrder: Int32Array;
  /** Model column of each dense feature, and of each categorical slot. */
  denseOwner: Int32Array;
  sparseOwner: Int32Array;
}

/** Negative inputs to log1p/sqrt are clamped at zero: those transforms are only offered for columns
 * that were never negative in training. */
export function applyTransform(transform: NumericTransform, x: number): number {
  switch (transform) {
    case 'linear':
      return x;
    case 'log1p':
      return Math.log1p(Math.max(0, x));
    case 'sqrt':
      return Math.sqrt(Math.max(0, x));
    case 'square':
      return x * x;
  }
}

function meanAndScale(
  values: Float64Array,
  transform: NumericTransform,
  rows: Int32Array,
): { mean: number; scale: number } {
  let count = 0;
  let sum = 0;
  for (const row of rows) {
    const x = values[row] as number;
    if (Number.isNaN(x)) continue;
    sum += applyTransform(transform, x);
    count++;
  }
  const mean = count === 0 ? 0 : sum / count;
  let squares = 0;
  for (const row of rows) {
    const x = values[row] as number;
    if (!Number.isNaN(x)) squares += (applyTransform(transform, x) - mean) ** 2;
  }
  const scale = count === 0 ? 0 : Math.sqrt(squares / count);
  return { mean, scale: scale > 0 ? scale : 1 };
}

function missingShare(values: Float64Array, rows: Int32Array): number {
  let missing = 0;
  for (const row of rows) if (Number.isNaN(values[row] as number)) missing++;
  return missing / rows.length;
}

/** A dense feature: reads dataset row `row` into the design's centred value. */
type DenseFeature = (row: number) => number;

function fitColumn(
  column: FeatureColumn,
  transforms: readonly NumericTransform[],
  rows: Int32Array,
): { spec: ModelColumn; dense: DenseFeature[] } {
  const base = { name: column.name, synonyms: [] as string[] };
  if (column.kind === 'numeric') {
    const values = column.values;
    const terms = transforms.map((transform) => ({
      transform,
      ...meanAndScale(values, transform, rows),
      weight: 0,
    }));
    const dense: DenseFeature[] = terms.map((term) => (row) => {
      const x = values[row] as number;
      return Number.isNaN(x) ? 0 : (applyTransform(term.transform, x) - term.mean) / term.scale;
    });
    const share = missingShare(values, rows);
    if (share > 0) dense.push((row) => (Number.isNaN(values[row] as number) ? 1 : 0) - share);
    const spec: ModelColumn = {
      kind: 'numeric',
      ...base,
      ...(column.source ? { source: column.source } : {}),
      terms,
      ...(share > 0 ? { missing: { mean: share, weight: 0 } } : {}),
    };
    return { spec, dense };
  }
  if (column.kind === 'boolean') {
    const values = column.values;
    const { mean } = meanAndScale(values, 'linear', rows);
    const spec: ModelColumn = {
      kind: 'boolean',
      ...base,
      trueLabel: column.trueLabel,
      falseLabel: column.falseLabel,
      mean,
      weight: 0,
    };
    return {
      spec,
      dense: [(row) => (Number.isNaN(values[row] as number) ? 0 : (values[row] as number) - mean)],
    };
  }
  const counts = new Float64Array(column.levels.length);
  for (const row of rows) {
    const code = column.codes[row] as number;
    counts[code] = (counts[code] as number) + 1;
  }
  const levels = column.levels.flatMap((level, code) =>
    (counts[code] as number) === 0
      ? []
      : [{ ...level, frequency: (counts[code] as number) / rows.length, weight: 0 }],
  );
  return { spec: { kind: 'categorical', ...base, levels }, dense: [] };
}

/**
 * Fits the encoding on `rows` of the dataset and packs those rows (design row t is dataset row
 * `rows[t]`).
 */
export function buildDesign(
  dataset: LabelledDataset,
  transforms: ReadonlyMap<string, readonly NumericTransform[]>,
  rows: Int32Array,
): FittedDesign {
  const fitted = dataset.columns.map((column) =>
    fitColumn(column, transforms.get(column.name) ?? ['linear'], rows),
  );
  const denseFeatures = fitted.flatMap((entry) => entry.dense);
  const denseOwner = Int32Array.from(fitted.flatMap((entry, c) => entry.dense.map(() => c)));
  const sparseOwner = Int32Array.from(
    dataset.columns.flatMap((column, c) => (column.kind === 'categorical' ? [c] : [])),
  );
  const dense = denseFeatures.length;
  const categorical = dataset.columns.flatMap((column, c) =>
    column.kind === 'categorical'
      ? [{ column, spec: fitted[c]?.spec as Extract<ModelColumn, { kind: 'categorical' }> }]
      : [],
  );
  const sparse = categorical.length;
  // Each categorical column's levels take consecutive features; a dataset level code absent
  // from `rows` has none (-1) and never occurs in them.
  let next = dense;
  const firstFeature: number[] = [];
  const levelFeature = categorical.map(({ column, spec }) => {
    const first = next;
    firstFeature.push(first);
    next += spec.levels.length;
    const byKey = new Map(spec.levels.map((level, i) => [level.key, first + i]));
    return Int32Array.from(column.levels, (level) => byKey.get(level.key) ?? -1);
  });
  const features = next;
  const centres = new Float64Array(features);
  categorical.forEach(({ spec }, s) => {
    spec.levels.forEach((level, i) => {
      centres[(firstFeature[s] as number) + i] = level.frequency;
    });
  });
  const denseValues = new Float64Array(rows.length * dense);
  const sparseIndexes = new Int32Array(rows.length * sparse);
  for (let t = 0; t < rows.length; t++) {
    const row = rows[t] as number;
    for (let f = 0; f < dense; f++)
      denseValues[t * dense + f] = (denseFeatures[f] as DenseFeature)(row);
    for (let s = 0; s < sparse; s++) {
      const { column } = categorical[s] as (typeof categorical)[number];
      sparseIndexes[t * sparse + s] = (levelFeature[s] as Int32Array)[
        column.codes[row] as number
      ] as number;
    }
  }
  const modelOrder: number[] = [];
  let denseIndex = 0;
  let sparseColumn = 0;
  for (const { spec } of fitted) {
    if (spec.kind === 'categorical') {
      const first = firstFeature[sparseColumn++] as number;
      for (let i = 0; i < spec.levels.length; i++) modelOrder.push(first + i);
    } else {
      const count = spec.kind === 'numeric' ? spec.terms.length + (spec.missing ? 1 : 0) : 1;
      for (let i = 0; i < count; i++) modelOrder.push(denseIndex++);
    }
  }
  return {
    design: { rows: rows.length, dense, denseValues, sparse, sparseIndexes, features, centres },
    columns: fitted.map((entry) => entry.spec),
    modelOrder: Int32Array.from(modelOrder),
    denseOwner,
    sparseOwner,
  };
}

/**
 * The model file's columns and intercept from a fit on the packed design: weights in model
 * order, and the intercept moved to the centred encoding (see the module comment).
 */
export function toModelColumns(
  fitted: FittedDesign,
  beta: Float64Array,
): { intercept: number; columns: ModelColumn[] } {
  const { design, modelOrder } = fitted;
  let intercept = beta[0] as number;
  for (let f = design.dense; f < design.features; f++) {
    intercept += (beta[f + 1] as number) * (design.centres[f] as number);
  }
  let position = 0;
  const next = () => beta[(modelOrder[position++] as number) + 1] as number;
  const columns = fitted.columns.map((column): ModelColumn => {
    if (column.kind === 'numeric') {
      const terms = column.terms.map((term) => ({ ...term, weight: next() }));
      return column.missing
        ? { ...column, terms, missing: { ...column.missing, weight: next() } }
        : { ...column, terms };
    }
    if (column.kind === 'boolean') return { ...column, weight: next() };
    return { ...column, levels: column.levels.map((level) => ({ ...level, weight: next() })) };
  });
  return { intercept, columns };
}

export function featureCountOf(column: ModelColumn): number {
  if (column.kind === 'numeric') return column.terms.length + (column.missing ? 1 : 0);
  if (column.kind === 'boolean') return 1;
  return column.levels.length;
}

/**
 * How much each model column moves the logit across the design's rows: the standard deviation of
 * its contribution. Comparable across columns of every kind, it is the model card's importance
 * and what the fit report weighs a missing input by.
 */
export function contributionSpread(fitted: FittedDesign, beta: Float64Array): Float64Array {
  const { design, denseOwner, sparseOwner } = fitted;
  const columns = fitted.columns.length;
  // A level's contribution is its weight less the frequency-weighted mean of its column's.
  const levelCentre = new Float64Array(columns);
  for (let f = design.dense; f < design.features; f++) {
    const owner = ownerOfLevel(fitted, f);
    levelCentre[owner] =
      (levelCentre[owner] as number) + (beta[f + 1] as number) * (design.centres[f] as number);
  }
  const sum = new Float64Array(columns);
  const squares = new Float64Array(columns);
  const row = new Float64Array(columns);
  for (let r = 0; r < design.rows; r++) {
    row.fill(0);
    for (let f = 0; f < design.dense; f++) {
      const owner = denseOwner[f] as number;
      row[owner] =
        (row[owner] as number) +
        (beta[f + 1] as number) * (design.denseValues[r * design.dense + f] as number);
    }
    for (let s = 0; s < design.sparse; s++) {
      const owner = sparseOwner[s] as number;
      const level = design.sparseIndexes[r * design.sparse + s] as number;
      row[owner] = (beta[level + 1] as number) - (levelCentre[owner] as number);
    }
    for (let c = 0; c < columns; c++) {
      const value = row[c] as number;
      sum[c] = (sum[c] as number) + value;
      squares[c] = (squares[c] as number) + value * value;
    }
  }
  return Float64Array.from(sum, (total, c) => {
    const mean = total / design.rows;
    return Math.sqrt(Math.max(0, (squares[c] as number) / design.rows - mean * mean));
  });
}

/** The model column whose level is design feature `feature` (a one-hot one). */
function ownerOfLevel(fitted: FittedDesign, feature: number): number {
  let position = 0;
  for (let c = 0; c < fitted.columns.length; c++) {
    const count = featureCountOf(fitted.columns[c] as ModelColumn);
    for (let i = 0; i < count; i++, position++) {
      if (fitted.modelOrder[position] === feature) return c;
    }
  }
  throw new Error(`feature ${feature} belongs to no column`);
}
