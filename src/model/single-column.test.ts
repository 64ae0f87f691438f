import { describe, expect, it } from 'vitest';
import type { FeatureColumn } from './dataset.js';
import { singleColumnAucs } from './single-column.js';

describe("a column's ROC AUC on its own", () => {
  it('places blanks where they rank churners best (never logged in can be the riskiest)', () => {
    // Stayers have 0-9; churners have 10-19 or a blank.
    const values: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 200; i++) {
      const churned = i % 2 === 1;
      labels.push(churned ? 1 : 0);
      values.push(churned ? (i % 4 === 1 ? Number.NaN : 10 + (i % 10)) : i % 10);
    }
    const column: FeatureColumn = {
      kind: 'numeric',
      name: 'Days since last login',
      values: Float64Array.from(values),
    };
    const rows = Int32Array.from(labels, (_, row) => row);
    expect(singleColumnAucs([column], rows, Float64Array.from(labels))).toEqual([
      { column: 'Days since last login', rocAuc: 1 },
    ]);
  });
});
