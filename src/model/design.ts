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
import type { FeatureColumn, LabelledDataset, NumericColumn } from './dataset.js';
import type {
  CategoricalModelColumn,
  FeatureTransform,
  ModelColumn,
  NumericTransform,
} from './model-file.js';

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
  /**
   * What each feature is (`tenure log1p`, `Contract = two year`), the same in every design of
   * the dataset: coefficients fitted under one feature plan start a fit under another.
   */
  keys: string[];
}

/** Coefficients (intercept first) with the keys of the features they belong to. */
export interface KeyedCoefficients {
  keys: readonly string[];
  beta: Float64Array;
}

/**
 * A start for a fit on a design with features `keys`: the coefficients of `from` where a
 * feature is in both, zero for a new one. A warm start only; a good one saves most Newton steps.
 */
export function carryCoefficients(keys: readonly string[], from: KeyedCoefficients): Float64Array {
  const known = new Map(from.keys.map((key, f) => [key, from.beta[f + 1] as number]));
  const start = new Float64Array(keys.length + 1);
  start[0] = from.beta[0] as number;
  keys.forEach((key, f) => {
    start[f + 1] = known.get(key) ?? 0;
  });
  return start;
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
interface DenseFeature {
  key: string;
  read: (row: number) => number;
}

/** A one-hot group: exactly one of `size` features is 1 for every row (a category, a bin). */
interface OneHotGroup {
  size: number;
  level: (row: number) => number;
  frequencies: number[];
  keys: string[];
}

interface FittedColumn {
  spec: ModelColumn;
  dense: DenseFeature[];
  group?: OneHotGroup;
}

/** The key of a feature derived from column `column` (see PackedDesign.keys). */
const keyOf = (column: string, feature: string) => `${column}\u0000${feature}`;

/** Bins of a numeric column: deciles of its training values, so each bin holds ~10% of rows. */
const BINS = 10;

/**
 * Upper bin edges at the column's quantiles (duplicates dropped): a value goes to the first bin
 * whose edge is at least it, or past the last edge to the last bin.
 */
function binEdges(values: Float64Array, rows: Int32Array): number[] {
  let count = 0;
  for (const row of rows) if (!Number.isNaN(values[row] as number)) count++;
  const present = new Float64Array(count);
  let next = 0;
  for (const row of rows) {
    const x = values[row] as number;
    if (!Number.isNaN(x)) present[next++] = x;
  }
  present.sort();
  const edges: number[] = [];
  for (let b = 1; b < BINS; b++) {
    const edge = present[Math.floor((b * present.length) / BINS) - 1];
    if (edge !== undefined && edge !== edges.at(-1) && edge < (present.at(-1) as number))
      edges.push(edge);
  }
  return edges;
}

/** The bin of `x` for `edges` (see binEdges). */
export function binOf(edges: readonly number[], x: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (x <= (edges[middle] as number)) high = middle;
    else low = middle + 1;
  }
  return low;
}

function frequenciesOf(size: number, level: (row: number) => number, rows: Int32Array): number[] {
  const counts = new Array<number>(size).fill(0);
  for (const row of rows) counts[level(row)] = (counts[level(row)] as number) + 1;
  return counts.map((count) => count / rows.length);
}

function fitNumeric(
  column: NumericColumn,
  plan: readonly FeatureTransform[],
  rows: Int32Array,
): FittedColumn {
  const values = column.values;
  const terms = plan
    .filter((transform): transform is NumericTransform => transform !== 'bins')
    .map((transform) => ({ transform, ...meanAndScale(values, transform, rows), weight: 0 }));
  const dense: DenseFeature[] = terms.map((term) => ({
    key: keyOf(column.name, term.transform),
    read: (row) => {
      const x = values[row] as number;
      return Number.isNaN(x) ? 0 : (applyTransform(term.transform, x) - term.mean) / term.scale;
    },
  }));
  const share = missingShare(values, rows);
  const base = {
    kind: 'numeric' as const,
    name: column.name,
    synonyms: [] as string[],
    ...(column.source ? { source: column.source } : {}),
    terms,
  };
  if (plan.includes('bins')) {
    // Blank values get a bin of their own, which takes the missing indicator's place.
    const edges = binEdges(values, rows);
    const missingLevel = share > 0;
    const size = edges.length + 1 + (missingLevel ? 1 : 0);
    const level = (row: number) => {
      const x = values[row] as number;
      return Number.isNaN(x) ? edges.length + 1 : binOf(edges, x);
    };
    const frequencies = frequenciesOf(size, level, rows);
    const bins = {
      edges,
      missingLevel,
      levels: frequencies.map((frequency) => ({ frequency, weight: 0 })),
    };
    const keys = frequencies.map((_, i) => keyOf(column.name, `bin ${i}`));
    return { spec: { ...base, bins }, dense, group: { size, level, frequencies, keys } };
  }
  if (share > 0) {
    dense.push({
      key: keyOf(column.name, 'missing'),
      read: (row) => (Number.isNaN(values[row] as number) ? 1 : 0) - share,
    });
  }
  return {
    spec: { ...base, ...(share > 0 ? { missing: { mean: share, weight: 0 } } : {}) },
    dense,
  };
}

function fitColumn(
  column: FeatureColumn,
  plan: readonly FeatureTransform[],
  rows: Int32Array,
): FittedColumn {
  if (column.kind === 'numeric') return fitNumeric(column, plan, rows);
  const base = { name: column.name, synonyms: [] as string[] };
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
      dense: [
        {
          key: keyOf(column.name, 'true'),
          read: (row) => (Number.isNaN(values[row] as number) ? 0 : (values[row] as number) - mean),
        },
      ],
    };
  }
  const counts = new Float64Array(column.levels.length);
  for (const row of rows) {
    const code = column.codes[row] as number;
    counts[code] = (counts[code] as number) + 1;
  }
  // Levels absent from `rows` are dropped; a code present in them always has its level.
  const levelOfCode = new Int32Array(column.levels.length).fill(-1);
  const levels: CategoricalModelColumn['levels'] = [];
  column.levels.forEach((level, code) => {
    if ((counts[code] as number) === 0) return;
    levelOfCode[code] = levels.length;
    levels.push({ ...level, frequency: (counts[code] as number) / rows.length, weight: 0 });
  });
  const codes = column.codes;
  return {
    spec: { kind: 'categorical', ...base, levels },
    dense: [],
    group: {
      size: levels.length,
      level: (row) => levelOfCode[codes[row] as number] as number,
      frequencies: levels.map((level) => level.frequency),
      keys: levels.map((level) => keyOf(column.name, `= ${level.key}`)),
    },
  };
}

/**
 * Fits the encoding on `rows` of the dataset and packs those rows (design row t is dataset row
 * `rows[t]`). Dense features come first, column by column; then each one-hot group's levels take
 * consecutive features, in column order, so a row's active features are in increasing order.
 */
export function buildDesign(
  dataset: LabelledDataset,
  transforms: ReadonlyMap<string, readonly FeatureTransform[]>,
  rows: Int32Array,
  options: { shared?: boolean } = {},
): FittedDesign {
  const fitted = dataset.columns.map((column) =>
    fitColumn(column, transforms.get(column.name) ?? ['linear'], rows),
  );
  const denseFeatures = fitted.flatMap((entry) => entry.dense);
  const denseOwner = Int32Array.from(fitted.flatMap((entry, c) => entry.dense.map(() => c)));
  const dense = denseFeatures.length;
  const groups = fitted.flatMap((entry, c) =>
    entry.group ? [{ group: entry.group, owner: c }] : [],
  );
  const sparseOwner = Int32Array.from(groups.map((entry) => entry.owner));
  const sparse = groups.length;
  const firstFeature: number[] = [];
  let next = dense;
  for (const { group } of groups) {
    firstFeature.push(next);
    next += group.size;
  }
  const features = next;
  const centres = new Float64Array(features);
  const keys = [
    ...denseFeatures.map((feature) => feature.key),
    ...groups.flatMap(({ group }) => group.keys),
  ];
  groups.forEach(({ group }, s) => {
    group.frequencies.forEach((frequency, i) => {
      centres[(firstFeature[s] as number) + i] = frequency;
    });
  });
  // Shared memory lets training threads fit on a design built once, without a copy. Only for
  // that: V8 counts it as external memory and collects it late, so throwaway designs stay plain.
  const Buffer = options.shared ? SharedArrayBuffer : ArrayBuffer;
  const denseValues = new Float64Array(new Buffer(rows.length * dense * 8));
  const sparseIndexes = new Int32Array(new Buffer(rows.length * sparse * 4));
  // Feature by feature: each loop calls one reader, which the compiler can inline.
  for (let f = 0; f < dense; f++) {
    const { read } = denseFeatures[f] as DenseFeature;
    for (let t = 0; t < rows.length; t++) denseValues[t * dense + f] = read(rows[t] as number);
  }
  for (let s = 0; s < sparse; s++) {
    const { level } = (groups[s] as (typeof groups)[number]).group;
    const first = firstFeature[s] as number;
    for (let t = 0; t < rows.length; t++) {
      sparseIndexes[t * sparse + s] = first + level(rows[t] as number);
    }
  }
  // Model order, as toModelColumns reads weights: per column its dense features, then its group.
  const modelOrder: number[] = [];
  let denseIndex = 0;
  let groupIndex = 0;
  for (const entry of fitted) {
    for (let i = 0; i < entry.dense.length; i++) modelOrder.push(denseIndex++);
    if (entry.group) {
      const first = firstFeature[groupIndex++] as number;
      for (let i = 0; i < entry.group.size; i++) modelOrder.push(first + i);
    }
  }
  return {
    design: {
      rows: rows.length,
      dense,
      denseValues,
      sparse,
      sparseIndexes,
      features,
      centres,
      keys,
    },
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
      const missing = column.missing && { ...column.missing, weight: next() };
      const bins = column.bins && {
        ...column.bins,
        levels: column.bins.levels.map((level) => ({ ...level, weight: next() })),
      };
      return { ...column, terms, ...(missing ? { missing } : {}), ...(bins ? { bins } : {}) };
    }
    if (column.kind === 'boolean') return { ...column, weight: next() };
    return { ...column, levels: column.levels.map((level) => ({ ...level, weight: next() })) };
  });
  return { intercept, columns };
}

export function featureCountOf(column: ModelColumn): number {
  if (column.kind === 'numeric') {
    return column.terms.length + (column.missing ? 1 : 0) + (column.bins?.levels.length ?? 0);
  }
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
      row[owner] =
        (row[owner] as number) + (beta[level + 1] as number) - (levelCentre[owner] as number);
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

/** A numeric column's bins, ready for scoring: each level's contribution, centred. */
export interface BinTable {
  edges: readonly number[];
  contributions: Float64Array;
  /** The contribution of a blank: its own level's, or none when training had no blanks. */
  blank: number;
}

export function binTable(
  bins: NonNullable<Extract<ModelColumn, { kind: 'numeric' }>['bins']>,
): BinTable {
  let centre = 0;
  for (const level of bins.levels) centre += level.frequency * level.weight;
  const contributions = Float64Array.from(bins.levels, (level) => level.weight - centre);
  const blank = bins.missingLevel ? (contributions[bins.edges.length + 1] as number) : 0;
  return { edges: bins.edges, contributions, blank };
}

/** The contribution of value `x` (NaN for a blank) through `table`. */
export function binContribution(table: BinTable, x: number): number {
  if (Number.isNaN(x)) return table.blank;
  return table.contributions[binOf(table.edges, x)] as number;
}
