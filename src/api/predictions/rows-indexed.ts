/**
 * Pages of a results CSV served through its rows index: the index picks the page's rows, their
 * lines are read with a few ranged reads (neighbours coalesced, reads in parallel) and parsed
 * with the same CSV reader as the streaming path, so a page costs the same at row 10 or at row
 * 1,000,000.
 */
import type { BlobStore } from '../../blobs/port.js';
import { changeName, NO_PREVIOUS } from '../../history/changes.js';
import { CsvParser } from '../../model/csv-reader.js';
import { PROBABILITY_SCALE } from '../../model/score-batch.js';
import type { RowsIndex } from '../../results/rows-index.js';
import { selectRows } from '../../results/rows-query.js';
import { locateColumns, type RowQuery, type ScoredRowView, view } from './rows.js';

/** A coalesced read stops growing here, so a sparse page never reads megabytes it skips. */
const MAX_READ_BYTES = 2 * 1024 * 1024;

/** The index does not describe the results file it was read against. */
export class RowsIndexMismatchError extends Error {
  override name = 'RowsIndexMismatchError';
}

interface Read {
  start: number;
  end: number;
  rows: number[];
}

export async function readIndexedRows(
  blobs: BlobStore,
  resultKey: string,
  index: RowsIndex,
  query: RowQuery,
): Promise<{ rows: ScoredRowView[]; total: number }> {
  const page = selectRows(index, query);
  const rows = await readRowsAt(blobs, resultKey, index, page.rows, query.decimalComma);
  return { rows, total: page.total };
}

/** The given rows (from 0) as JSON rows, in the order given. */
export async function readRowsAt(
  blobs: BlobStore,
  resultKey: string,
  index: RowsIndex,
  wanted: readonly number[],
  decimalComma?: boolean,
): Promise<ScoredRowView[]> {
  const header = parseRecords(index.header);
  if (header.length !== 1) throw new RowsIndexMismatchError('the index has no header line');
  const columns = locateColumns(header[0] as string[], decimalComma);
  const names = (header[0] as string[]).slice(0, columns.inputs);
  const width = (header[0] as string[]).length;

  const lines = await readRowLines(blobs, resultKey, index, wanted);
  return wanted.map((row) => {
    const bytes = lines.get(row) as Buffer;
    const records = bytes.at(-1) === 0x0a ? parseRecords(bytes.toString('utf8')) : [];
    if (records.length !== 1 || (records[0] as string[]).length !== width) {
      throw new RowsIndexMismatchError(`row ${row + 1} is not where the index says`);
    }
    const record = records[0] as string[];
    return withChange(view({ row: row + 1, record }, names, columns), index, row);
  });
}

/** The row's previous probability and change, as the index holds them (version 3 on). */
function withChange(row: ScoredRowView, index: RowsIndex, at: number): ScoredRowView {
  if (!index.previous || !index.changes) return row;
  const previous = index.previous[at] as number;
  row.previousProbability = previous === NO_PREVIOUS ? null : previous / PROBABILITY_SCALE;
  row.change = changeName(index.changes[at] as number);
  return row;
}

/**
 * The results file's bytes of each of `rows` (their lines, newline included): a few ranged
 * reads, neighbours coalesced, reads in parallel.
 */
export async function readRowLines(
  blobs: BlobStore,
  resultKey: string,
  index: RowsIndex,
  rows: readonly number[],
): Promise<Map<number, Buffer>> {
  const { coalesceGapBytes, parallelReads } = blobs.capabilities.rangeReads;
  const reads = coalesce(index, rows, coalesceGapBytes);
  const lines = new Map<number, Buffer>();
  let next = 0;
  const worker = async () => {
    while (next < reads.length) {
      const read = reads[next++] as Read;
      const bytes = await blobs.getRange(resultKey, read.start, read.end);
      for (const row of read.rows) {
        const from = (index.offsets[row] as number) - read.start;
        const to = (index.offsets[row + 1] as number) - read.start;
        lines.set(row, bytes.subarray(from, to));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelReads, reads.length) }, worker));
  return lines;
}

/** The CSV records of some whole lines of a results file. */
export function parseRecords(text: string): string[][] {
  const records: string[][] = [];
  new CsvParser(',').push(text, true, records);
  return records;
}

/** The page's byte ranges in file order, neighbours merged. */
function coalesce(index: RowsIndex, rows: readonly number[], gapBytes: number): Read[] {
  const byOffset = [...rows].sort((a, b) => a - b);
  const reads: Read[] = [];
  for (const row of byOffset) {
    const start = index.offsets[row] as number;
    const end = index.offsets[row + 1] as number;
    const last = reads.at(-1);
    if (last && start - last.end <= gapBytes && end - last.start <= MAX_READ_BYTES) {
      last.end = Math.max(last.end, end);
      last.rows.push(row);
    } else {
      reads.push({ start, end, rows: [row] });
    }
  }
  return reads;
}
