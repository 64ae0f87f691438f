import { describe, expect, it } from 'vitest';
import { fitReport } from './fit-report.js';
import { loadModel } from './model-file.js';
import { telcoRecords } from './test-support/telco.js';

const telco = telcoRecords();
const sample = telco.rows.slice(0, 2000);

function withHeaders(rename: Record<string, string>, drop: string[] = []) {
  const keep = telco.headers
    .map((header, index) => (drop.includes(header) ? -1 : index))
    .filter((i) => i >= 0);
  return {
    headers: keep.map(
      (index) => rename[telco.headers[index] as string] ?? (telco.headers[index] as string),
    ),
    records: sample.map((record) => keep.map((index) => record[index] as string)),
  };
}

describe('the column fit report', () => {
  it('finds every Telco input by name and calls the fit good', async () => {
    const model = await loadModel('telco-v1');
    const report = fitReport(model, telco.headers, sample);
    expect(report.verdict).toBe('good');
    expect(report.coverage).toBeCloseTo(1, 10);
    expect(report.rowsChecked).toBe(2000);
    expect(
      report.inputs.every((fit) => fit.matchedBy === 'exact' && fit.parsed === fit.present),
    ).toBe(true);
    expect(report.unusedColumns).toEqual(['customerID', 'Churn']);
    const shares = report.inputs.reduce((sum, fit) => sum + fit.importance, 0);
    expect(shares).toBeCloseTo(1, 10);
  });

  it('says how each input was found, and weighs a missing one by its importance', async () => {
    const model = await loadModel('telco-v1');
    const renamed = withHeaders({ MonthlyCharges: 'Monthly Fee ($)' }, ['gender']);
    const report = fitReport(model, renamed.headers, renamed.records);
    const monthly = report.inputs.find((fit) => fit.input === 'MonthlyCharges');
    expect(monthly).toMatchObject({ column: 'Monthly Fee ($)', matchedBy: 'synonym' });
    const gender = report.inputs.find((fit) => fit.input === 'gender');
    expect(gender).toMatchObject({ column: null, matchedBy: null, present: 0 });
    expect(report.coverage).toBeCloseTo(1 - (gender?.importance as number), 10);
    expect(report.verdict).toBe('usable');
    expect(report.message).toMatch(
      /no column for gender\)\. A missing input counts as an average customer's/,
    );
  });

  it("uses the user's choice of column, and counts values that do not read, with examples", async () => {
    const model = await loadModel('telco-v1');
    const renamed = withHeaders({ tenure: 'Months' });
    const months = renamed.headers.indexOf('Months');
    renamed.records.forEach((record, r) => {
      if (r % 10 === 0) record[months] = r % 20 ? 'ten' : 'unknown';
    });
    const missing = fitReport(model, renamed.headers, renamed.records);
    expect(missing.inputs.find((fit) => fit.input === 'tenure')?.column).toBeNull();
    const chosen = fitReport(model, renamed.headers, renamed.records, {
      overrides: { tenure: 'Months' },
    });
    const tenure = chosen.inputs.find((fit) => fit.input === 'tenure');
    expect(tenure).toMatchObject({
      column: 'Months',
      matchedBy: 'override',
      present: 2000,
      parsed: 1800,
    });
    expect(tenure?.examples).toEqual(['unknown', 'ten']);
    expect(chosen.verdict).toBe('usable');
    expect(() =>
      fitReport(model, renamed.headers, renamed.records, { overrides: { tenure: 'Nope' } }),
    ).toThrow(/the column "Nope" chosen for tenure is not in the file/);
  });

  it('calls a file that shares almost nothing with the model poor, with the three ways out', async () => {
    const model = await loadModel('telco-v1');
    // tenure reads, so some of the model is there, far too little of it.
    const report = fitReport(
      model,
      ['Account ID', 'Plan', 'MRR ($)', 'Contract', 'tenure'],
      [['A1', 'Pro', '$10', 'Annual', '12']],
    );
    expect(report.verdict).toBe('poor');
    expect(report.coverage).toBeGreaterThan(0);
    const contract = report.inputs.find((fit) => fit.input === 'Contract');
    expect(contract).toMatchObject({
      present: 1,
      parsed: 0,
      unknownCategories: 1,
      examples: ['Annual'],
    });
    expect(report.inputs.find((fit) => fit.input === 'MonthlyCharges')?.closest).toEqual([
      'MRR ($)',
    ]);
    expect(report.message).toMatch(
      /Map your columns to the missing inputs, train a model on this file, or score anyway with allowPartialFit/,
    );
    expect(report.message).toMatch(/categories it never saw in Contract/);
    expect(report.message).toMatch(/no column for gender, SeniorCitizen, .* and 9 more/);
  });

  it('offers no scoring anyway when nothing of the model can be read, as the API refuses it', async () => {
    const model = await loadModel('telco-v1');
    const report = fitReport(model, ['Account ID', 'Contract'], [['A1', 'Annual']]);
    expect(report.coverage).toBe(0);
    expect(report.message).toMatch(
      /^None of what this model relies on can be read from the file \(no column for .*; categories it never saw in Contract\)\. Map your columns to its inputs, or train a model on this file\.$/,
    );
  });
});
