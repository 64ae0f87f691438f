/**
 * How well each column alone ranks churners (its ROC AUC, either direction): the yardstick the
 * model card compares the model with, and the check for a leak, a column recorded because the
 * customer churned (a cancellation date, a "reason for leaving") that predicts the label almost
 * perfectly and makes a model look far better than it is.
 */
import type { FeatureColumn } from './dataset.js';
import { rocAuc } from './metrics.js';

/** A single column this good is almost surely a leak rather than a signal. */
export const LEAK_AUC = 0.97;

export interface SingleColumnAuc {
  column: string;
  rocAuc: number;
}

/** A column's value per row, blanks at `blank` (lowest or highest: blanks may mean either). */
function values(
  column: Exclude<FeatureColumn, { kind: 'categorical' }>,
  rows: Int32Array,
  blank: number,
): Float64Array {
  return Float64Array.from(rows, (row) => {
    const x = column.values[row] as number;
    return Number.isNaN(x) ? blank : x;
  });
}

/** ROC AUC in the better direction: a column that ranks churners last is as telling. */
function eitherWay(labels: Float64Array, scores: Float64Array): number {
  const auc = rocAuc(labels, scores);
  return Number.isNaN(auc) ? 0.5 : Math.max(auc, 1 - auc);
}

/** A category's churn rate among the other rows. */
function categoryRates(
  column: Extract<FeatureColumn, { kind: 'categorical' }>,
  rows: Int32Array,
  labels: Float64Array,
): Float64Array {
  const churned = new Float64Array(column.levels.length);
  const seen = new Float64Array(column.levels.length);
  rows.forEach((row, i) => {
    const code = column.codes[row] as number;
    churned[code] = (churned[code] as number) + (labels[i] as number);
    seen[code] = (seen[code] as number) + 1;
  });
  // Leave-one-out: a row's own label never scores it, or a column of tiny categories (one or two
  // customers each) would look like a perfect predictor by construction.
  const base = labels.reduce((sum, label) => sum + label, 0) / labels.length;
  return Float64Array.from(rows, (row, i) => {
    const code = column.codes[row] as number;
    const others = (seen[code] as number) - 1;
    return others === 0 ? base : ((churned[code] as number) - (labels[i] as number)) / others;
  });
}

/** ROC AUC of every column alone on `rows` (labels given for those rows), best first. */
export function singleColumnAucs(
  columns: readonly FeatureColumn[],
  rows: Int32Array,
  labels: Float64Array,
): SingleColumnAuc[] {
  return columns
    .map((column) => ({
      column: column.name,
      rocAuc:
        column.kind === 'categorical'
          ? eitherWay(labels, categoryRates(column, rows, labels))
          : Math.max(
              eitherWay(labels, values(column, rows, Number.NEGATIVE_INFINITY)),
              eitherWay(labels, values(column, rows, Number.POSITIVE_INFINITY)),
            ),
    }))
    .sort((a, b) => b.rocAuc - a.rocAuc);
}

/** What to check before trusting a model: each column that alone predicts the label too well. */
export function leakWarnings(aucs: readonly SingleColumnAuc[] | undefined): string[] {
  return (aucs ?? [])
    .filter((entry) => entry.rocAuc >= LEAK_AUC)
    .map(
      (entry) =>
        `"${entry.column}" alone predicts the label almost perfectly (ROC AUC ${entry.rocAuc.toFixed(3)}): it is probably recorded because customers churned (a leak, such as a cancellation date). Remove it from the file and train again, or the model will look far better than it is.`,
    );
}
