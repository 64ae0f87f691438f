import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CsvParser } from './csv-reader.js';
import { csvLine } from './csv-writer.js';
import { CsvInputError } from './errors.js';
import { loadModel } from './model-file.js';
import { recordBoundary, scoreCsvStreamParallel } from './score-parallel.js';
import { scoreCsvCounts, scoreCsvStream } from './score-stream.js';
import { telcoRecords } from './test-support/telco.js';

const model = await loadModel('telco-v1');
const telco = telcoRecords();

class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void) {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
  get text() {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Feeds `bytes` in small pieces, as a network upload would arrive. */
function* pieces(bytes: Buffer, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function score(input: string | Buffer, parallel = false) {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const output = new Collect();
  const summary = parallel
    ? await scoreCsvStreamParallel(pieces(bytes, 100_000), output, model, { workers: 2 })
    : await scoreCsvStream(pieces(bytes, 777), output, model);
  const records: string[][] = [];
  new CsvParser(',').push(output.text, true, records);
  return { summary, text: output.text, records };
}

const csv = (rows: string[][], delimiter = ',') =>
  rows.map((row) => (delimiter === ',' ? csvLine(row) : `${row.join(delimiter)}\n`)).join('');

describe('streamed scoring', () => {
  it('keeps every input column in order and adds probability, tier, reasons, protective factors, error and action', async () => {
    const input = csv([
      ['Region', ...telco.headers],
      ...telco.rows.slice(0, 50).map((r) => ['North', ...r]),
    ]);
    const { records, summary } = await score(input);
    expect(records[0]).toEqual([
      'Region',
      ...telco.headers,
      'churn_probability',
      'risk_tier',
      'top_reasons',
      'protective_factors',
      'score_error',
      'recommended_action',
    ]);
    expect(records[1]?.slice(0, 22)).toEqual(['North', ...(telco.rows[0] as string[])]);
    const [probability, tier, reasons, protective, error, action] = records[1]?.slice(22) ?? [];
    expect(Number(probability)).toBeGreaterThan(0);
    expect(['high', 'medium', 'low']).toContain(tier);
    expect(reasons?.split('; ')).toHaveLength(3);
    for (const reason of reasons?.split('; ') ?? []) expect(reason).toMatch(/raises risk \(\+/);
    expect(protective?.split('; ')).toHaveLength(2);
    for (const factor of protective?.split('; ') ?? []) expect(factor).toMatch(/lowers risk \(-/);
    expect(error).toBe('');
    // Telco row 1: month-to-month and new; its strongest reason with a rule decides.
    expect(action).toMatch(/^(Offer an annual contract|New customer: run an onboarding call)/);
    expect(summary.rows).toBe(50);
    expect(summary.tiers.high + summary.tiers.medium + summary.tiers.low).toBe(50);
    expect(summary.unusedColumns).toEqual(['Region', 'customerID', 'Churn']);
    expect(summary.commonReasons.length).toBeGreaterThan(0);
  });

  it('scores semicolon files with a BOM, CRLF and quoted newlines the same as plain CSV', async () => {
    const rows = telco.rows.slice(0, 30);
    const plain = await score(csv([telco.headers, ...rows]));
    const monthly = telco.headers.indexOf('MonthlyCharges');
    // Semicolon exports write decimals with a comma: "29,850" there is 29.85.
    const messy = rows.map((r) =>
      r.map((v, i) => {
        if (i === 0) return `"${v}\nnext line"`;
        if (i === monthly) return Number(v).toFixed(3).replace('.', ',');
        return v;
      }),
    );
    const semicolon = `\uFEFF${csv([telco.headers, ...messy], ';').replaceAll('\n', '\r\n')}`;
    const other = await score(semicolon);
    expect(other.summary.delimiter).toBe(';');
    // Same probabilities and tiers; the reasons quote the file's own spelling of the value.
    expect(other.records.map((r) => r.slice(-6, -4))).toEqual(
      plain.records.map((r) => r.slice(-6, -4)),
    );
    expect(other.records.map((r) => r.at(-1))).toEqual(plain.records.map((r) => r.at(-1)));
    expect(other.records[1]?.at(-4)).toContain(
      'MonthlyCharges is 29,850: strongly raises risk (+0.96)',
    );
    expect(plain.records[1]?.at(-4)).toContain(
      'MonthlyCharges is 29.85: strongly raises risk (+0.96)',
    );
    expect(other.records[1]?.[0]).toBe(`${rows[0]?.[0]}\r\nnext line`);
  });

  it('neutralises formula cells from the input', async () => {
    const row = [...(telco.rows[0] as string[])];
    row[0] = '=HYPERLINK("http://evil")';
    const { records } = await score(csv([telco.headers, row]));
    expect(records[1]?.[0]).toBe(`'=HYPERLINK("http://evil")`);
  });

  it('marks a bad row with an error instead of failing the file', async () => {
    const bad = [...(telco.rows[1] as string[])];
    bad[telco.headers.indexOf('tenure')] = 'n/k';
    const short = (telco.rows[2] as string[]).slice(0, 5);
    const { records, summary } = await score(
      csv([telco.headers, telco.rows[0]!, bad, short, telco.rows[3]!]),
    );
    expect(summary).toMatchObject({ rows: 4, scored: 2, failed: 2 });
    expect(records[2]?.slice(-6)).toEqual(['', '', '', '', 'tenure is "n/k", not a number', '']);
    expect(records[3]?.at(-2)).toBe('the row has 5 fields; the header has 21');
    expect(records[3]).toHaveLength(27);
    expect(summary.firstErrors).toEqual([
      'row 2: tenure is "n/k", not a number',
      'row 3: the row has 5 fields; the header has 21',
    ]);
  });

  it('rejects the file when most rows fail', async () => {
    const bad = telco.rows.slice(0, 10).map((r) => r.slice(0, 3));
    await expect(score(csv([telco.headers, ...bad, telco.rows[0]!]))).rejects.toThrow(
      /^10 of 11 rows could not be scored, so the file was rejected; first: row 1: the row has 3 fields/,
    );
  });

  it('judges a chunk early only when it is the first, whose rows are numbered as in the file', async () => {
    // 2,000 broken rows: enough to judge early, all failing.
    const bad = csv([
      telco.headers,
      ...Array.from({ length: 2000 }, () => telco.rows[0]!.slice(0, 3)),
    ]);
    const first = scoreCsvCounts(bad, new Collect(), model, { chunk: { first: true } });
    await expect(first).rejects.toThrow(
      /could not be scored, so the file was rejected; first: row 1:/,
    );
    // A later chunk keeps its counts: the share is judged over the whole file once assembled.
    const later = await scoreCsvCounts(bad, new Collect(), model, { chunk: { first: false } });
    expect(later.tally).toMatchObject({ rows: 2000, failed: 2000 });
  });

  it('rejects missing columns, invalid UTF-8 and empty files as input errors', async () => {
    const without = telco.headers.filter((h) => h !== 'Contract' && h !== 'tenure');
    await expect(score(csv([without]))).rejects.toThrow(
      /^the file lacks 2 required columns: tenure; Contract\. Found: "customerID"/,
    );
    const latin1 = Buffer.concat([Buffer.from(csv([telco.headers])), Buffer.from([0xe9, 0x0a])]);
    await expect(score(latin1)).rejects.toThrow(CsvInputError);
    await expect(score(latin1, true)).rejects.toThrow(/not valid UTF-8/);
    await expect(score('')).rejects.toThrow('the file is empty: it has no header row.');
  });

  it('cuts chunks for workers only where the parser ends a record', () => {
    const cut = (text: string) => recordBoundary(Buffer.from(text), 44);
    expect(cut('a,b\nc,d\ne')).toBe(8);
    expect(cut('a,"b\nc",d\ne')).toBe(10);
    expect(cut('a,b"c\nd,e\n')).toBe(10);
    expect(cut('a,"b""\n",c\n')).toBe(11);
    expect(cut('a,"open\n')).toBe(-1);
  });

  it('writes the same bytes and summary on worker threads as in-thread', async () => {
    const rows: string[][] = [];
    for (let i = 0; i < 8000; i++) {
      const row = [...(telco.rows[i % telco.rows.length] as string[])];
      if (i % 997 === 0) row[0] = `"quoted\nid ${i}"`;
      // Stray quotes inside unquoted fields are text, not the start of a quoted field.
      if (i % 1009 === 0) row[0] = `id"${i}`;
      if (i % 1499 === 0) row[telco.headers.indexOf('tenure')] = 'unknown';
      // Non-ASCII in the first chunk only: the others are copied through as ASCII bytes.
      if (i === 5) row[0] = 'Zoë 5';
      rows.push(row);
    }
    const input = `\uFEFF\r\n\n${csv([telco.headers, ...rows])}`;
    const inThread = await score(input);
    const parallel = await score(input, true);
    expect(parallel.text).toBe(inThread.text);
    // Sums are grouped by chunk, so the mean may differ in the last bits only.
    const { meanProbability, ...rest } = parallel.summary;
    expect(rest).toEqual({ ...inThread.summary, meanProbability: undefined });
    expect(meanProbability).toBeCloseTo(inThread.summary.meanProbability, 12);
    expect(inThread.summary.failed).toBe(6);
  });
});
