/**
 * Scoring a batch of parsed records into output CSV text, and the running tally behind the
 * summary. Shared by the in-thread stream and the worker threads, so both write the same bytes.
 */
import type { Delimiter } from './csv-reader.js';
import { csvCell, csvLine } from './csv-writer.js';
import { CsvInputError } from './errors.js';
import type { RiskTier } from './metrics.js';
import { type RecordScorer, RowError, topContributions } from './scorer.js';

export const OUTPUT_COLUMNS = ['churn_probability', 'risk_tier', 'top_reasons', 'score_error'];

/** A cell of an unquoted comma-separated line that starts like a formula (see csvCell). */
const FORMULA_START = /(?:^|,)[=+\-@\t\r]/;
const KEPT_ERRORS = 5;

/** Counts for one batch or a whole file; plain data so it can cross a worker boundary. */
export interface Tally {
  rows: number;
  scored: number;
  failed: number;
  tiers: Record<RiskTier, number>;
  probabilitySum: number;
  reasonCounts: Map<string, number>;
  unknownCategories: Map<string, number>;
  /** The first few row errors; `row` counts from 1 within the tallied rows. */
  errors: Array<{ row: number; message: string }>;
}

export function emptyTally(): Tally {
  return {
    rows: 0,
    scored: 0,
    failed: 0,
    tiers: { high: 0, medium: 0, low: 0 },
    probabilitySum: 0,
    reasonCounts: new Map(),
    unknownCategories: new Map(),
    errors: [],
  };
}

/** Adds `part` (which covers the rows after `into`'s) to `into`. */
export function addTally(into: Tally, part: Tally): void {
  for (const error of part.errors) {
    if (into.errors.length < KEPT_ERRORS) {
      into.errors.push({ row: into.rows + error.row, message: error.message });
    }
  }
  into.rows += part.rows;
  into.scored += part.scored;
  into.failed += part.failed;
  into.probabilitySum += part.probabilitySum;
  for (const tier of ['high', 'medium', 'low'] as const) into.tiers[tier] += part.tiers[tier];
  for (const [key, rows] of part.reasonCounts) {
    into.reasonCounts.set(key, (into.reasonCounts.get(key) ?? 0) + rows);
  }
  for (const [key, rows] of part.unknownCategories) {
    into.unknownCategories.set(key, (into.unknownCategories.get(key) ?? 0) + rows);
  }
}

/** A file fails as a whole, rather than row by row, when more than this share of rows fail. */
const MAX_FAILED_SHARE = 0.5;
/** Judge the failure share early once this many rows are in, to fail a bad huge file fast. */
const EARLY_JUDGEMENT_ROWS = 1000;

/** Throws when most rows failed (at the end, or early once enough rows are in). */
export function checkFailureShare(tally: Tally, atEnd: boolean): void {
  if (!atEnd && tally.rows < EARLY_JUDGEMENT_ROWS) return;
  if (tally.failed <= MAX_FAILED_SHARE * tally.rows) return;
  const first = tally.errors[0];
  throw new CsvInputError(
    `${tally.failed} of ${tally.rows} rows could not be scored, so the file was rejected; first: row ${first?.row}: ${first?.message}.`,
  );
}

export function headerLine(headers: readonly string[]): string {
  return csvLine([...headers, ...OUTPUT_COLUMNS]);
}

export interface RecordBatch {
  records: string[][];
  /** Raw text of each record that had no quotes (see CsvParser.push), else undefined. */
  lines: Array<string | undefined>;
  delimiter: Delimiter;
}

/** Scores the records of `batch` into `tally` and returns their output lines. */
export function scoreBatch(
  scorer: RecordScorer,
  batch: RecordBatch,
  tally: Tally,
  reasonCount = 3,
): string {
  const width = scorer.headers.length;
  const { records, lines, delimiter } = batch;
  let text = '';
  for (let b = 0; b < records.length; b++) {
    const record = records[b] as string[];
    tally.rows++;
    const raw = lines[b];
    let line: string;
    if (
      raw !== undefined &&
      delimiter === ',' &&
      record.length === width &&
      !FORMULA_START.test(raw)
    ) {
      // Nothing to quote or neutralise: the input line is already its own output.
      line = `${raw},`;
    } else {
      line = '';
      for (let c = 0; c < width; c++) line += `${csvCell(record[c] ?? '')},`;
    }
    try {
      if (record.length !== width) {
        throw new RowError(`the row has ${record.length} fields; the header has ${width}`);
      }
      const row = scorer.score(record);
      const top = topContributions(row.contributions, reasonCount);
      for (const index of top) {
        const kind = scorer.reasonKind(record, index, row.contributions[index] as number);
        tally.reasonCounts.set(kind, (tally.reasonCounts.get(kind) ?? 0) + 1);
      }
      tally.scored++;
      tally.tiers[row.tier]++;
      tally.probabilitySum += row.probability;
      line += `${row.probability.toFixed(4)},${row.tier},${csvCell(scorer.reasons(record, row, top))},\n`;
    } catch (error) {
      if (!(error instanceof RowError)) throw error;
      tally.failed++;
      if (tally.errors.length < KEPT_ERRORS) {
        tally.errors.push({ row: tally.rows, message: error.message });
      }
      line += `,,,${csvCell(error.message)}\n`;
    }
    text += line;
  }
  for (const [column, rows] of scorer.unknownCategories) {
    tally.unknownCategories.set(column, (tally.unknownCategories.get(column) ?? 0) + rows);
  }
  scorer.unknownCategories.clear();
  return text;
}
