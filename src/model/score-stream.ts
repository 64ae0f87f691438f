/**
 * Streamed scoring, CSV in to CSV out with bounded memory: records are parsed a chunk at a time,
 * scored, and written with backpressure, so a file of any size needs only a few chunks in memory.
 * This is the API the CLI and the job worker call.
 */
import type { Readable, Writable } from 'node:stream';
import { type Delimiter, readCsvRecords } from './csv-reader.js';
import { csvCell, csvLine } from './csv-writer.js';
import { CsvInputError } from './errors.js';
import type { RiskTier } from './metrics.js';
import type { ModelFile } from './model-file.js';
import { RecordScorer, RowError, topContributions } from './scorer.js';

export const OUTPUT_COLUMNS = ['churn_probability', 'risk_tier', 'top_reasons', 'score_error'];

export interface ScoreOptions {
  /** Detected from the header line when not given. */
  delimiter?: Delimiter;
  /** Called after each chunk with the rows done and input bytes read so far. */
  onProgress?: (progress: { rows: number; bytes: number }) => void;
  /** Number of reasons per row. */
  reasons?: number;
}

export interface ScoreSummary {
  rows: number;
  scored: number;
  failed: number;
  tiers: Record<RiskTier, number>;
  meanProbability: number;
  /** The reasons that appear most often among rows' top reasons, with how many rows. */
  commonReasons: Array<{ reason: string; rows: number }>;
  unusedColumns: string[];
  /** Rows with a category the model was not trained on, by column (scored as neutral). */
  unknownCategories: Record<string, number>;
  /** The first few row errors, for the message when a file fails. */
  firstErrors: string[];
  delimiter: Delimiter;
}

/** A file fails as a whole, rather than row by row, when more than this share of rows fail. */
const MAX_FAILED_SHARE = 0.5;
/** Judge the failure share early once this many rows are in, to fail a bad huge file fast. */
const EARLY_JUDGEMENT_ROWS = 1000;

async function* countingBytes(
  input: AsyncIterable<Buffer | string>,
  counter: { bytes: number },
): AsyncGenerator<Buffer | string> {
  for await (const chunk of input) {
    counter.bytes += chunk.length;
    yield chunk;
  }
}

function write(output: Writable, text: string): Promise<void> | undefined {
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

function tooManyFailures(summary: ScoreSummary): CsvInputError {
  return new CsvInputError(
    `${summary.failed} of ${summary.rows} rows could not be scored, so the file was rejected; first: ${summary.firstErrors[0]}.`,
  );
}

/**
 * Scores every record of `input` and writes the results CSV to `output` (which is not ended).
 * Throws CsvInputError for input that can never be scored (encoding, missing columns, most rows
 * bad); row-level problems go in the row's `score_error` cell instead.
 */
export async function scoreCsvStream(
  input: Readable | AsyncIterable<Buffer | string>,
  output: Writable,
  model: ModelFile,
  options: ScoreOptions = {},
): Promise<ScoreSummary> {
  const reasonCount = options.reasons ?? 3;
  const counter = { bytes: 0 };
  const reasonCounts = new Map<string, number>();
  let probabilitySum = 0;
  let scorer: RecordScorer | undefined;
  let width = 0;
  const summary: ScoreSummary = {
    rows: 0,
    scored: 0,
    failed: 0,
    tiers: { high: 0, medium: 0, low: 0 },
    meanProbability: 0,
    commonReasons: [],
    unusedColumns: [],
    unknownCategories: {},
    firstErrors: [],
    delimiter: options.delimiter ?? ',',
  };
  const records = readCsvRecords(countingBytes(input, counter), { delimiter: options.delimiter });
  for await (const batch of records) {
    let text = '';
    let start = 0;
    if (scorer === undefined) {
      const headers = (batch[0] as string[]).map((header) => header.trim());
      scorer = new RecordScorer(model, headers);
      width = headers.length;
      summary.unusedColumns = scorer.unusedColumns;
      text += csvLine([...headers, ...OUTPUT_COLUMNS]);
      start = 1;
    }
    for (let b = start; b < batch.length; b++) {
      const record = batch[b] as string[];
      summary.rows++;
      let line = '';
      for (let c = 0; c < width; c++) {
        line += `${csvCell(record[c] ?? '')},`;
      }
      try {
        if (record.length !== width) {
          throw new RowError(`the row has ${record.length} fields; the header has ${width}`);
        }
        const row = scorer.score(record);
        const top = topContributions(row.contributions, reasonCount);
        for (const index of top) {
          const kind = scorer.reasonKind(record, index, row.contributions[index] as number);
          reasonCounts.set(kind, (reasonCounts.get(kind) ?? 0) + 1);
        }
        summary.scored++;
        summary.tiers[row.tier]++;
        probabilitySum += row.probability;
        line += `${row.probability.toFixed(4)},${row.tier},${csvCell(scorer.reasons(record, row, top))},\n`;
      } catch (error) {
        if (!(error instanceof RowError)) throw error;
        summary.failed++;
        const message = `row ${summary.rows}: ${error.message}`;
        if (summary.firstErrors.length < 5) summary.firstErrors.push(message);
        line += `,,,${csvCell(error.message)}\n`;
      }
      text += line;
    }
    if (summary.rows >= EARLY_JUDGEMENT_ROWS && summary.failed > MAX_FAILED_SHARE * summary.rows) {
      throw tooManyFailures(summary);
    }
    await write(output, text);
    options.onProgress?.({ rows: summary.rows, bytes: counter.bytes });
  }
  if (scorer === undefined) throw new CsvInputError('the file is empty: it has no header row.');
  if (summary.failed > MAX_FAILED_SHARE * summary.rows) throw tooManyFailures(summary);
  summary.meanProbability = summary.scored === 0 ? 0 : probabilitySum / summary.scored;
  summary.commonReasons = [...reasonCounts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map(([reason, rows]) => ({ reason, rows }));
  summary.unknownCategories = Object.fromEntries(scorer.unknownCategories);
  return summary;
}
