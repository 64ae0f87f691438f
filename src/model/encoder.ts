/**
 * Turns dataset columns into the model's design matrix: one-hot categoricals and booleans centred
 * on their training frequencies, numerics (and their engineered transforms) standardised, and a
 * missing-value indicator where the training data had blanks. Every feature is centred, so the
 * intercept is the logit of an average customer and coefficient × value is a contribution.
 */
import type { FeatureColumn, LabelledDataset } from './dataset.js';
import type { DesignMatrix } from './logistic.js';
import type { ModelColumn, NumericTransform } from './model-file.js';

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

export interface EncoderFit {
  /** The model's columns with all weights still zero. */
  columns: ModelColumn[];
  featureCount: number;
  /** Design-matrix rows for the given dataset rows. */
  encode(rows: ArrayLike<number>): DesignMatrix;
}

function meanAndScale(values: number[]): { mean: number; scale: number } {
  let sum = 0;
  for (const value of values) sum += value;
  const mean = values.length === 0 ? 0 : sum / values.length;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  const scale = values.length === 0 ? 1 : Math.sqrt(squares / values.length);
  return { mean, scale: scale > 0 ? scale : 1 };
}

function fitColumn(
  column: FeatureColumn,
  transforms: readonly NumericTransform[],
  rows: ArrayLike<number>,
): ModelColumn {
  const base = { name: column.name, synonyms: [] as string[] };
  if (column.kind === 'numeric') {
    const present: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const x = column.values[rows[i] as number] as number;
      if (!Number.isNaN(x)) present.push(x);
    }
    const terms = transforms.map((transform) => ({
      transform,
      ...meanAndScale(present.map((x) => applyTransform(transform, x))),
      weight: 0,
    }));
    const missingShare = (rows.length - present.length) / rows.length;
    return {
      kind: 'numeric',
      ...base,
      terms,
      ...(missingShare > 0 ? { missing: { mean: missingShare, weight: 0 } } : {}),
    };
  }
  if (column.kind === 'boolean') {
    const present: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const x = column.values[rows[i] as number] as number;
      if (!Number.isNaN(x)) present.push(x);
    }
    return {
      kind: 'boolean',
      ...base,
      trueLabel: column.trueLabel,
      falseLabel: column.falseLabel,
      mean: meanAndScale(present).mean,
      weight: 0,
    };
  }
  const counts = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const key = column.keys[rows[i] as number] as string;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const levels = [...counts.keys()].sort().map((key) => ({
    key,
    label: key === '' ? '(blank)' : (column.labels.get(key) ?? key),
    frequency: (counts.get(key) as number) / rows.length,
    weight: 0,
  }));
  return { kind: 'categorical', ...base, levels };
}

export function featureCountOf(column: ModelColumn): number {
  if (column.kind === 'numeric') return column.terms.length + (column.missing ? 1 : 0);
  if (column.kind === 'boolean') return 1;
  return column.levels.length;
}

/** Fits the encoding on the training rows only, so validation rows never leak into it. */
export function fitEncoder(
  dataset: LabelledDataset,
  transforms: ReadonlyMap<string, readonly NumericTransform[]>,
  trainingRows: ArrayLike<number>,
): EncoderFit {
  const columns = dataset.columns.map((column) =>
    fitColumn(column, transforms.get(column.name) ?? ['linear'], trainingRows),
  );
  const featureCount = columns.reduce((sum, column) => sum + featureCountOf(column), 0);
  const levelIndexes = columns.map((column) =>
    column.kind === 'categorical'
      ? new Map(column.levels.map((level, index) => [level.key, index]))
      : undefined,
  );
  const encode = (rows: ArrayLike<number>): DesignMatrix => {
    const values = new Float64Array(rows.length * featureCount);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as number;
      let offset = i * featureCount;
      columns.forEach((spec, c) => {
        const source = dataset.columns[c] as FeatureColumn;
        if (spec.kind === 'numeric' && source.kind === 'numeric') {
          const x = source.values[row] as number;
          const missing = Number.isNaN(x);
          for (const term of spec.terms) {
            values[offset++] = missing
              ? 0
              : (applyTransform(term.transform, x) - term.mean) / term.scale;
          }
          if (spec.missing) values[offset++] = (missing ? 1 : 0) - spec.missing.mean;
        } else if (spec.kind === 'boolean' && source.kind === 'boolean') {
          const x = source.values[row] as number;
          values[offset++] = Number.isNaN(x) ? 0 : x - spec.mean;
        } else if (spec.kind === 'categorical' && source.kind === 'categorical') {
          const level = levelIndexes[c]?.get(source.keys[row] as string);
          spec.levels.forEach((entry, index) => {
            // An unseen category sits at the centre: it contributes nothing either way.
            values[offset++] =
              level === undefined ? 0 : (level === index ? 1 : 0) - entry.frequency;
          });
        }
      });
    }
    return { rows: rows.length, columns: featureCount, values };
  };
  return { columns, featureCount, encode };
}

/** The fitted columns with the solver's weights written into them, in design-matrix order. */
export function withWeights(columns: readonly ModelColumn[], weights: Float64Array): ModelColumn[] {
  let index = 0;
  const next = () => weights[index++] as number;
  return columns.map((column): ModelColumn => {
    if (column.kind === 'numeric') {
      const terms = column.terms.map((term) => ({ ...term, weight: next() }));
      return column.missing
        ? { ...column, terms, missing: { ...column.missing, weight: next() } }
        : { ...column, terms };
    }
    if (column.kind === 'boolean') return { ...column, weight: next() };
    return { ...column, levels: column.levels.map((level) => ({ ...level, weight: next() })) };
  });
}
