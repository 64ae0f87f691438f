/**
 * A labelled training file held in memory (training needs every row at once), with each column's
 * values parsed once and its kind inferred from the data.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readCsvBatches } from './csv-reader.js';
import { CsvInputError } from './errors.js';
import { looksLikeIdentifier, normaliseHeader } from './headers.js';
import { categoryKey, isMissing, parseBoolean, parseNumber } from './values.js';

export type ColumnKind = 'numeric' | 'boolean' | 'categorical';

export interface NumericColumn {
  kind: 'numeric';
  name: string;
  /** Raw values; NaN where missing or unparseable. */
  values: Float64Array;
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
  /** Category keys (see `categoryKey`), '' where missing. */
  keys: string[];
  /** Key → the spelling seen most often, for explanations. */
  labels: Map<string, string>;
}

export type FeatureColumn = NumericColumn | BooleanColumn | CategoricalColumn;

export interface LabelledDataset {
  headers: string[];
  columns: FeatureColumn[];
  labels: Float64Array;
  labelColumn: string;
  /** Columns not used, with the reason, for the training report. */
  skipped: Array<{ column: string; reason: string }>;
  fingerprint: { sha256: string; rows: number; columns: number };
}

/** A categorical column with more levels than this is an identifier or free text. */
const MAX_LEVELS = 50;

function mostCommonSpelling(raws: string[], keyOf: (raw: string) => string): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const raw of raws) {
    const key = keyOf(raw);
    const spellings = counts.get(key) ?? new Map<string, number>();
    spellings.set(raw.trim(), (spellings.get(raw.trim()) ?? 0) + 1);
    counts.set(key, spellings);
  }
  const labels = new Map<string, string>();
  for (const [key, spellings] of [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const best = [...spellings].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    labels.set(key, best?.[0] ?? key);
  }
  return labels;
}

function inferColumn(name: string, raws: string[], decimalComma: boolean): FeatureColumn | string {
  const present = raws.filter((raw) => !isMissing(raw));
  if (present.length === 0) return 'always blank';
  const booleans = present.map(parseBoolean);
  if (booleans.every((value) => value !== undefined) && new Set(booleans).size === 2) {
    const spellings = mostCommonSpelling(present, (raw) => String(parseBoolean(raw)));
    return {
      kind: 'boolean',
      name,
      values: Float64Array.from(raws, (raw) =>
        isMissing(raw) ? Number.NaN : (parseBoolean(raw) as number),
      ),
      trueLabel: spellings.get('1') ?? 'Yes',
      falseLabel: spellings.get('0') ?? 'No',
    };
  }
  const numbers = present.map((raw) => parseNumber(raw, decimalComma));
  const parsed = numbers.filter((value) => !Number.isNaN(value)).length;
  if (parsed >= 0.95 * present.length) {
    if (new Set(numbers).size < 2) return 'constant';
    return {
      kind: 'numeric',
      name,
      values: Float64Array.from(raws, (raw) =>
        isMissing(raw) ? Number.NaN : parseNumber(raw, decimalComma),
      ),
    };
  }
  const keys = raws.map((raw) => (isMissing(raw) ? '' : categoryKey(raw)));
  const levels = new Set(keys);
  if (levels.size > MAX_LEVELS) return `${levels.size} distinct values: an identifier or free text`;
  if (levels.size < 2) return 'constant';
  return { kind: 'categorical', name, keys, labels: mostCommonSpelling(raws, categoryKey) };
}

export function datasetFromRecords(
  headers: string[],
  records: string[][],
  labelColumn: string,
  sha256: string,
  /** Semicolon-separated files write decimals with a comma (see parseNumber). */
  delimiter = ',',
): LabelledDataset {
  const labelIndex = headers.findIndex(
    (header) => normaliseHeader(header) === normaliseHeader(labelColumn),
  );
  if (labelIndex === -1) {
    throw new CsvInputError(
      `the label column "${labelColumn}" is not in the file. Found: ${headers.map((h) => JSON.stringify(h)).join(', ')}.`,
    );
  }
  const rows = records.filter((record) => record.length === headers.length);
  if (rows.length < records.length) {
    throw new CsvInputError(
      `${records.length - rows.length} of ${records.length} rows do not have ${headers.length} fields; a training file must be clean.`,
    );
  }
  const labels = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const raw = rows[r]?.[labelIndex] as string;
    const value = parseBoolean(raw);
    if (value === undefined) {
      throw new CsvInputError(
        `row ${r + 1}: the label "${labelColumn}" is "${raw}"; labels must be Yes/No, True/False or 1/0.`,
      );
    }
    labels[r] = value;
  }
  const columns: FeatureColumn[] = [];
  const skipped: LabelledDataset['skipped'] = [];
  headers.forEach((header, index) => {
    if (index === labelIndex) return;
    if (looksLikeIdentifier(header)) {
      skipped.push({ column: header, reason: 'identifier' });
      return;
    }
    const column = inferColumn(
      header,
      rows.map((record) => record[index] as string),
      delimiter === ';',
    );
    if (typeof column === 'string') skipped.push({ column: header, reason: column });
    else columns.push(column);
  });
  if (columns.length === 0) throw new CsvInputError('the file has no usable feature columns.');
  return {
    headers,
    columns,
    labels,
    labelColumn: headers[labelIndex] as string,
    skipped,
    fingerprint: { sha256, rows: rows.length, columns: headers.length },
  };
}

export async function readLabelledCsv(file: string, labelColumn: string): Promise<LabelledDataset> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new CsvInputError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const records: string[][] = [];
  let delimiter = ',';
  for await (const batch of readCsvBatches([bytes])) {
    for (const record of batch.records) records.push(record);
    delimiter = batch.delimiter;
  }
  const [headers, ...rows] = records;
  if (headers === undefined || rows.length === 0) {
    throw new CsvInputError(`${file} has no data rows.`);
  }
  return datasetFromRecords(headers, rows, labelColumn, sha256, delimiter);
}
