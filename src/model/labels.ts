/**
 * Which value of the label column means "churned". Real exports say it many ways: Yes/No,
 * 1/0, TRUE/FALSE, Churned/Active, Cancelled/Renewed; a user can also name the value.
 */
import { CsvInputError } from './errors.js';
import { normaliseHeader } from './headers.js';
import { categoryKey, isMissing, parseBoolean } from './values.js';

export interface LabelReading {
  /** Category keys (see `categoryKey`) that mean churned; any other present value means stayed. */
  positiveKeys: string[];
  /** How the choice was made, for the training report. */
  rule: 'yes/no' | 'churn word' | 'given';
  positives: number;
  negatives: number;
}

/** Values that mean a customer left, in the two-valued label columns of real exports. */
const CHURN_WORDS = new Set([
  'churned',
  'churn',
  'cancelled',
  'canceled',
  'cancel',
  'lost',
  'left',
  'inactive',
  'closed',
  'terminated',
  'lapsed',
  'former',
]);

/**
 * The label column among `headers`: the same text first, then the same normalised name (so
 * "churned?" finds "Churned?"); -1 when there is none.
 */
export function findLabelColumn(headers: readonly string[], labelColumn: string): number {
  const exact = headers.findIndex((header) => header.trim() === labelColumn.trim());
  if (exact !== -1) return exact;
  const wanted = normaliseHeader(labelColumn);
  return wanted === '' ? -1 : headers.findIndex((header) => normaliseHeader(header) === wanted);
}

/** Non-blank label values by category key. */
export function countLabelValues(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const raw of values) {
    if (isMissing(raw)) continue;
    const key = categoryKey(raw);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Why a label cannot be read: callers that saw only some rows judge which reasons still hold. */
export type LabelProblem = 'blank' | 'absent-value' | 'unreadable' | 'one-class' | 'too-few';

export class LabelError extends CsvInputError {
  override name = 'CsvInputError';
  constructor(
    readonly problem: LabelProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Fewer churners (or stayers) than this cannot be learned from or validated in five folds. */
export const MIN_CLASS_ROWS = 10;

function describeValues(counts: Map<string, number>): string {
  const shown = [...counts]
    .slice(0, 8)
    .map(([key, rows]) => `"${key}" (${rows.toLocaleString('en-US')})`);
  return `${shown.join(', ')}${counts.size > 8 ? ', …' : ''}`;
}

/** Decides the churned value from the label's value counts (keys from `categoryKey`). */
export function labelReading(
  labelColumn: string,
  counts: Map<string, number>,
  positiveValue?: string,
): LabelReading {
  let positiveKeys: string[];
  let rule: LabelReading['rule'];
  if (counts.size === 0) {
    throw new LabelError(
      'blank',
      `the label column "${labelColumn}" is blank in every row; fill it in for the customers whose outcome you know.`,
    );
  }
  if (positiveValue !== undefined) {
    const key = categoryKey(positiveValue);
    if (!counts.has(key)) {
      throw new LabelError(
        'absent-value',
        `the label column "${labelColumn}" never holds "${positiveValue}"; its values are ${describeValues(counts)}. Give one of them as the churned value.`,
      );
    }
    positiveKeys = [key];
    rule = 'given';
  } else if ([...counts.keys()].every((key) => parseBoolean(key) !== undefined)) {
    positiveKeys = [...counts.keys()].filter((key) => parseBoolean(key) === 1);
    rule = 'yes/no';
  } else {
    const words = [...counts.keys()].filter((key) => CHURN_WORDS.has(key));
    if (counts.size !== 2 || words.length !== 1) {
      throw new LabelError(
        'unreadable',
        `the label column "${labelColumn}" has the values ${describeValues(counts)}; say which one means churned (positiveValue in the API, --positive-value in the CLI).`,
      );
    }
    positiveKeys = words;
    rule = 'churn word';
  }
  let positives = 0;
  let negatives = 0;
  for (const [key, rows] of counts) {
    if (positiveKeys.includes(key)) positives += rows;
    else negatives += rows;
  }
  if (positives === 0 || negatives === 0) {
    throw new LabelError(
      'one-class',
      `the label column "${labelColumn}" is always ${describeValues(counts)}: a model needs customers who churned and customers who stayed.`,
    );
  }
  if (positives < MIN_CLASS_ROWS || negatives < MIN_CLASS_ROWS) {
    throw new LabelError(
      'too-few',
      `the label column "${labelColumn}" has ${positives} churned and ${negatives} other customers; at least ${MIN_CLASS_ROWS} of each are needed to learn and validate a model.`,
    );
  }
  return { positiveKeys, rule, positives, negatives };
}

/** 1 for a churned customer, else 0 (callers skip blank labels first). */
export function readLabel(reading: LabelReading, raw: string): number {
  const keys = reading.positiveKeys;
  const key = categoryKey(raw);
  return keys.length === 1 ? (key === keys[0] ? 1 : 0) : keys.includes(key) ? 1 : 0;
}
