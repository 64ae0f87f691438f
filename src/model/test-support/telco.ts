import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CsvParser } from '../csv-reader.js';
import { csvLine } from '../csv-writer.js';
import { datasetFromText, type LabelledDataset } from '../dataset.js';

export const telcoPath = fileURLToPath(
  new URL('../../../data/telco-customer-churn.csv', import.meta.url),
);

/** The Telco header and rows, parsed once per test file. */
export function telcoRecords(): { headers: string[]; rows: string[][] } {
  const records: string[][] = [];
  new CsvParser().push(readFileSync(telcoPath, 'utf8'), true, records);
  const [headers, ...rows] = records as [string[], ...string[][]];
  return { headers, rows };
}

/** The first `rows` Telco customers as a training set (small, so tests stay quick). */
export function telcoSubset(rows: number): Promise<LabelledDataset> {
  const telco = telcoRecords();
  const text = [telco.headers, ...telco.rows.slice(0, rows)]
    .map((record) => csvLine(record))
    .join('');
  return datasetFromText(text, { labelColumn: 'Churn', asOfDays: 0 });
}
