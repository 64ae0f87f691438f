/**
 * Scoring parsed records into output CSV lines (UTF-8 bytes), and the running tally behind the
 * summary. Shared by the in-thread stream and the worker threads, so both write the same bytes.
 */

import { ByteOutput } from './byte-output.js';
import type { Delimiter } from './csv-reader.js';
import { csvCell, csvLine, neutraliseCell, startsLikeFormula } from './csv-writer.js';
import { CsvInputError } from './errors.js';
import type { RiskTier } from './metrics.js';
import { PROTECTIVE_FACTORS } from './reasons.js';
import { type RecordScorer, RowError } from './scorer.js';
import { currencyOf } from './values.js';

/**
 * Appended to the input's columns, in this order. Readers find them by name (the last of each
 * name: an input may have a column of the same name), so a results file without
 * protective_factors (written before it existed) still reads.
 */
export const OUTPUT_COLUMNS = [
  'churn_probability',
  'risk_tier',
  'top_reasons',
  'protective_factors',
  'score_error',
  'recommended_action',
];

const KEPT_ERRORS = 5;

/** The results file writes probabilities with 4 decimals: whole ten-thousandths. */
export const PROBABILITY_SCALE = 10_000;
/** The summary's histogram: bands of 0.05 over [0, 1], the last one closed. */
export const HISTOGRAM_BINS = 20;
/** Revenue this large per customer and month is a unit mistake, not a price; it is not summed. */
export const MAX_MONTHLY_REVENUE = 1e9;
/** Below this an integer sum of Numbers is still exact; see scoreBatch. */
const EXACT_LIMIT = 2 ** 52;

/** Risk tiers as the rows index stores them; 0 is a row that was not scored. */
export const TIER_CODES: Readonly<Record<RiskTier, number>> = { high: 1, medium: 2, low: 3 };

/**
 * Revenue sums in whole units (cents; ten-thousandths × cents for the expected loss), as bigints,
 * so that they come out the same however the rows were cut into batches or threads.
 */
export interface RevenueTally {
  cents: bigint;
  lossMicros: bigint;
  highCents: bigint;
  /** The currency each of the first revenue values names (see currencyOf), '' for none. */
  currencies: Map<string, number>;
}

/** Revenue values per tally whose currency is looked at: the first few tell. */
const CURRENCY_SAMPLES = 50;

/**
 * What the rows index needs of each output row, in output order (see src/results/). Plain data,
 * so that it can cross a worker boundary.
 */
export interface RowFacts {
  /** UTF-8 bytes of the row's output line (more than one line when a quoted cell holds one). */
  bytes: number[];
  /** The probability in ten-thousandths as written, or -1 for a row that was not scored. */
  probabilities: number[];
  /** TIER_CODES, 0 for a row that was not scored. */
  tiers: number[];
  /** The customer id cell as the output holds it; '' when the file has no id column. */
  ids: string[];
  /**
   * Expected monthly loss in ten-thousandths of a cent (probability as written × revenue in
   * cents): what the worklist is ordered by. NaN for a row with no readable revenue or no score.
   */
  losses: number[];
}

/** Receives the results file's header line and then every row's facts, in output order. */
export interface RowSink {
  header(line: string): void;
  add(rows: RowFacts): void;
}

export function emptyRowFacts(): RowFacts {
  return { bytes: [], probabilities: [], tiers: [], ids: [], losses: [] };
}

/** Counts for one batch or a whole file; plain data so it can cross a worker boundary. */
export interface Tally {
  rows: number;
  scored: number;
  failed: number;
  tiers: Record<RiskTier, number>;
  probabilitySum: number;
  /** Scored rows per band of 0.05 of the probability as written. */
  histogram: number[];
  revenue: RevenueTally;
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
    histogram: new Array<number>(HISTOGRAM_BINS).fill(0),
    revenue: { cents: 0n, lossMicros: 0n, highCents: 0n, currencies: new Map() },
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
  for (let bin = 0; bin < HISTOGRAM_BINS; bin++) {
    (into.histogram[bin] as number) += part.histogram[bin] as number;
  }
  into.revenue.cents += part.revenue.cents;
  into.revenue.lossMicros += part.revenue.lossMicros;
  into.revenue.highCents += part.revenue.highCents;
  for (const [currency, rows] of part.revenue.currencies) {
    into.revenue.currencies.set(currency, (into.revenue.currencies.get(currency) ?? 0) + rows);
  }
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

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const DOT = 0x2e;
const DIGIT_ZERO = 0x30;

/** Whether any field starts like a formula (see csvCell), so the raw line cannot be copied. */
function anyFormulaStart(record: readonly string[]): boolean {
  for (let c = 0; c < record.length; c++) {
    const field = record[c] as string;
    if (field.length > 0 && startsLikeFormula(field)) return true;
  }
  return false;
}

/**
 * Writes `probability.toFixed(4)` to `out` and returns that in ten-thousandths (what
 * Math.round(Number(written) * PROBABILITY_SCALE) would be), without making the string: for a
 * probability in [0, 1], Math.round of the product rounds as toFixed does (exact decimal
 * rounding, ties up) unless the product is within floating-point error of a tie; those few,
 * and anything outside [0, 1], take toFixed itself.
 */
export function writeProbability(out: ByteOutput, probability: number): number {
  const product = probability * PROBABILITY_SCALE;
  // + 0 makes a -0 (from a probability of -0) the 0 that Number('0.0000') is.
  const scaled = Math.round(product) + 0;
  if (!(probability >= 0 && probability <= 1) || Math.abs(product - scaled) > 0.499_999) {
    const written = probability.toFixed(4);
    out.text(written);
    return Math.round(Number(written) * PROBABILITY_SCALE);
  }
  // "0.0719" for 719, "1.0000" for 10000.
  const fraction = scaled % PROBABILITY_SCALE;
  out.byte(DIGIT_ZERO + (scaled - fraction) / PROBABILITY_SCALE);
  out.byte(DOT);
  out.byte(DIGIT_ZERO + Math.floor(fraction / 1000));
  out.byte(DIGIT_ZERO + (Math.floor(fraction / 100) % 10));
  out.byte(DIGIT_ZERO + (Math.floor(fraction / 10) % 10));
  out.byte(DIGIT_ZERO + (fraction % 10));
  return scaled;
}

/**
 * Scores records one at a time into `tally` and writes their output lines to `out`; with `rows`,
 * also appends each row's facts for the rows index. One record at a time, so a caller that
 * parses as it goes (the scoring threads) keeps no per-row strings alive. Call `finish` after
 * the last record.
 */
export class BatchScorer {
  private readonly width: number;
  // Whole cents and ten-thousandths, summed as Numbers while that is exact, then as bigints.
  private cents = 0;
  private lossMicros = 0;
  private highCents = 0;
  /** Revenue values whose currency was looked at so far (see CURRENCY_SAMPLES). */
  private sampled = 0;
  /**
   * The UTF-8 bytes of the text being parsed, when every character of it is ASCII: a raw line
   * then is these bytes at its start offset, and is copied with no per-character loop.
   */
  asciiSource: Uint8Array | undefined;

  constructor(
    private readonly scorer: RecordScorer,
    private readonly tally: Tally,
    private readonly out: ByteOutput,
    private readonly delimiter: Delimiter,
    private readonly reasonCount = 3,
    private readonly rows?: RowFacts,
  ) {
    this.width = scorer.headers.length;
    for (const rows of tally.revenue.currencies.values()) this.sampled += rows;
  }

  private flushRevenue(): void {
    const revenue = this.tally.revenue;
    revenue.cents += BigInt(this.cents);
    revenue.lossMicros += BigInt(this.lossMicros);
    revenue.highCents += BigInt(this.highCents);
    this.cents = 0;
    this.lossMicros = 0;
    this.highCents = 0;
  }

  /**
   * Scores one record; `raw` is its text when it had no quotes and `rawStart` where it starts in
   * `asciiSource` (see RecordSink).
   */
  add(record: string[], raw: string | undefined, rawStart = -1): void {
    const { scorer, tally, out, rows, width } = this;
    tally.rows++;
    const lineStart = out.length;
    if (raw !== undefined && this.delimiter === ',' && record.length === width) {
      if (anyFormulaStart(record)) this.writeCells(record);
      // Nothing to quote or neutralise: the input line is already its own output.
      else if (this.asciiSource && rawStart >= 0) {
        out.copy(this.asciiSource, rawStart, rawStart + raw.length);
      } else out.text(raw);
      out.byte(COMMA);
    } else {
      this.writeCells(record);
    }
    const cellsEnd = out.length;
    // This row's expected loss (see RowFacts.losses); NaN unless it is scored with a revenue.
    let loss = Number.NaN;
    try {
      if (record.length !== width) {
        throw new RowError(`the row has ${record.length} fields; the header has ${width}`);
      }
      const row = scorer.score(record);
      const why = scorer.explain(row, this.reasonCount, PROTECTIVE_FACTORS);
      // The summary's common reasons: the raising ones, by kind.
      for (let k = 0; k < why.raisingCount; k++) {
        const kind = scorer.reasonKind(record, why.raising[k] as number);
        tally.reasonCounts.set(kind, (tally.reasonCounts.get(kind) ?? 0) + 1);
      }
      tally.scored++;
      tally.tiers[row.tier]++;
      tally.probabilitySum += row.probability;
      // The histogram and the revenue use the probability as written, like the rows API.
      const scaled = writeProbability(out, row.probability);
      out.byte(COMMA);
      (tally.histogram[Math.min(HISTOGRAM_BINS - 1, Math.floor(scaled / 500))] as number)++;
      if (scorer.revenueColumn >= 0) loss = this.addRevenue(record, scaled, row.tier === 'high');
      out.text(row.tier);
      out.byte(COMMA);
      scorer.writeReasonsCell(out, record, why.contributions, why.raising, why.raisingCount);
      out.byte(COMMA);
      scorer.writeReasonsCell(out, record, why.contributions, why.protective, why.protectiveCount);
      out.byte(COMMA);
      out.byte(COMMA);
      scorer.writeActionCell(out, record, row.tier, why);
      out.byte(NEWLINE);
      if (rows) {
        rows.probabilities.push(scaled);
        rows.tiers.push(TIER_CODES[row.tier]);
      }
    } catch (error) {
      if (!(error instanceof RowError)) throw error;
      // Drops anything of the scored cells already written: the row gets only the error.
      out.length = cellsEnd;
      tally.failed++;
      if (tally.errors.length < KEPT_ERRORS) {
        tally.errors.push({ row: tally.rows, message: error.message });
      }
      out.text(`,,,,${csvCell(error.message)},\n`);
      if (rows) {
        rows.probabilities.push(-1);
        rows.tiers.push(0);
      }
    }
    if (rows) {
      rows.bytes.push(out.length - lineStart);
      const idColumn = scorer.idColumn;
      rows.ids.push(idColumn >= 0 ? neutraliseCell(record[idColumn] ?? '') : '');
      rows.losses.push(loss);
    }
  }

  /** Each input cell as an output cell (quoted or neutralised as needed), each with its comma. */
  private writeCells(record: readonly string[]): void {
    for (let c = 0; c < this.width; c++) {
      this.out.text(csvCell(record[c] ?? ''));
      this.out.byte(COMMA);
    }
  }

  /** Adds a scored row's revenue to the sums; returns its expected loss (NaN for none). */
  private addRevenue(record: readonly string[], scaled: number, high: boolean): number {
    const tally = this.tally;
    const cell = record[this.scorer.revenueColumn] ?? '';
    const value = this.scorer.parseNumber(cell);
    if (!(Math.abs(value) < MAX_MONTHLY_REVENUE)) return Number.NaN;
    if (this.sampled < CURRENCY_SAMPLES) {
      this.sampled++;
      const currency = currencyOf(cell) ?? '';
      tally.revenue.currencies.set(currency, (tally.revenue.currencies.get(currency) ?? 0) + 1);
    }
    const cents = Math.round(value * 100);
    this.cents += cents;
    this.lossMicros += scaled * cents;
    if (high) this.highCents += cents;
    if (
      Math.abs(this.lossMicros) > EXACT_LIMIT ||
      Math.abs(this.cents) > EXACT_LIMIT ||
      Math.abs(this.highCents) > EXACT_LIMIT
    ) {
      this.flushRevenue();
    }
    return scaled * cents;
  }

  /** Adds what is still summed per batch (revenue, unknown categories) to the tally. */
  finish(): void {
    this.flushRevenue();
    const tally = this.tally;
    for (const [column, rows] of this.scorer.unknownCategories) {
      tally.unknownCategories.set(column, (tally.unknownCategories.get(column) ?? 0) + rows);
    }
    this.scorer.unknownCategories.clear();
  }
}

/**
 * Scores the records of `batch` into `tally` and returns their output lines as UTF-8; with
 * `rows`, also appends each row's facts for the rows index.
 */
export function scoreBatch(
  scorer: RecordScorer,
  batch: RecordBatch,
  tally: Tally,
  reasonCount = 3,
  rows?: RowFacts,
): Uint8Array {
  const out = new ByteOutput();
  const batchScorer = new BatchScorer(scorer, tally, out, batch.delimiter, reasonCount, rows);
  for (let b = 0; b < batch.records.length; b++) {
    batchScorer.add(batch.records[b] as string[], batch.lines[b]);
  }
  batchScorer.finish();
  return out.take();
}
