/**
 * Reasons people can read (issue 14, item 3): from each source column's exact additive
 * contribution to the logit, the inputs that raise a customer's risk most (`top_reasons`) and the
 * ones that lower it most (`protective_factors`), each with its direction and strength in words.
 * Picking and phrasing live here, for every model family; the scorer supplies the contributions,
 * what a row says in a column ("Contract is Month-to-month") and which of its cells were blanks
 * that mean nothing.
 *
 * A reason reads `Contract is Month-to-month: strongly raises risk (+0.79)`. The number is the
 * contribution to the log-odds, kept for machines and for people who check the arithmetic (with
 * the model's intercept the contributions sum to the logit). It stays at the end in the
 * parentheses it always had, so a pattern that pulled it out of older results still does; and the
 * wording adds no comma, so the cell stays unquoted (unless a value itself holds one) and the
 * file stays small.
 */
import type { ModelColumn } from './model-file.js';

/** How many reasons a row gets in `top_reasons` (raising) and `protective_factors` (lowering). */
export const RAISING_REASONS = 3;
export const PROTECTIVE_FACTORS = 2;

/*
 * Strength bands, in hundredths of a logit, of the contribution AS WRITTEN (so the words and the
 * number agree at every edge). A contribution c multiplies the odds of churning by e^c; near a
 * 50% customer it moves the probability by about c/4.
 * - under 0.05 (odds ×1.05, about 1 point): not a reason at all. Telco's gender moves customers by
 *   ±0.01; nobody should act on that, and listing it hides the reasons that matter.
 * - 0.05 up to 0.25 (odds up to ×1.28, up to ~6 points): "slightly".
 * - 0.25 up to 0.75 (odds up to ×2.1, up to ~18 points): plain "raises risk" / "lowers risk".
 * - 0.75 and more (odds more than doubled): "strongly". On Telco the inputs that matter most
 *   (tenure, MonthlyCharges, InternetService, Contract) spread customers by 0.7-0.8 (the model
 *   file's training.importance), so "strongly" is a push as large as the strongest inputs' spread.
 */
const NOT_A_REASON_BELOW = 5;
const SLIGHTLY_BELOW = 25;
const STRONGLY_FROM = 75;

/**
 * A blank is a reason only when the model learned that "not recorded" itself moves risk by at
 * least this much (logit; odds ×1.65). A missing-value indicator fitted on data where blanks mean
 * nothing still gets a weight from noise, of about 1/√(n·p(1−p)): 0.16 with 200 blank training
 * rows at Telco's 27% churn rate, so 0.5 is about three of those. 0.5 is also the middle of the
 * "raises risk" band: a push a customer-success manager would act on (by getting the data).
 * Below it a blank is scored exactly as the model says but never shown as a reason.
 */
export const MISSING_SIGNAL = 0.5;

const RAISING_WORDS = ['slightly raises risk', 'raises risk', 'strongly raises risk'] as const;
const LOWERING_WORDS = ['slightly lowers risk', 'lowers risk', 'strongly lowers risk'] as const;

/** |contribution| as written: whole hundredths of a logit. */
function hundredths(contribution: number): number {
  return Math.round(Math.abs(contribution) * 100);
}

/** Whether a contribution is large enough (as written) to be a reason either way. */
export function isReason(contribution: number): boolean {
  // Math.round(100|c|) >= 5 exactly when 100|c| >= 4.5; this runs for every column of every row.
  return Math.abs(contribution) * 100 >= NOT_A_REASON_BELOW - 0.5;
}

/** "strongly raises risk", "slightly lowers risk", ...: direction and strength in words. */
export function strengthWords(contribution: number): string {
  const size = hundredths(contribution);
  const band = size < SLIGHTLY_BELOW ? 0 : size < STRONGLY_FROM ? 1 : 2;
  return (contribution > 0 ? RAISING_WORDS : LOWERING_WORDS)[band];
}

/** "+1.23", "-0.45": the contribution to the logit as written, always signed. */
export function formatContribution(contribution: number): string {
  const size = hundredths(contribution);
  return `${contribution < 0 && size > 0 ? '-' : '+'}${(size / 100).toFixed(2)}`;
}

/** "Contract is Month-to-month: strongly raises risk (+0.79)". */
export function phraseReason(label: string, contribution: number): string {
  return `${label}: ${strengthWords(contribution)} (${formatContribution(contribution)})`;
}

/** "tenure is 1": a value as the file spells it (its decimal comma, its units). */
export function valueLabel(name: string, raw: string): string {
  return `${name} is ${raw.trim()}`;
}

/** "Support Tickets (90d) not recorded": a blank the model learned to read as a signal. */
export function notRecordedLabel(name: string): string {
  return `${name} not recorded`;
}

/** What the summary counts a numeric reason as: its values vary, so the column alone. */
export function raisesRiskKind(name: string): string {
  return `${name} raises risk`;
}

/** "Last Login 36 days ago", "Signup Date 3.4 years ago", "Renewal Date in 5 months". */
export function dateLabel(name: string, daysAgo: number): string {
  const days = Math.round(daysAgo);
  if (days === 0) return `${name} today`;
  return days > 0 ? `${name} ${timeSpan(days)} ago` : `${name} in ${timeSpan(-days)}`;
}

const DAYS_PER_MONTH = 365.25 / 12;

/** Days under 60, months under two years, then years (one decimal under ten). */
function timeSpan(days: number): string {
  if (days < 60) return days === 1 ? '1 day' : `${days} days`;
  if (days < 730) return `${Math.round(days / DAYS_PER_MONTH)} months`;
  const years = days / 365.25;
  return `${years < 10 ? Math.round(years * 10) / 10 : Math.round(years)} years`;
}

/**
 * What the model learned a blank in `column` does to the logit: a numeric column's missing-value
 * weight (a blank against a recorded value at the training mean) or its blank bin, a categorical
 * column's blank level (each against the average customer); booleans score a blank as average.
 */
export function learnedBlankEffect(column: ModelColumn): number {
  if (column.kind === 'boolean') return 0;
  if (column.kind === 'numeric') {
    const bins = column.bins;
    const blankBin = bins?.missingLevel ? levelEffect(bins.levels, bins.edges.length + 1) : 0;
    return (column.missing?.weight ?? 0) + blankBin;
  }
  return levelEffect(
    column.levels,
    column.levels.findIndex((level) => level.key === ''),
  );
}

/** A one-hot level's weight less the frequency-weighted mean of its group; 0 for no level. */
function levelEffect(
  levels: ReadonlyArray<{ frequency: number; weight: number }>,
  at: number,
): number {
  const level = levels[at];
  if (level === undefined) return 0;
  let centre = 0;
  for (const { frequency, weight } of levels) centre += frequency * weight;
  return level.weight - centre;
}

/** Whether a blank in `column` is a reason: see MISSING_SIGNAL. */
export function blankIsSignal(column: ModelColumn): boolean {
  return Math.abs(learnedBlankEffect(column)) >= MISSING_SIGNAL;
}

/**
 * The source column of each feature a model family scores with. Reasons are per source column
 * ("engineered features of one column are one reason"), so a family with several features per
 * column (bins or splines of one number, two readings of one date, a tree's splits) has them
 * summed into their column before reasons are picked. The logistic family's contributions are
 * already one per column: `identity`, which costs nothing.
 */
export class SourceColumns {
  private constructor(
    /** Source column of each feature; undefined for the identity. */
    private readonly columnOf: Int32Array | undefined,
    readonly columns: number,
  ) {}

  static identity(columns: number): SourceColumns {
    return new SourceColumns(undefined, columns);
  }

  static of(columnOf: readonly number[], columns: number): SourceColumns {
    for (const column of columnOf) {
      if (!(Number.isInteger(column) && column >= 0 && column < columns)) {
        throw new RangeError(`feature column ${column} is not one of ${columns} columns`);
      }
    }
    return new SourceColumns(Int32Array.from(columnOf), columns);
  }

  /** Contributions per source column: `features` itself for the identity, else summed into `into`. */
  sum(features: Float64Array, into: Float64Array): Float64Array {
    const columnOf = this.columnOf;
    if (columnOf === undefined) return features;
    into.fill(0);
    for (let f = 0; f < columnOf.length; f++) {
      (into[columnOf[f] as number] as number) += features[f] as number;
    }
    return into;
  }
}

/**
 * Writes to `into` the columns with the `count` largest contributions of one sign (1: raising,
 * -1: lowering) that are reasons (see isReason; `silent` columns never are), largest first, ties
 * in column order; returns how many. Allocates nothing: it runs for every scored row.
 */
export function pickReasons(
  contributions: Float64Array,
  silent: Uint8Array,
  sign: 1 | -1,
  count: number,
  into: Int32Array,
): number {
  let picked = 0;
  for (let i = 0; i < contributions.length; i++) {
    const size = sign * (contributions[i] as number);
    if (size <= 0 || silent[i] === 1 || !isReason(size)) continue;
    let position = picked;
    while (position > 0 && sign * (contributions[into[position - 1] as number] as number) < size) {
      position--;
    }
    if (position >= count) continue;
    for (let k = Math.min(picked, count - 1); k > position; k--) into[k] = into[k - 1] as number;
    into[position] = i;
    if (picked < count) picked++;
  }
  return picked;
}
