/**
 * How each column of a training file is read: decided once from (a sample of) its raw values,
 * then applied to every row. Training, the fit report and scoring all parse values through a
 * plan, so a column means the same thing everywhere.
 */
import { type DateOrder, inferTemporal, parseDateDays, parseDurationDays } from './dates.js';
import { looksLikeIdentifier } from './headers.js';
import { categoryKey, isMissing, parseBoolean, parseNumber } from './values.js';

/** Where a numeric column's values come from when the file does not hold plain numbers. */
export type NumericSource = { kind: 'date'; order: DateOrder } | { kind: 'duration' };

export type ColumnPlan =
  | { kind: 'numeric'; name: string; source?: NumericSource; evidence?: string }
  | { kind: 'boolean'; name: string }
  | { kind: 'categorical'; name: string }
  | { kind: 'skipped'; name: string; reason: string };

/** A categorical column with more levels than this is an identifier or free text. */
export const MAX_LEVELS = 50;
/** Share of present values that must read as numbers (or dates, durations) for that kind. */
const PARSED_SHARE = 0.95;

/**
 * The value of a numeric column as a number: plain numbers in the file's notation, dates as days
 * before `asOfDays` (so "last login" becomes "days since last login"), durations in days. NaN
 * when the cell does not parse; callers check `isMissing` first.
 */
export function numericReader(
  source: NumericSource | undefined,
  decimalComma: boolean,
  asOfDays: number,
): (raw: string) => number {
  if (source === undefined) return (raw) => parseNumber(raw, decimalComma);
  if (source.kind === 'duration') return parseDurationDays;
  const order = source.order;
  return (raw) => asOfDays - parseDateDays(raw, order);
}

export function planColumn(
  name: string,
  raws: readonly string[],
  decimalComma: boolean,
): ColumnPlan {
  if (looksLikeIdentifier(name)) return { kind: 'skipped', name, reason: 'identifier' };
  const present = raws.filter((raw) => !isMissing(raw));
  if (present.length === 0) return { kind: 'skipped', name, reason: 'always blank' };
  const booleans = new Set(present.map(parseBoolean));
  if (!booleans.has(undefined) && booleans.size === 2) return { kind: 'boolean', name };
  const numbers = present.map((raw) => parseNumber(raw, decimalComma));
  if (numbers.filter((value) => !Number.isNaN(value)).length >= PARSED_SHARE * present.length) {
    return new Set(numbers).size < 2
      ? { kind: 'skipped', name, reason: 'constant' }
      : { kind: 'numeric', name };
  }
  const temporal = inferTemporal(present);
  if (temporal?.kind === 'date') {
    return {
      kind: 'numeric',
      name,
      source: { kind: 'date', order: temporal.order },
      evidence: temporal.evidence,
    };
  }
  if (temporal?.kind === 'duration') {
    return { kind: 'numeric', name, source: { kind: 'duration' }, evidence: temporal.evidence };
  }
  if (temporal !== undefined) {
    return {
      kind: 'skipped',
      name,
      reason: `${temporal.evidence}; write the dates as YYYY-MM-DD to use them`,
    };
  }
  const levels = new Set(raws.map((raw) => (isMissing(raw) ? '' : categoryKey(raw))));
  if (levels.size > MAX_LEVELS) {
    return {
      kind: 'skipped',
      name,
      reason: `${levels.size} distinct values: an identifier or free text`,
    };
  }
  if (levels.size < 2) return { kind: 'skipped', name, reason: 'constant' };
  return { kind: 'categorical', name };
}
