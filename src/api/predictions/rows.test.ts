import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readResultRows } from './rows.js';

describe('readResultRows (predictions without a rows index)', () => {
  it('reads results as comma-separated even when a column name is full of semicolons', async () => {
    // Detection would pick ';' from this header line; results are always written with ','.
    const csv =
      'customerID,notes;a;b;c;d;e;f;g,churn_probability,risk_tier,top_reasons,score_error\n' +
      'C-1,x,0.8,high,tenure is 1 (short); contract is monthly,\n' +
      'C-2,y,0.1,low,,\n';
    const page = await readResultRows(Readable.from([csv]), {
      sort: 'probability_desc',
      offset: 0,
      limit: 10,
    });
    expect(page.total).toBe(2);
    expect(page.rows[0]).toMatchObject({
      customerId: 'C-1',
      churnProbability: 0.8,
      riskTier: 'high',
      topReasons: ['tenure is 1 (short)', 'contract is monthly'],
      protectiveFactors: [],
      values: { customerID: 'C-1', 'notes;a;b;c;d;e;f;g': 'x' },
    });
  });

  it('serves the protective factors of results that have them', async () => {
    const csv =
      'customerID,churn_probability,risk_tier,top_reasons,protective_factors,score_error\n' +
      'C-1,0.2,low,x: slightly raises risk (+0.10),Contract is Two year: strongly lowers risk (-1.13); tenure is 60: lowers risk (-0.40),\n';
    const page = await readResultRows(Readable.from([csv]), { sort: 'row', offset: 0, limit: 10 });
    expect(page.rows[0]).toMatchObject({
      topReasons: ['x: slightly raises risk (+0.10)'],
      protectiveFactors: [
        'Contract is Two year: strongly lowers risk (-1.13)',
        'tenure is 60: lowers risk (-0.40)',
      ],
      values: { customerID: 'C-1' },
    });
  });
});
