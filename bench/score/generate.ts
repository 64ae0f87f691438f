/**
 * Writes a Telco-shaped CSV of any size: rows drawn (seeded, so every run writes the same file)
 * from the real Telco data with fresh customer ids and jittered charges, so values are not just
 * repeats of 7,043 lines.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { seededRandom } from '../../src/model/cross-validation.js';
import { CsvParser } from '../../src/model/csv-reader.js';
import { csvLine } from '../../src/model/csv-writer.js';

export async function generateTelcoCsv(
  source: string,
  target: string,
  rows: number,
): Promise<void> {
  const records: string[][] = [];
  new CsvParser().push(await readFile(source, 'utf8'), true, records);
  const [headers, ...data] = records as [string[], ...string[][]];
  const monthly = headers.indexOf('MonthlyCharges');
  const total = headers.indexOf('TotalCharges');
  const id = headers.indexOf('customerID');
  const random = seededRandom(20_240_601);
  const out = createWriteStream(target, { highWaterMark: 1 << 20 });
  const write = (text: string): Promise<void> | undefined =>
    out.write(text)
      ? undefined
      : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await write(csvLine(headers));
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const record = [...(data[Math.floor(random() * data.length)] as string[])];
    record[id] = `${String(i).padStart(7, '0')}-SYNTH`;
    const factor = 0.9 + 0.2 * random();
    record[monthly] = (Number(record[monthly]) * factor).toFixed(2);
    if ((record[total] as string).trim() !== '') {
      record[total] = (Number(record[total]) * factor).toFixed(2);
    }
    chunk += csvLine(record);
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}
