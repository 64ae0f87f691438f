/**
 * Streamed scoring, CSV in to CSV out with bounded memory: records are parsed a chunk at a time,
 * scored, and written with backpressure, so a file of any size needs only a few chunks in memory.
 * This is the in-thread version; score-parallel.ts spreads the same work over worker threads.
 */
import type { Readable, Writable } from 'node:stream';
import { type Delimiter, readCsvBatches } from './csv-reader.js';
import { epochDays } from './dates.js';
import { CsvInputError } from './errors.js';
import type { RiskTier } from './metrics.js';
import type { ModelFile } from './model-file.js';
import type { Playbook } from './playbook.js';
import {
  addTally,
  checkFailureShare,
  emptyRowFacts,
  emptyTally,
  headerLine,
  type RowSink,
  scoreBatch,
  type Tally,
} from './score-batch.js';
import { RecordScorer, type ScorerOptions } from './scorer.js';
import { currencyOf } from './values.js';

/** A byte stream: a Readable, or any (async) iterable of chunks. */
export type ScoreInput = Readable | AsyncIterable<Buffer | string> | Iterable<Buffer | string>;

export interface ScoreOptions {
  /** Detected from the header line when not given. */
  delimiter?: Delimiter;
  /** Receives the facts the rows index is built from, as the results are written. */
  rows?: RowSink;
  /** Called after each chunk with the rows done and input bytes read so far. */
  onProgress?: (progress: { rows: number; bytes: number }) => void;
  /** Number of reasons per row. */
  reasons?: number;
  /** Dates are read as days before this instant (epoch days); default: now. */
  asOfDays?: number;
  /** The user's choices of column per model input (see `mapColumns`). */
  overrides?: Readonly<Record<string, string>>;
  /** Score although some inputs have no column; each counts as an average customer's. */
  allowMissingInputs?: boolean;
  /** What to recommend for each customer; default: the service's playbook. */
  playbook?: Playbook;
}

/** The scorer's share of the options, fixed once so every thread reads dates the same. */
export function scorerOptions(options: ScoreOptions): ScorerOptions {
  return {
    asOfDays: options.asOfDays ?? epochDays(Date.now()),
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.allowMissingInputs ? { allowMissingInputs: true } : {}),
    ...(options.playbook ? { playbook: options.playbook } : {}),
  };
}

export interface ScoreSummary {
  rows: number;
  scored: number;
  failed: number;
  tiers: Record<RiskTier, number>;
  meanProbability: number;
  /**
   * Scored rows per band of 0.05 of the probability as written in the results:
   * [0, 0.05), [0.05, 0.1), ... [0.95, 1].
   */
  probabilityHistogram: number[];
  /** What the risk is worth, when the file has a monthly-revenue column; else null. */
  revenue: RevenueSummary | null;
  /** The reasons that appear most often among rows' top reasons, with how many rows. */
  commonReasons: Array<{ reason: string; rows: number }>;
  unusedColumns: string[];
  /** Model inputs the file had no column for, each scored as an average customer's. */
  missingInputs: string[];
  /** Rows with a category the model was not trained on, by column (scored as neutral). */
  unknownCategories: Record<string, number>;
  /** The first few row errors ("row 12: tenure is "abc", not a number"). */
  firstErrors: string[];
  delimiter: Delimiter;
}

/**
 * Sums over scored rows with a readable revenue (blank or unreadable cells count as 0), rounded
 * to cents, in the file's own currency.
 */
export interface RevenueSummary {
  /** The header of the revenue column, as in the file. */
  column: string;
  /**
   * The currency its values (or else its header) name: a symbol such as "$" or "€", or a code
   * such as "EUR"; null when nothing names one.
   */
  currency: string | null;
  monthlyTotal: number;
  /** Σ probability × revenue: the monthly revenue expected to churn. */
  expectedMonthlyLoss: number;
  /** Σ revenue over high-tier rows. */
  highRiskMonthly: number;
}

/**
 * The currency most of the sampled revenue values name (nine in ten of those naming any), else
 * the one the header names ("MRR ($)"), else none.
 */
export function currencyFrom(counts: ReadonlyMap<string, number>, header: string): string | null {
  let named = 0;
  let best: [string, number] | undefined;
  for (const [currency, rows] of counts) {
    if (currency === '') continue;
    named += rows;
    if (!best || rows > best[1]) best = [currency, rows];
  }
  if (best && best[1] >= 0.9 * named) return best[0];
  return currencyOf(header) ?? null;
}

/** Whole `units` per currency unit (100 for cents), rounded half away from zero, to cents. */
function toCurrency(value: bigint, unitsPerCent: bigint): number {
  const half = unitsPerCent / 2n;
  const cents = (value < 0n ? value - half : value + half) / unitsPerCent;
  return Number(cents) / 100;
}

async function* countingBytes(
  input: ScoreInput,
  counter: { bytes: number },
): AsyncGenerator<Buffer | string> {
  for await (const chunk of input) {
    counter.bytes += chunk.length;
    yield chunk;
  }
}

/** Writes with backpressure: resolves at once, or when the stream has drained. */
export function write(output: Writable, text: string | Uint8Array): Promise<void> | undefined {
  if (output.write(text)) return undefined;
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      output.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      output.off('drain', onDrain);
      reject(error);
    };
    output.once('drain', onDrain);
    output.once('error', onError);
  });
}

/** What a summary says of the file itself rather than its rows: the same for every chunk. */
export interface FileFacts {
  /** The header of the revenue column, when the file has one. */
  revenueColumn: string | null;
  unusedColumns: string[];
  missingInputs: string[];
  delimiter: Delimiter;
}

export function fileFacts(scorer: RecordScorer, delimiter: Delimiter): FileFacts {
  return {
    revenueColumn: scorer.headers[scorer.revenueColumn] ?? null,
    unusedColumns: scorer.unusedColumns,
    missingInputs: scorer.mapping.missing.map((entry) => entry.field),
    delimiter,
  };
}

export function summarise(tally: Tally, facts: FileFacts): ScoreSummary {
  const { revenueColumn } = facts;
  return {
    rows: tally.rows,
    scored: tally.scored,
    failed: tally.failed,
    tiers: tally.tiers,
    meanProbability: tally.scored === 0 ? 0 : tally.probabilitySum / tally.scored,
    probabilityHistogram: [...tally.histogram],
    revenue:
      revenueColumn === null
        ? null
        : {
            column: revenueColumn,
            currency: currencyFrom(tally.revenue.currencies, revenueColumn),
            monthlyTotal: toCurrency(tally.revenue.cents, 1n),
            expectedMonthlyLoss: toCurrency(tally.revenue.lossMicros, 10_000n),
            highRiskMonthly: toCurrency(tally.revenue.highCents, 1n),
          },
    commonReasons: [...tally.reasonCounts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5)
      .map(([reason, rows]) => ({ reason, rows })),
    unusedColumns: facts.unusedColumns,
    missingInputs: facts.missingInputs,
    unknownCategories: Object.fromEntries(
      [...tally.unknownCategories].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    ),
    firstErrors: tally.errors.map((error) => `row ${error.row}: ${error.message}`),
    delimiter: facts.delimiter,
  };
}

/**
 * Scores every record of `input` and writes the results CSV to `output` (which is not ended).
 * Throws CsvInputError for input that can never be scored (encoding, missing columns, most rows
 * bad); row-level problems go in the row's `score_error` cell instead.
 */
export async function scoreCsvStream(
  input: ScoreInput,
  output: Writable,
  model: ModelFile,
  options: ScoreOptions = {},
): Promise<ScoreSummary> {
  const { tally, facts } = await scoreCsvCounts(input, output, model, options);
  checkFailureShare(tally, true);
  return summarise(tally, facts);
}

/**
 * scoreCsvStream's work before the summary: the counts, and what the summary says of the file.
 * A chunk of a file stops here; its counts are added to the other chunks' (src/jobs/chunks.ts),
 * and the share of failed rows is judged over them all.
 *
 * `chunk`: the input is a chunk of a file (its header line, then a range of its records). Its
 * results have no header line (the assembled file takes it once). Only the first chunk judges the
 * failed share early: its rows are numbered as in the file, so its message names the right rows;
 * a later chunk's would name rows counted from its own start.
 */
export async function scoreCsvCounts(
  input: ScoreInput,
  output: Writable,
  model: ModelFile,
  options: ScoreOptions & { chunk?: { first: boolean } } = {},
): Promise<{ tally: Tally; facts: FileFacts }> {
  const judgeEarly = options.chunk?.first ?? true;
  const counter = { bytes: 0 };
  const tally = emptyTally();
  let scorer: RecordScorer | undefined;
  let delimiter: Delimiter = options.delimiter ?? ',';
  const batches = readCsvBatches(countingBytes(input, counter), { delimiter: options.delimiter });
  for await (const batch of batches) {
    delimiter = batch.delimiter;
    let header = '';
    if (scorer === undefined) {
      const headers = (batch.records.shift() as string[]).map((header) => header.trim());
      batch.lines.shift();
      scorer = new RecordScorer(model, headers, {
        ...scorerOptions(options),
        delimiter: batch.delimiter,
      });
      options.rows?.header(headerLine(headers));
      if (!options.chunk) header = headerLine(headers);
    }
    const part = emptyTally();
    const rows = options.rows ? emptyRowFacts() : undefined;
    const scored = scoreBatch(scorer, batch, part, options.reasons, rows);
    addTally(tally, part);
    if (rows) options.rows?.add(rows);
    if (judgeEarly) checkFailureShare(tally, false);
    if (header !== '') await write(output, header);
    await write(output, scored);
    options.onProgress?.({ rows: tally.rows, bytes: counter.bytes });
  }
  if (scorer === undefined) throw new CsvInputError('the file is empty: it has no header row.');
  return { tally, facts: fileFacts(scorer, delimiter) };
}
