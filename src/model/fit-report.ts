/**
 * The column fit report: how a file meets a model before any work is queued. It is the scorer
 * run in "explain" mode over a sample of rows: the same column matching (the user's choices,
 * exact names, synonyms) and the same value reading (numbers, money, dates, categories) that
 * scoring will use, so what it promises is what scoring does.
 */
import { type Delimiter, readCsvBatches } from './csv-reader.js';
import { CsvInputError } from './errors.js';
import type { MatchedBy } from './headers.js';
import type { ModelColumn, ModelFile } from './model-file.js';
import type { ScoreInput } from './score-stream.js';
import { RecordScorer, type ScorerOptions } from './scorer.js';
import { isMissing } from './values.js';

export interface InputFit {
  /** The model input's name. */
  input: string;
  kind: ModelColumn['kind'];
  /** Dates and durations are read into days. */
  reads: 'number' | 'date' | 'duration' | 'yes/no' | 'category';
  /** The file's column that feeds it, or null when none was found. */
  column: string | null;
  matchedBy: MatchedBy | null;
  /** Near-miss headers, for an input with no column. */
  closest: string[];
  /** Share of the model's total importance this input carries (0-1). */
  importance: number;
  /** Over the rows checked: */
  present: number;
  /** Present values that read as the input expects. */
  parsed: number;
  /** Present values in a category the model never saw (scored as average). */
  unknownCategories: number;
  /** Up to three values that could not be read (or unseen categories). */
  examples: string[];
}

export type FitVerdict = 'good' | 'usable' | 'poor';

export interface FitReport {
  rowsChecked: number;
  inputs: InputFit[];
  unusedColumns: string[];
  /** Share of the model's importance carried by inputs found and mostly readable (0-1). */
  coverage: number;
  verdict: FitVerdict;
  /** One or two sentences for the user: what the verdict means and what to do. */
  message: string;
}

/** An input counts towards coverage only when at least this share of its present values read. */
const READABLE_SHARE = 0.5;
/** Below this coverage the scores would mostly reflect the inputs that are not there. */
export const USABLE_COVERAGE = 0.9;
/** Every present value of a "good" fit reads, bar this share. */
const GOOD_SHARE = 0.95;

/** How a model column reads its values, in the words the API uses. */
export function readsOf(column: ModelColumn): InputFit['reads'] {
  if (column.kind === 'boolean') return 'yes/no';
  if (column.kind === 'categorical') return 'category';
  return column.source?.kind ?? 'number';
}

/** Importance shares from the model file; a model from before they were stored weighs inputs equally. */
function importanceShares(model: ModelFile): number[] {
  const stored = new Map(model.training.importance?.map((entry) => [entry.column, entry.spread]));
  const spreads = model.columns.map((column) => stored.get(column.name) ?? (stored.size ? 0 : 1));
  const total = spreads.reduce((sum, spread) => sum + spread, 0);
  return spreads.map((spread) => (total > 0 ? spread / total : 1 / spreads.length));
}

/**
 * Checks `records` (a sample of the file's data rows, header excluded) against `model`. Throws
 * CsvInputError only for a user's choice that names no column of the file.
 */
export function fitReport(
  model: ModelFile,
  headers: readonly string[],
  records: readonly (readonly string[])[],
  options: ScorerOptions = {},
): FitReport {
  const scorer = new RecordScorer(model, headers, { ...options, allowMissingInputs: true });
  const { mapping } = scorer;
  const shares = importanceShares(model);
  const inputs = model.columns.map((column, index): InputFit => {
    const source = mapping.fieldColumns.get(column.name);
    const fit: InputFit = {
      input: column.name,
      kind: column.kind,
      reads: readsOf(column),
      column: source === undefined ? null : (headers[source] as string),
      matchedBy: mapping.matchedBy.get(column.name) ?? null,
      closest: mapping.missing.find((entry) => entry.field === column.name)?.closest ?? [],
      importance: shares[index] as number,
      present: 0,
      parsed: 0,
      unknownCategories: 0,
      examples: [],
    };
    if (source === undefined) return fit;
    for (const record of records) {
      const raw = record[source] ?? '';
      const reading = scorer.readValue(index, raw);
      if (reading === 'missing') continue;
      fit.present++;
      if (reading === 'ok') fit.parsed++;
      if (reading === 'unknown-category') fit.unknownCategories++;
      const example = raw.trim();
      if (reading !== 'ok' && fit.examples.length < 3 && !fit.examples.includes(example)) {
        fit.examples.push(example);
      }
    }
    return fit;
  });
  const readable = (fit: InputFit) =>
    fit.column !== null && (fit.present === 0 || readShare(fit) >= READABLE_SHARE);
  const coverage = inputs.reduce((sum, fit) => sum + (readable(fit) ? fit.importance : 0), 0);
  const verdict: FitVerdict = inputs.every(
    (fit) => fit.column !== null && (fit.present === 0 || readShare(fit) >= GOOD_SHARE),
  )
    ? 'good'
    : coverage >= USABLE_COVERAGE
      ? 'usable'
      : 'poor';
  return {
    rowsChecked: records.length,
    inputs,
    unusedColumns: mapping.unusedColumns.filter((header) => !isMissing(header)),
    coverage,
    verdict,
    message: verdictMessage(verdict, inputs, coverage),
  };
}

/** Share of present values that read; an unseen category is not read (it scores as average). */
function readShare(fit: InputFit): number {
  return fit.present === 0 ? 1 : fit.parsed / fit.present;
}

const percent = (share: number) => `${Math.round(share * 100)}%`;

/** Up to eight names, then how many more: a 19-input model must not make a wall of text. */
export function listNames(names: readonly string[]): string {
  return names.length > 8
    ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more`
    : names.join(', ');
}

/** Share of present values that are neither read nor an unseen category: text in a number. */
const unreadShare = (fit: InputFit) =>
  fit.present === 0 ? 0 : (fit.present - fit.parsed - fit.unknownCategories) / fit.present;
const unseenShare = (fit: InputFit) =>
  fit.present === 0 ? 0 : fit.unknownCategories / fit.present;

function verdictMessage(verdict: FitVerdict, inputs: InputFit[], coverage: number): string {
  if (verdict === 'good') return 'Every input the model uses was found and reads well.';
  const found = inputs.filter((fit) => fit.column !== null);
  const missing = inputs.filter((fit) => fit.column === null).map((fit) => fit.input);
  const unreadable = found.filter((fit) => unreadShare(fit) > 1 - GOOD_SHARE);
  const unseen = found.filter((fit) => unseenShare(fit) > 1 - GOOD_SHARE);
  const problems = [
    ...(missing.length > 0 ? [`no column for ${listNames(missing)}`] : []),
    ...(unreadable.length > 0
      ? [`values that do not read in ${listNames(unreadable.map((fit) => fit.input))}`]
      : []),
    ...(unseen.length > 0
      ? [`categories it never saw in ${listNames(unseen.map((fit) => fit.input))}`]
      : []),
  ].join('; ');
  if (verdict === 'usable') {
    return `The file carries ${percent(coverage)} of what the model relies on (${problems}). A missing input counts as an average customer's, as does a category the model never saw; a row with a value that does not read is not scored.`;
  }
  if (coverage === 0) {
    return `None of what this model relies on can be read from the file (${problems}). Map your columns to its inputs, or train a model on this file.`;
  }
  return `The file carries only ${percent(coverage)} of what this model relies on (${problems}), too little for its scores to mean much. Map your columns to the missing inputs, train a model on this file, or score anyway with allowPartialFit.`;
}

/** Rows a fit report reads: enough to see how values parse, few enough to answer at once. */
export const FIT_SAMPLE_ROWS = 5_000;

export interface CsvSample {
  headers: string[];
  records: string[][];
  delimiter: Delimiter;
}

/** The header and the first `maxRows` data rows of a CSV; stops reading there. */
export async function sampleCsv(input: ScoreInput, maxRows = FIT_SAMPLE_ROWS): Promise<CsvSample> {
  let headers: string[] | undefined;
  const records: string[][] = [];
  let delimiter: Delimiter = ',';
  try {
    for await (const batch of readCsvBatches(input)) {
      delimiter = batch.delimiter;
      for (const record of batch.records) {
        if (headers === undefined) headers = record.map((header) => header.trim());
        else if (records.length < maxRows) records.push(record);
      }
      if (records.length >= maxRows) break;
    }
  } finally {
    if ('destroy' in input && typeof input.destroy === 'function') input.destroy();
  }
  if (headers === undefined) throw new CsvInputError('the file is empty.');
  return { headers, records, delimiter };
}
