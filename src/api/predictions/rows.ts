import type { Readable } from 'node:stream';
import type { CustomerChange } from '../../history/changes.js';
import { readCsvRecords } from '../../model/csv-reader.js';
import { customerIdColumn } from '../../model/headers.js';
import { MAX_MONTHLY_REVENUE, PROBABILITY_SCALE } from '../../model/score-batch.js';
import { monthlyRevenueColumn } from '../../model/synonyms.js';
import { parseNumber } from '../../model/values.js';
import { ApiError } from '../errors.js';

export type RowSort =
  | 'probability_desc'
  | 'probability_asc'
  | 'expected_loss_desc'
  | 'column_desc'
  | 'column_asc'
  | 'row';
export type Tier = 'high' | 'medium' | 'low';

export interface RowQuery {
  readonly tier?: Tier;
  /** Rows whose customer moved this way since the previous prediction (indexed results only). */
  readonly change?: CustomerChange;
  /** Rows whose customer id starts with this (case-insensitive). */
  readonly customerId?: string;
  readonly sort: RowSort;
  /** For the column orders: the user's column, by its header. */
  readonly sortColumn?: string;
  /** For the column orders: the rows in that order, built by the rows reader. */
  readonly order?: Uint32Array;
  readonly offset: number;
  readonly limit: number;
  /** The scored file was semicolon-separated: its money has decimal commas. */
  readonly decimalComma?: boolean;
}

export interface ScoredRowView {
  row: number;
  customerId: string | null;
  churnProbability: number | null;
  riskTier: Tier | null;
  /** Probability × the row's monthly revenue; null without a readable revenue or a score. */
  expectedMonthlyLoss: number | null;
  /** What the playbook recommends; null for a row not scored, or results from before actions. */
  recommendedAction: string | null;
  /** From the rows index: the previous prediction's probability, and how the tier moved. */
  previousProbability: number | null;
  change: CustomerChange | null;
  topReasons: string[];
  protectiveFactors: string[];
  error: string | null;
  values: Record<string, string>;
}

/** Changes live in the rows index; results without a version 3 index have none to filter by. */
export function changesUnavailable(): ApiError {
  return new ApiError(
    400,
    'changes_unavailable',
    'This prediction was scored before customers were compared with the previous prediction, so it cannot be filtered by change. Create the prediction again to compare it.',
  );
}

/** Orders by the user's columns are built over the rows index, which old results lack. */
export function columnOrderUnavailable(): ApiError {
  return new ApiError(
    400,
    'order_not_available',
    'This prediction was scored before its rows were indexed, so it cannot be ordered by your own columns. Create the prediction again to order it so.',
  );
}

/**
 * Sorting keeps the best offset+limit rows in memory; deeper pages need a narrower filter. Only
 * for results without a rows index (completed before indexes existed): see rows-indexed.ts.
 */
export const MAX_SORTED_DEPTH = 10_000;

interface Candidate {
  row: number;
  /** What the order ranks: the probability or the expected loss (±Infinity: last). */
  rank: number;
  record: string[];
}

/**
 * Reads one page of a results CSV as JSON rows: filtered by tier and customer id, sorted by
 * probability or file order, counted in full. Streams the file once with bounded memory (the
 * page, plus the best offset+limit rows when sorting by probability).
 */
export async function readResultRows(
  csv: Readable,
  query: RowQuery,
): Promise<{ rows: ScoredRowView[]; total: number }> {
  if (query.change !== undefined) {
    csv.destroy();
    throw changesUnavailable();
  }
  if (query.sort === 'column_desc' || query.sort === 'column_asc') {
    csv.destroy();
    throw columnOrderUnavailable();
  }
  const sorted = query.sort !== 'row';
  const keep = query.offset + query.limit;
  if (sorted && keep > MAX_SORTED_DEPTH) {
    csv.destroy();
    throw new ApiError(
      400,
      'page_too_deep',
      `Pages sorted by risk or expected loss reach ${MAX_SORTED_DEPTH.toLocaleString('en-US')} rows deep for this prediction (scored before its rows were indexed); filter by tier or customer id, or sort by row.`,
    );
  }
  const direction = query.sort === 'probability_asc' ? 1 : -1;
  const byLoss = query.sort === 'expected_loss_desc';
  const prefix = query.customerId?.toLowerCase();
  let header: string[] | undefined;
  let columns: ReturnType<typeof locateColumns> = {
    probability: -1,
    tier: -1,
    reasons: -1,
    protective: -1,
    error: -1,
    action: -1,
    id: -1,
    inputs: 0,
    revenue: -1,
    decimalComma: false,
  };
  let candidates: Candidate[] = [];
  let total = 0;
  let row = 0;
  const byRank = (a: Candidate, b: Candidate) => direction * (a.rank - b.rank) || a.row - b.row;

  // Results are always written comma-separated; detecting could misread a header full of ';'.
  for await (const batch of readCsvRecords(csv, { delimiter: ',' })) {
    for (const record of batch) {
      if (!header) {
        header = record;
        columns = locateColumns(record, query.decimalComma);
        continue;
      }
      row++;
      if (query.tier && record[columns.tier] !== query.tier) continue;
      if (prefix !== undefined && !(record[columns.id] ?? '').toLowerCase().startsWith(prefix))
        continue;
      total++;
      if (!sorted) {
        if (total > query.offset && total <= keep) candidates.push({ row, rank: 0, record });
        continue;
      }
      const rank = byLoss
        ? lossKey(record, columns)
        : Number.parseFloat(record[columns.probability] ?? '');
      // Unscored rows (errors), and rows without a loss, sort last in either direction.
      candidates.push({
        row,
        rank: rank === null || Number.isNaN(rank) ? direction * Number.POSITIVE_INFINITY : rank,
        record,
      });
      if (candidates.length >= 2 * keep + 1024) candidates = candidates.sort(byRank).slice(0, keep);
    }
  }
  if (!header) return { rows: [], total: 0 };
  const page = sorted ? candidates.sort(byRank).slice(query.offset, keep) : candidates;
  const names = header.slice(0, columns.inputs);
  return { rows: page.map((c) => view(c, names, columns)), total };
}

export function locateColumns(header: string[], decimalComma = false) {
  const index = (name: string) => {
    const at = header.lastIndexOf(name);
    if (at < 0) throw new Error(`results file has no ${name} column`);
    return at;
  };
  const probability = index('churn_probability');
  return {
    probability,
    tier: index('risk_tier'),
    reasons: index('top_reasons'),
    // Results written before protective factors existed have no such column.
    protective: header.lastIndexOf('protective_factors'),
    // ...nor before recommended actions.
    action: header.lastIndexOf('recommended_action'),
    error: index('score_error'),
    id: customerIdColumn(header.slice(0, probability)),
    inputs: probability,
    // Found as the scorer found it, among the file's own columns.
    revenue: monthlyRevenueColumn(header.slice(0, probability)),
    decimalComma,
  };
}

/**
 * The expected-loss order's key, exactly as the rows index ranks it (ten-thousandths of the
 * probability as written × whole cents of revenue); null when either is unknown.
 */
function lossKey(record: string[], columns: ReturnType<typeof locateColumns>): number | null {
  if (columns.revenue < 0) return null;
  const probability = Number.parseFloat(record[columns.probability] ?? '');
  const revenue = parseNumber(record[columns.revenue] ?? '', columns.decimalComma);
  if (Number.isNaN(probability) || !(Math.abs(revenue) < MAX_MONTHLY_REVENUE)) return null;
  return Math.round(probability * PROBABILITY_SCALE) * Math.round(revenue * 100);
}

/** Probability as written × the row's monthly revenue, to the cent; null when either is unknown. */
function expectedLoss(record: string[], columns: ReturnType<typeof locateColumns>): number | null {
  const key = lossKey(record, columns);
  return key === null ? null : Math.round(key / PROBABILITY_SCALE) / 100;
}

export function view(
  candidate: Pick<Candidate, 'row' | 'record'>,
  names: string[],
  columns: ReturnType<typeof locateColumns>,
): ScoredRowView {
  const { record } = candidate;
  const probability = Number.parseFloat(record[columns.probability] ?? '');
  const tier = record[columns.tier];
  const reasons = record[columns.reasons] ?? '';
  const protective = columns.protective < 0 ? '' : (record[columns.protective] ?? '');
  const error = record[columns.error] ?? '';
  return {
    row: candidate.row,
    customerId: columns.id >= 0 ? (record[columns.id] ?? null) : null,
    churnProbability: Number.isNaN(probability) ? null : probability,
    riskTier: tier === 'high' || tier === 'medium' || tier === 'low' ? tier : null,
    expectedMonthlyLoss: expectedLoss(record, columns),
    recommendedAction: columns.action < 0 ? null : record[columns.action] || null,
    previousProbability: null,
    change: null,
    topReasons: reasons === '' ? [] : reasons.split('; '),
    protectiveFactors: protective === '' ? [] : protective.split('; '),
    error: error === '' ? null : error,
    values: valuesOf(names, record),
  };
}

/** The row's own columns by name; a plain loop, since Object.fromEntries was 5x slower here. */
function valuesOf(names: readonly string[], record: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) values[names[i] as string] = record[i] ?? '';
  return values;
}
