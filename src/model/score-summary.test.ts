import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CsvParser } from './csv-reader.js';
import { csvLine } from './csv-writer.js';
import { loadModel } from './model-file.js';
import { scoreCsvStreamParallel } from './score-parallel.js';
import { currencyFrom, scoreCsvStream } from './score-stream.js';
import { monthlyRevenueColumn } from './synonyms.js';
import { telcoRecords } from './test-support/telco.js';

const model = await loadModel('telco-v1');
const telco = telcoRecords();
const monthly = telco.headers.indexOf('MonthlyCharges');

class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void) {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
}

async function score(text: string, parallel = false) {
  const output = new Collect();
  const input = [Buffer.from(text)];
  const summary = parallel
    ? await scoreCsvStreamParallel(input, output, model, { workers: 2 })
    : await scoreCsvStream(input, output, model);
  const records: string[][] = [];
  new CsvParser(',').push(Buffer.concat(output.chunks).toString('utf8'), true, records);
  return { summary, records };
}

const csv = (rows: string[][]) => rows.map((row) => csvLine(row)).join('');

describe('the summary', () => {
  it('counts scored rows in 20 bands of 0.05 of the probability as written', async () => {
    const { summary, records } = await score(csv([telco.headers, ...telco.rows]));
    const expected = new Array<number>(20).fill(0);
    for (const record of records.slice(1)) {
      const probability = Number(record.at(-6));
      expected[Math.min(19, Math.floor(Math.round(probability * 10_000) / 500))]!++;
    }
    expect(summary.probabilityHistogram).toEqual(expected);
    expect(summary.probabilityHistogram.reduce((a, b) => a + b, 0)).toBe(summary.scored);
  });

  it('prices the risk from the monthly revenue column (MonthlyCharges on the Telco set)', async () => {
    const { summary, records } = await score(csv([telco.headers, ...telco.rows]));
    let total = 0;
    let loss = 0;
    let high = 0;
    for (const record of records.slice(1)) {
      const revenue = Number(record[monthly]);
      total += revenue;
      loss += Number(record.at(-6)) * revenue;
      if (record.at(-5) === 'high') high += revenue;
    }
    expect(summary.revenue?.column).toBe('MonthlyCharges');
    expect(Math.abs((summary.revenue?.monthlyTotal ?? 0) - total)).toBeLessThanOrEqual(0.01);
    expect(Math.abs((summary.revenue?.expectedMonthlyLoss ?? 0) - loss)).toBeLessThanOrEqual(0.01);
    expect(Math.abs((summary.revenue?.highRiskMonthly ?? 0) - high)).toBeLessThanOrEqual(0.01);
    // Telco: 7,043 customers paying about $456k a month, of which about a quarter is at risk.
    expect(summary.revenue?.monthlyTotal).toBeCloseTo(456_116.6, 1);
    expect(summary.revenue!.expectedMonthlyLoss / summary.revenue!.monthlyTotal).toBeGreaterThan(
      0.2,
    );
    expect(summary.revenue!.highRiskMonthly).toBeLessThan(summary.revenue!.monthlyTotal);
    // Its values and header name no currency.
    expect(summary.revenue?.currency).toBeNull();
  });

  it('names the currency the revenue values name, else the header, else none', async () => {
    const at = telco.headers.indexOf('MonthlyCharges');
    const withCells = (header: string, cell: (value: string, row: number) => string) =>
      csv([
        telco.headers.map((name, i) => (i === at ? header : name)),
        ...telco.rows
          .slice(0, 200)
          .map((row, r) => row.map((value, i) => (i === at ? cell(value, r) : value))),
      ]);
    const currency = async (text: string) => (await score(text)).summary.revenue?.currency;
    expect(await currency(withCells('MonthlyCharges', (v) => `€${v}`))).toBe('€');
    expect(await currency(withCells('MonthlyCharges', (v) => `${v} GBP`))).toBe('GBP');
    // Values naming none, or different ones between them: the header decides.
    expect(currencyFrom(new Map([['', 200]]), 'MRR (USD)')).toBe('USD');
    expect(
      currencyFrom(
        new Map([
          ['€', 100],
          ['£', 100],
        ]),
        'MRR ($)',
      ),
    ).toBe('$');
    expect(
      currencyFrom(
        new Map([
          ['€', 199],
          ['', 1],
        ]),
        'MRR ($)',
      ),
    ).toBe('€');
    expect(currencyFrom(new Map([['', 200]]), 'MonthlyCharges')).toBeNull();
  });

  it('is the same on worker threads, to the cent, with failed rows and unreadable revenue', async () => {
    const rows = Array.from({ length: 9000 }, (_, i) => {
      const row = [...(telco.rows[i % telco.rows.length] as string[])];
      if (i % 701 === 0) row[telco.headers.indexOf('tenure')] = 'unknown';
      if (i % 499 === 0) row[monthly] = 'n/a';
      if (i % 311 === 0) row[monthly] = '$1,234.57';
      return row;
    });
    const text = csv([telco.headers, ...rows]);
    const inThread = await score(text);
    const parallel = await score(text, true);
    expect(parallel.summary.revenue).toEqual(inThread.summary.revenue);
    expect(parallel.summary.probabilityHistogram).toEqual(inThread.summary.probabilityHistogram);
    expect(inThread.summary.revenue?.monthlyTotal).toBeGreaterThan(0);
  });

  it('reads revenue in the notation of the file, and prefers a column named for revenue', async () => {
    const rows = telco.rows.slice(0, 200);
    const plain = await score(csv([telco.headers, ...rows]));
    const semicolon = [telco.headers, ...rows]
      .map((r, n) =>
        r.map((v, i) => (n > 0 && i === monthly ? Number(v).toFixed(2).replace('.', ',') : v)),
      )
      .map((r) => `${r.join(';')}\n`)
      .join('');
    expect((await score(semicolon)).summary.revenue).toEqual(plain.summary.revenue);

    const withMrr = [[...telco.headers, 'MRR'], ...rows.map((r) => [...r, '100'])];
    const mrr = await score(csv(withMrr));
    expect(mrr.summary.revenue).toMatchObject({ column: 'MRR', monthlyTotal: 20_000 });
  });

  it('counts the most common reasons that raise risk, a number by its column', async () => {
    const { summary, records } = await score(csv([telco.headers, ...telco.rows]));
    const reasonsAt = (records[0] as string[]).indexOf('top_reasons');
    const numeric = model.columns.filter((c) => c.kind === 'numeric').map((c) => c.name);
    const expected = new Map<string, number>();
    for (const record of records.slice(1)) {
      const cell = record[reasonsAt] as string;
      for (const reason of cell === '' ? [] : cell.split('; ')) {
        expect(reason).toMatch(/: (slightly |strongly )?raises risk \(\+\d\.\d\d\)$/);
        const label = reason.slice(0, reason.indexOf(': '));
        const column = numeric.find((name) => label.startsWith(`${name} is `));
        const kind = column === undefined ? label : `${column} raises risk`;
        expected.set(kind, (expected.get(kind) ?? 0) + 1);
      }
    }
    const top = [...expected]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5)
      .map(([reason, rows]) => ({ reason, rows }));
    expect(summary.commonReasons).toEqual(top);
    expect(summary.commonReasons.map((r) => r.reason)).toContain('tenure raises risk');
    expect(summary.commonReasons.map((r) => r.reason)).toContain('Contract is Month-to-month');
  });

  it('recognises the usual names of a monthly revenue column', () => {
    for (const header of [
      'MonthlyCharges',
      'monthly_charges',
      'MRR',
      'monthly_revenue',
      'Monthly Spend ($)',
      'Monatsbeitrag',
      'Monatsgebühr (€)',
      'Mensualité',
      'Cuota mensual',
      'Mensalidade',
    ]) {
      expect(monthlyRevenueColumn(['customerID', header]), header).toBe(1);
    }
    expect(monthlyRevenueColumn(['customerID', 'TotalCharges', 'tenure'])).toBe(-1);
  });
});
