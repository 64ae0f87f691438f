import { describe, expect, it } from 'vitest';
import { buildDesign, toModelColumns } from './design.js';
import { fitPacked, predictPacked } from './logistic.js';
import { loadModel, type ModelFile } from './model-file.js';
import { RecordScorer, RowError, topContributions } from './scorer.js';
import { synonymsFor } from './synonyms.js';
import { telcoRecords, telcoSubset } from './test-support/telco.js';

/** A model fitted directly on a packed design, to check the scorer against plain X·w. */
async function directModel(rows: number) {
  const dataset = await telcoSubset(rows);
  const all = Int32Array.from({ length: rows }, (_, i) => i);
  const fitted = buildDesign(dataset, new Map([['tenure', ['linear', 'log1p'] as const]]), all);
  const beta = fitPacked(fitted.design, dataset.labels, { l2: 1 });
  const { intercept, columns } = toModelColumns(fitted, beta);
  const model: ModelFile = {
    format: 'churnline-model',
    formatVersion: 2,
    name: 'direct',
    label: 'Churn',
    intercept,
    columns: columns.map((column) => ({
      ...column,
      synonyms: synonymsFor(column.name),
    })),
    calibration: { method: 'platt', slope: 1, intercept: 0 },
    tiers: { high: 0.5, medium: 0.25 },
    training: {
      rows,
      positives: 0,
      fingerprint: { sha256: '', rows, columns: 21 },
      l2: 1,
      skippedColumns: [],
      engineered: [],
      crossValidation: {
        folds: 0,
        repeats: 0,
        mean: { rows: 0, rocAuc: 0, prAuc: 0, brier: 0, logLoss: 0 },
        perRepeat: [],
      },
    },
  };
  return { model, logits: predictPacked(fitted.design, beta, all) };
}

describe('scoring a record', () => {
  it('gives the same logit as the design matrix, and contributions sum to it exactly', async () => {
    const { model, logits } = await directModel(800);
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    for (let r = 0; r < 800; r++) {
      const scored = scorer.score(rows[r] as string[]);
      expect(scored.logit).toBeCloseTo(logits[r] as number, 10);
      const sum = scored.contributions.reduce((total, c) => total + c, model.intercept);
      expect(Math.abs(sum - scored.logit)).toBeLessThan(1e-12);
    }
  });

  it('explains a score with the three largest contributions, readable', async () => {
    const model = await loadModel('telco-v1');
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    const record = rows[0] as string[];
    const scored = scorer.score(record);
    const top = topContributions(scored.contributions, 3);
    const sizes = top.map((i) => Math.abs(scored.contributions[i] as number));
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    const smallestTop = sizes[2] as number;
    scored.contributions.forEach((c, i) => {
      if (!top.includes(i)) expect(Math.abs(c)).toBeLessThanOrEqual(smallestTop);
    });
    const reasons = scorer.reasons(record, scored, top);
    expect(reasons.split('; ')).toHaveLength(3);
    expect(reasons).toMatch(/^tenure is 1 \(\+\d\.\d\d\); /);
    expect(reasons).toContain('InternetService is DSL (-');
  });

  it('reads dirty values and scores unknown categories as neutral', async () => {
    const model = await loadModel('telco-v1');
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    const clean = [...(rows[1] as string[])];
    const dirty = [...clean];
    const at = (name: string) => headers.indexOf(name);
    dirty[at('MonthlyCharges')] = ` $${clean[at('MonthlyCharges')]} `;
    dirty[at('Contract')] = '  one   YEAR ';
    dirty[at('Partner')] = 'FALSE';
    expect(scorer.score(dirty).logit).toBe(scorer.score(clean).logit);

    const unknown = [...clean];
    unknown[at('PaymentMethod')] = 'Crypto';
    const payment = model.columns.findIndex((column) => column.name === 'PaymentMethod');
    expect(scorer.score(unknown).contributions[payment]).toBe(0);
    expect(scorer.unknownCategories.get('PaymentMethod')).toBe(1);
  });

  it('uses the missing indicator for a blank number and refuses text in a number', async () => {
    const model = await loadModel('telco-v1');
    const { headers, rows } = telcoRecords();
    const scorer = new RecordScorer(model, headers);
    const record = [...(rows[2] as string[])];
    record[headers.indexOf('TotalCharges')] = ' ';
    const total = model.columns.find((column) => column.name === 'TotalCharges');
    expect(total?.kind === 'numeric' && total.missing).toBeTruthy();
    expect(Number.isFinite(scorer.score(record).probability)).toBe(true);
    record[headers.indexOf('tenure')] = 'twelve';
    expect(() => scorer.score(record)).toThrow(RowError);
    expect(() => scorer.score(record)).toThrow('tenure is "twelve", not a number');
  });
});
