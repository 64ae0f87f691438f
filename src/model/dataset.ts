/**
 * A labelled training file as compact columns: numbers (and dates, durations, booleans) in
 * Float64Arrays, categories as Int32 codes into a short level list. The file is read twice,
 * streamed: once to count, fingerprint and sample it (the sample decides how each column is
 * read), once to fill the columns. Memory grows with rows × columns × 8 bytes, never with the
 * text of the file, so a million-row export trains in a few hundred megabytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type ColumnPlan, MAX_LEVELS, numericReader, planColumn } from './column-plan.js';
import { seededRandom } from './cross-validation.js';
import { readCsvBatches } from './csv-reader.js';
import { CsvInputError } from './errors.js';
import { findLabelColumn, type LabelReading, labelReading, readLabel } from './labels.js';
import { categoryKey, isMissing, parseBoolean } from './values.js';

export type { NumericSource } from './column-plan.js';

export interface NumericColumn {
  kind: 'numeric';
  name: string;
  /** Values as numbers (dates as days before the as-of time); NaN where missing or unparseable. */
  values: Float64Array;
  source?: import('./column-plan.js').NumericSource;
}

export interface BooleanColumn {
  kind: 'boolean';
  name: string;
  /** 1, 0, or NaN where missing. */
  values: Float64Array;
  trueLabel: string;
  falseLabel: string;
}

export interface CategoricalColumn {
  kind: 'categorical';
  name: string;
  /** Index into `levels` of every row's value. */
  codes: Int32Array;
  /** Category keys (see `categoryKey`; '' for blank) sorted, each with the spelling seen most. */
  levels: Array<{ key: string; label: string }>;
}

export type FeatureColumn = NumericColumn | BooleanColumn | CategoricalColumn;

/** How one column's values read, for the training report and the fit report. */
export interface ColumnReading {
  column: string;
  present: number;
  unparseable: number;
  /** Up to three values that could not be read. */
  examples: string[];
  /** How dates or durations were recognised, when they were. */
  evidence?: string;
}

export interface LabelledDataset {
  headers: string[];
  columns: FeatureColumn[];
  labels: Float64Array;
  labelColumn: string;
  /** What the label's values were read as (which value means churned). */
  label: LabelReading;
  /** Rows left out because their label was blank. */
  unlabelledRows: number;
  /** Columns not used, with the reason, for the training report. */
  skipped: Array<{ column: string; reason: string }>;
  readings: ColumnReading[];
  /** Dates are turned into days before this instant (epoch days). */
  asOfDays: number;
  fingerprint: { sha256: string; rows: number; columns: number };
}

export interface DatasetOptions {
  labelColumn: string;
  /** The label value that means churned; inferred from common spellings when absent. */
  positiveValue?: string;
  /** Epoch days that dates are measured back from. */
  asOfDays: number;
}

/** Rows sampled to decide how each column is read; smaller files are read whole. */
export const PLAN_SAMPLE_ROWS = 50_000;

/** Opens the file's bytes; called once per pass. */
export type Source = () => AsyncIterable<Buffer | string> | Iterable<Buffer | string>;

interface FirstPass {
  headers: string[];
  delimiter: string;
  sha256: string;
  /** Data rows with a label (and the header's field count). */
  rows: number;
  unlabelledRows: number;
  sample: string[][];
  labelValues: Map<string, number>;
}

async function firstPass(source: Source, options: DatasetOptions): Promise<FirstPass> {
  const hash = createHash('sha256');
  const random = seededRandom(PLAN_SAMPLE_ROWS);
  const hashed = async function* () {
    for await (const chunk of source()) {
      hash.update(chunk);
      yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    }
  };
  let headers: string[] | undefined;
  let labelIndex = -1;
  let delimiter = ',';
  let rows = 0;
  let unlabelledRows = 0;
  let malformed = 0;
  let seen = 0;
  const sample: string[][] = [];
  const labelValues = new Map<string, number>();
  for await (const batch of readCsvBatches(hashed())) {
    delimiter = batch.delimiter;
    for (const record of batch.records) {
      if (headers === undefined) {
        headers = record.map((header) => header.trim());
        labelIndex = findLabel(headers, options.labelColumn);
        continue;
      }
      seen++;
      if (record.length !== headers.length) {
        malformed++;
        continue;
      }
      const label = record[labelIndex] as string;
      if (isMissing(label)) {
        unlabelledRows++;
        continue;
      }
      const key = categoryKey(label);
      // A label with thousands of values is not a label; counting a few is enough to say so.
      if (labelValues.size < 1000 || labelValues.has(key)) {
        labelValues.set(key, (labelValues.get(key) ?? 0) + 1);
      }
      // Reservoir sampling: every row is equally likely to decide the plan.
      if (sample.length < PLAN_SAMPLE_ROWS) sample.push(record);
      else {
        const slot = Math.floor(random() * (rows + 1));
        if (slot < PLAN_SAMPLE_ROWS) sample[slot] = record;
      }
      rows++;
    }
  }
  if (headers === undefined || seen === 0) throw new CsvInputError('the file has no data rows.');
  if (malformed > 0) {
    throw new CsvInputError(
      `${malformed} of ${seen} rows do not have ${headers.length} fields; a training file must be clean.`,
    );
  }
  return {
    headers,
    delimiter,
    sha256: hash.digest('hex'),
    rows,
    unlabelledRows,
    sample,
    labelValues,
  };
}

function findLabel(headers: readonly string[], labelColumn: string): number {
  const index = findLabelColumn(headers, labelColumn);
  if (index === -1) {
    throw new CsvInputError(
      `the label column "${labelColumn}" is not in the file. Found: ${headers.map((h) => JSON.stringify(h)).join(', ')}.`,
    );
  }
  return index;
}

/** Fills one planned column, row by row, in the second pass. */
interface ColumnFiller {
  plan: ColumnPlan;
  index: number;
  add(raw: string, row: number): void;
  finish(): FeatureColumn | string;
  reading: ColumnReading;
}

function noteUnparseable(reading: ColumnReading, raw: string): void {
  reading.unparseable++;
  if (reading.examples.length < 3 && !reading.examples.includes(raw.trim())) {
    reading.examples.push(raw.trim());
  }
}

function fillerFor(
  plan: ColumnPlan,
  index: number,
  rows: number,
  decimalComma: boolean,
  asOfDays: number,
): ColumnFiller | undefined {
  const reading: ColumnReading = { column: plan.name, present: 0, unparseable: 0, examples: [] };
  if (plan.kind === 'skipped') return undefined;
  if (plan.kind === 'numeric' && plan.evidence !== undefined) reading.evidence = plan.evidence;
  if (plan.kind === 'numeric' || plan.kind === 'boolean') {
    const values = sharedFloat64(rows);
    const read =
      plan.kind === 'numeric'
        ? numericReader(plan.source, decimalComma, asOfDays)
        : (raw: string) => parseBoolean(raw) ?? Number.NaN;
    // Raw spellings of a boolean's values and their rows; the labels are read from them at the end.
    const rawCounts = new Map<string, number>();
    return {
      plan,
      index,
      reading,
      add(raw, row) {
        if (isMissing(raw)) {
          values[row] = Number.NaN;
          return;
        }
        reading.present++;
        const value = read(raw);
        values[row] = value;
        if (Number.isNaN(value)) noteUnparseable(reading, raw);
        else if (plan.kind === 'boolean') {
          const count = rawCounts.get(raw);
          if (count !== undefined) rawCounts.set(raw, count + 1);
          else if (rawCounts.size < 64) rawCounts.set(raw, 1);
        }
      },
      finish() {
        if (plan.kind === 'numeric') {
          return hasTwoValues(values)
            ? {
                kind: 'numeric',
                name: plan.name,
                values,
                ...(plan.source ? { source: plan.source } : {}),
              }
            : 'constant';
        }
        const spellings = new Map<string, number>();
        for (const [raw, count] of rawCounts) {
          const spelling = `${parseBoolean(raw)}${raw.trim()}`;
          spellings.set(spelling, (spellings.get(spelling) ?? 0) + count);
        }
        return {
          kind: 'boolean',
          name: plan.name,
          values,
          trueLabel: commonest(spellings, '1') ?? 'Yes',
          falseLabel: commonest(spellings, '0') ?? 'No',
        };
      },
    };
  }
  const codes = new Int32Array(new SharedArrayBuffer(rows * 4));
  const keyCodes = new Map<string, number>();
  const rawCodes = new Map<string, number>();
  const spellings: Array<Map<string, number>> = [];
  let overflow = false;
  return {
    plan,
    index,
    reading,
    add(raw, row) {
      if (!isMissing(raw)) reading.present++;
      let code = rawCodes.get(raw);
      if (code === undefined) {
        const key = isMissing(raw) ? '' : categoryKey(raw);
        code = keyCodes.get(key);
        if (code === undefined) {
          if (keyCodes.size > MAX_LEVELS) overflow = true;
          if (overflow) return;
          code = keyCodes.size;
          keyCodes.set(key, code);
          spellings.push(new Map());
        }
        if (rawCodes.size < 1024) rawCodes.set(raw, code);
      }
      codes[row] = code;
      const forms = spellings[code] as Map<string, number>;
      if (forms.size < 16) forms.set(raw.trim(), (forms.get(raw.trim()) ?? 0) + 1);
    },
    finish() {
      if (overflow) return `more than ${MAX_LEVELS} distinct values: an identifier or free text`;
      if (keyCodes.size < 2) return 'constant';
      // Levels sorted by key, so the model file does not depend on the order rows came in.
      const keys = [...keyCodes.keys()].sort();
      const remap = new Int32Array(keys.length);
      keys.forEach((key, sorted) => {
        remap[keyCodes.get(key) as number] = sorted;
      });
      for (let r = 0; r < codes.length; r++) codes[r] = remap[codes[r] as number] as number;
      const levels = keys.map((key) => ({
        key,
        label:
          key === ''
            ? '(blank)'
            : (commonest(spellings[keyCodes.get(key) as number] as Map<string, number>) ?? key),
      }));
      return { kind: 'categorical', name: plan.name, codes, levels };
    },
  };
}

/** Columns live in shared memory, so training threads read them without a copy. */
function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

function hasTwoValues(values: Float64Array): boolean {
  let first = Number.NaN;
  for (const value of values) {
    if (Number.isNaN(value)) continue;
    if (Number.isNaN(first)) first = value;
    else if (value !== first) return true;
  }
  return false;
}

/** The spelling seen most often (ties: the first in sort order), optionally with a prefix. */
function commonest(counts: Map<string, number>, prefix = ''): string | undefined {
  let best: [string, number] | undefined;
  for (const [spelling, count] of counts) {
    if (!spelling.startsWith(prefix)) continue;
    if (best === undefined || count > best[1] || (count === best[1] && spelling < best[0])) {
      best = [spelling, count];
    }
  }
  return best?.[0].slice(prefix.length);
}

/** Reads a labelled file in two streamed passes into compact columns. */
export async function readLabelledDataset(
  source: Source,
  options: DatasetOptions,
): Promise<LabelledDataset> {
  const first = await firstPass(source, options);
  const { headers, sample } = first;
  const labelIndex = findLabel(headers, options.labelColumn);
  const label = labelReading(options.labelColumn, first.labelValues, options.positiveValue);
  const decimalComma = first.delimiter === ';';
  const skipped: LabelledDataset['skipped'] = [];
  const fillers: ColumnFiller[] = [];
  headers.forEach((header, index) => {
    if (index === labelIndex) return;
    const plan = planColumn(
      header,
      sample.map((record) => record[index] as string),
      decimalComma,
    );
    const filler = fillerFor(plan, index, first.rows, decimalComma, options.asOfDays);
    if (filler) fillers.push(filler);
    else if (plan.kind === 'skipped') skipped.push({ column: header, reason: plan.reason });
  });
  const labels = sharedFloat64(first.rows);
  let row = 0;
  let header = true;
  for await (const batch of readCsvBatches(source())) {
    for (const record of batch.records) {
      if (header) {
        header = false;
        continue;
      }
      const raw = record[labelIndex] as string;
      if (isMissing(raw)) continue;
      labels[row] = readLabel(label, raw);
      for (const filler of fillers) filler.add(record[filler.index] as string, row);
      row++;
    }
  }
  if (row !== first.rows) throw new CsvInputError('the file changed while it was being read.');
  const columns: FeatureColumn[] = [];
  for (const filler of fillers) {
    const column = filler.finish();
    if (typeof column === 'string') skipped.push({ column: filler.plan.name, reason: column });
    else columns.push(column);
  }
  if (columns.length === 0) throw new CsvInputError('the file has no usable feature columns.');
  // Keep the file's column order in the report, whichever pass found the reason.
  skipped.sort((a, b) => headers.indexOf(a.column) - headers.indexOf(b.column));
  return {
    headers,
    columns,
    labels,
    labelColumn: headers[labelIndex] as string,
    label,
    unlabelledRows: first.unlabelledRows,
    skipped,
    readings: fillers.map((filler) => filler.reading),
    asOfDays: options.asOfDays,
    fingerprint: { sha256: first.sha256, rows: first.rows, columns: headers.length },
  };
}

export async function readLabelledCsv(
  file: string,
  options: DatasetOptions,
): Promise<LabelledDataset> {
  const open = () => createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    return await readLabelledDataset(open, options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && !(error instanceof CsvInputError)) {
      throw new CsvInputError(`cannot read ${file}: ${code}`);
    }
    throw error;
  }
}

/** A dataset from text already in memory (tests, small files). */
export function datasetFromText(text: string, options: DatasetOptions): Promise<LabelledDataset> {
  return readLabelledDataset(() => [Buffer.from(text)], options);
}
