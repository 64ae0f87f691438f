import { describe, expect, it } from 'vitest';
import { binOf, buildDesign, toModelColumns } from './design.js';
import { fitPacked, predictPacked } from './logistic.js';
import { RecordScorer } from './scorer.js';
import { modelFileOf } from './test-support/model.js';
import { telcoRecords, telcoSubset } from './test-support/telco.js';

describe('bins of a numeric column', () => {
  it('send a value to the first bin whose upper edge is at least it', () => {
    const edges = [1, 5, 9];
    expect([0, 1, 1.5, 5, 6, 9, 10].map((x) => binOf(edges, x))).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect(binOf([], 3)).toBe(0);
  });

  it('score exactly as the design fitted them, blanks in a bin of their own', async () => {
    const rows = 3000;
    const dataset = await telcoSubset(rows);
    const all = Int32Array.from({ length: rows }, (_, i) => i);
    const fitted = buildDesign(
      dataset,
      new Map([
        ['tenure', ['linear', 'bins']],
        ['TotalCharges', ['bins']],
      ]),
      all,
    );
    const beta = fitPacked(fitted.design, dataset.labels, { l2: 1 });
    const { intercept, columns } = toModelColumns(fitted, beta);
    const total = columns.find((column) => column.name === 'TotalCharges');
    expect(total?.kind === 'numeric' && total.bins?.missingLevel).toBe(true);
    expect(total?.kind === 'numeric' && total.missing).toBeUndefined();
    const tenure = columns.find((column) => column.name === 'tenure');
    expect(tenure?.kind === 'numeric' && tenure.bins?.levels.length).toBeGreaterThan(5);
    const model = modelFileOf({ name: 'bins', label: 'Churn', intercept, columns, rows });
    const logits = predictPacked(fitted.design, beta, all);
    const { headers, rows: records } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    let blanks = 0;
    for (let r = 0; r < rows; r++) {
      const record = records[r] as string[];
      if (record[headers.indexOf('TotalCharges')]?.trim() === '') blanks++;
      expect(scorer.score(record).logit).toBeCloseTo(logits[r] as number, 9);
    }
    expect(blanks).toBeGreaterThan(0);
  });
});
