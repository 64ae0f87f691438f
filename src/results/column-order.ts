/**
 * Orders by one of the user's own columns (MRR, seats, days since the last login): built on the
 * first request by reading the results file once, then kept, a few bytes a row, for the pages,
 * jumps and exports that follow. The rows index has every other order ready; a user's columns
 * are too many to sort them all for every prediction in advance.
 */
import type { Readable } from 'node:stream';
import { readCsvRecords } from '../model/csv-reader.js';
import { parseNumber } from '../model/values.js';

/** The column has no number in any row: nothing to order by. */
export class NotNumericError extends Error {
  override name = 'NotNumericError';
}

/** The file does not have the rows the index says (another version of it). */
export class ColumnOrderMismatchError extends Error {
  override name = 'ColumnOrderMismatchError';
}

/**
 * Rows (from 0) by the column's numbers, largest first or smallest first, ties in row order;
 * rows without a number in it (blank, text) come last, in row order.
 */
export async function buildColumnOrder(
  csv: Readable,
  options: { column: number; rows: number; descending: boolean; decimalComma: boolean },
): Promise<Uint32Array> {
  const values = new Float64Array(options.rows);
  let row = -1;
  let numbers = 0;
  for await (const batch of readCsvRecords(csv, { delimiter: ',' })) {
    for (const record of batch) {
      if (row >= 0) {
        if (row >= options.rows) throw new ColumnOrderMismatchError('more rows than indexed');
        const value = parseNumber(record[options.column] ?? '', options.decimalComma);
        values[row] = value;
        if (!Number.isNaN(value)) numbers++;
      }
      row++;
    }
  }
  if (row !== options.rows) throw new ColumnOrderMismatchError('fewer rows than indexed');
  if (numbers === 0) throw new NotNumericError('no row has a number in this column');
  const last = options.descending ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  const keys = Float64Array.from(values, (value) => (Number.isNaN(value) ? last : value));
  const order = Uint32Array.from({ length: options.rows }, (_, i) => i);
  // Infinity - Infinity is NaN, which || turns into the row order, as for equal values.
  return options.descending
    ? order.sort((a, b) => (keys[b] as number) - (keys[a] as number) || a - b)
    : order.sort((a, b) => (keys[a] as number) - (keys[b] as number) || a - b);
}

/** Orders built lately, by results file, column and direction; the least recently used go. */
export class ColumnOrderCache {
  private readonly entries = new Map<string, Promise<Uint32Array>>();

  constructor(private readonly maxEntries = 16) {}

  get(key: string, build: () => Promise<Uint32Array>): Promise<Uint32Array> {
    const cached = this.entries.get(key);
    if (cached) {
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const building = build();
    this.entries.set(key, building);
    // A failed build is not kept: the next request tries again (or gets the same clear error).
    building.catch(() => {
      if (this.entries.get(key) === building) this.entries.delete(key);
    });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return building;
  }

  /** Forgets every order of a results file (its prediction was deleted). */
  evict(resultKey: string): void {
    for (const key of this.entries.keys()) {
      if (key.startsWith(`${resultKey}\n`)) this.entries.delete(key);
    }
  }
}
