/**
 * Picking one page of rows from a rows index: filter by tier and customer-id prefix, order by
 * probability (either way) or file order, skip and take. The same rows, in the same order, as
 * the streaming reader in src/api/predictions/rows.ts finds.
 */

import { CHANGE_CODES, type CustomerChange } from '../history/changes.js';
import type { RiskTier } from '../model/metrics.js';
import { PROBABILITY_SCALE, TIER_CODES } from '../model/score-batch.js';
import { type RowsIndex, UNSCORED } from './rows-index.js';

export type RowOrder =
  | 'probability_desc'
  | 'probability_asc'
  | 'expected_loss_desc'
  | 'column_desc'
  | 'column_asc'
  | 'row';

/** The index has no order for this query (a version 1 index asked for the expected-loss order). */
export class MissingOrderError extends Error {
  override name = 'MissingOrderError';
}

export interface IndexQuery {
  readonly tier?: RiskTier;
  /** Rows whose customer moved this way since the previous prediction. */
  readonly change?: CustomerChange;
  /** Customer ids starting with this, ignoring case. */
  readonly customerId?: string;
  readonly sort: RowOrder;
  /** For the column orders: the rows in that order (column-order.ts). */
  readonly order?: Uint32Array;
  readonly offset: number;
  readonly limit: number;
}

export interface IndexPage {
  /** Row numbers from 0, in page order. */
  readonly rows: number[];
  /** Rows matching the filters, over all pages. */
  readonly total: number;
}

const ROW_SPACE = 2 ** 32;

export function selectRows(index: RowsIndex, query: IndexQuery): IndexPage {
  checkIndexServes(index, query);
  const tier = query.tier === undefined ? undefined : TIER_CODES[query.tier];
  const keep = rowFilter(index, query);
  if (query.customerId !== undefined) return byPrefix(index, query, keep);
  const end = query.offset + query.limit;
  if (keep === undefined) {
    const rows: number[] = [];
    for (let k = query.offset; k < Math.min(end, index.rows); k++) {
      rows.push(rowAt(index, query.sort, k, query.order));
    }
    return { rows, total: index.rows };
  }
  // A tier is a band of probability only up to rounding, so walk the order and count matches:
  // a deep page costs one pass over a byte per row (milliseconds at a million rows).
  // Totals per tier and per change are known; for both at once, count to the end (a byte a row).
  const known =
    query.change === undefined
      ? index.tierCounts[tier as 1 | 2 | 3]
      : tier === undefined
        ? changeCounts(index)[CHANGE_CODES[query.change]]
        : undefined;
  const stopAtPage = known !== undefined;
  const rows: number[] = [];
  let matched = 0;
  for (let k = 0; k < index.rows && !(stopAtPage && matched >= end); k++) {
    const row = rowAt(index, query.sort, k, query.order);
    if (!keep(row)) continue;
    if (matched >= query.offset && matched < end) rows.push(row);
    matched++;
  }
  return { rows, total: known ?? matched };
}

const changeCountCache = new WeakMap<RowsIndex, Uint32Array>();

/** Rows per change code, counted once per loaded index. */
function changeCounts(index: RowsIndex): Uint32Array {
  let counts = changeCountCache.get(index);
  if (!counts) {
    counts = new Uint32Array(256);
    for (const code of index.changes ?? []) (counts[code] as number)++;
    changeCountCache.set(index, counts);
  }
  return counts;
}

/** Throws MissingOrderError when the index is too old for the query's order or filters. */
function checkIndexServes(
  index: RowsIndex,
  query: Pick<IndexQuery, 'sort' | 'change' | 'order'>,
): void {
  if ((query.sort === 'column_desc' || query.sort === 'column_asc') && !query.order) {
    throw new Error('a column order needs its rows');
  }
  if (query.sort === 'expected_loss_desc' && !index.byLoss) {
    throw new MissingOrderError('the rows index predates the expected-loss order');
  }
  if (query.change !== undefined && !index.changes) {
    throw new MissingOrderError('the rows index predates customer changes');
  }
}

/** Whether a row passes the tier and change filters; undefined when there are none. */
function rowFilter(
  index: RowsIndex,
  query: Pick<IndexQuery, 'tier' | 'change'>,
): ((row: number) => boolean) | undefined {
  const tier = query.tier === undefined ? undefined : TIER_CODES[query.tier];
  const change = query.change === undefined ? undefined : CHANGE_CODES[query.change];
  const changes = index.changes;
  if (tier === undefined && change === undefined) return undefined;
  return (row) =>
    (tier === undefined || index.tiers[row] === tier) &&
    (change === undefined || (changes as Uint8Array)[row] === change);
}

/**
 * Every row matching the filters, in the given order: what an export of a view writes. One pass
 * over the order (the ascending one built level by level), whatever the depth.
 */
export function allMatchingRows(
  index: RowsIndex,
  query: Pick<IndexQuery, 'tier' | 'change' | 'customerId' | 'sort' | 'order'>,
): Uint32Array {
  checkIndexServes(index, query);
  const keep = rowFilter(index, query);
  let wanted: Uint8Array | undefined;
  if (query.customerId !== undefined) {
    wanted = new Uint8Array(index.rows);
    const [from, to] = prefixRange(index, Buffer.from(query.customerId.toLowerCase(), 'utf8'));
    for (let k = from; k < to; k++) wanted[index.idOrder[k] as number] = 1;
  }
  const rows = new Uint32Array(index.rows);
  let count = 0;
  const take = (row: number) => {
    if (keep && !keep(row)) return;
    if (wanted && wanted[row] !== 1) return;
    rows[count++] = row;
  };
  if (query.sort === 'row') {
    for (let row = 0; row < index.rows; row++) take(row);
  } else if (query.sort === 'probability_desc') {
    for (const row of index.byProbability) take(row);
  } else if (query.sort === 'expected_loss_desc') {
    for (const row of index.byLoss as Uint32Array) take(row);
  } else if (query.order) {
    for (const row of query.order) take(row);
  } else {
    // Each level's rows are in row order in byProbability; the rows not scored close it.
    for (let p = 0; p <= PROBABILITY_SCALE; p++) {
      const start = index.levelStarts[p] as number;
      for (let k = start; k < start + (index.levelCounts[p] as number); k++) {
        take(index.byProbability[k] as number);
      }
    }
    for (let k = index.rows - index.tierCounts[0]; k < index.rows; k++) {
      take(index.byProbability[k] as number);
    }
  }
  return rows.subarray(0, count);
}

/** The k-th row (from 0) in the given order, over all rows. */
export function rowAt(index: RowsIndex, sort: RowOrder, k: number, order?: Uint32Array): number {
  if (sort === 'row') return k;
  if (order && (sort === 'column_desc' || sort === 'column_asc')) return order[k] as number;
  if (sort === 'probability_desc') return index.byProbability[k] as number;
  if (sort === 'expected_loss_desc') return (index.byLoss as Uint32Array)[k] as number;
  // Ascending keeps ties in row order, so it is not the reverse of descending: walk the
  // probability levels upwards (at most 10,001 of them), then the rows not scored.
  let skip = k;
  for (let p = 0; p <= PROBABILITY_SCALE; p++) {
    const count = index.levelCounts[p] as number;
    if (skip < count) return index.byProbability[(index.levelStarts[p] as number) + skip] as number;
    skip -= count;
  }
  return index.byProbability[index.rows - index.tierCounts[0] + skip] as number;
}

function byPrefix(
  index: RowsIndex,
  query: IndexQuery,
  keep: ((row: number) => boolean) | undefined,
): IndexPage {
  const prefix = Buffer.from((query.customerId ?? '').toLowerCase(), 'utf8');
  const [from, to] = prefixRange(index, prefix);
  const matches: number[] = [];
  for (let k = from; k < to; k++) {
    const row = index.idOrder[k] as number;
    if (!keep || keep(row)) matches.push(row);
  }
  let ordered: ArrayLike<number>;
  if (query.sort === 'row') {
    ordered = Uint32Array.from(matches).sort();
  } else if (query.sort === 'expected_loss_desc' || query.order) {
    const position = query.order
      ? positionsIn(query.order)
      : positionsIn(index.byLoss as Uint32Array);
    ordered = Uint32Array.from(matches).sort(
      (a, b) => (position[a] as number) - (position[b] as number),
    );
  } else {
    // One number per row that sorts like (rank, row): exact, since both fit in 53 bits.
    const descending = query.sort === 'probability_desc';
    const keys = new Float64Array(matches.length);
    matches.forEach((row, i) => {
      const p = index.probabilities[row] as number;
      const rank = p === UNSCORED ? PROBABILITY_SCALE + 1 : descending ? PROBABILITY_SCALE - p : p;
      keys[i] = rank * ROW_SPACE + row;
    });
    keys.sort();
    ordered = keys.map((key) => key % ROW_SPACE);
  }
  const rows: number[] = [];
  for (let i = query.offset; i < Math.min(ordered.length, query.offset + query.limit); i++) {
    rows.push(ordered[i] as number);
  }
  return { rows, total: matches.length };
}

const positionCache = new WeakMap<Uint32Array, Uint32Array>();

/** Each row's place in an order (expected loss, a column), computed once per loaded order. */
function positionsIn(order: Uint32Array): Uint32Array {
  let positions = positionCache.get(order);
  if (!positions) {
    positions = new Uint32Array(order.length);
    for (let k = 0; k < order.length; k++) positions[order[k] as number] = k;
    positionCache.set(order, positions);
  }
  return positions;
}

/** Positions [from, to) in idOrder of the ids that start with `prefix` (bytes, lower-cased). */
export function prefixRange(index: RowsIndex, prefix: Uint8Array): [number, number] {
  // First id >= prefix, then the first id past every id that starts with it.
  const from = lowerBound(index, prefix, false);
  const to = lowerBound(index, prefix, true);
  return [from, to];
}

function lowerBound(index: RowsIndex, prefix: Uint8Array, pastPrefix: boolean): number {
  let lo = 0;
  let hi = index.rows;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareId(index, mid, prefix, pastPrefix);
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Compares the k-th sorted id with the prefix; with `pastPrefix`, an id that starts with the
 * prefix counts as before it, so the bound lands after all of them.
 */
function compareId(index: RowsIndex, k: number, prefix: Uint8Array, pastPrefix: boolean): number {
  const start = index.idStarts[k] as number;
  const length = (index.idStarts[k + 1] as number) - start;
  const n = Math.min(length, prefix.length);
  for (let i = 0; i < n; i++) {
    const d = (index.idText[start + i] as number) - (prefix[i] as number);
    if (d !== 0) return d;
  }
  if (length < prefix.length) return -1;
  return pastPrefix ? -1 : length === prefix.length ? 0 : 1;
}
