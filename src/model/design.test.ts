import { describe, expect, it } from 'vitest';
import { buildDesign, toModelColumns } from './design.js';
import { fitLogistic, fitPacked } from './logistic.js';
import { telcoSubset } from './test-support/telco.js';

describe('the packed design', () => {
  it('fits exactly the weights of the centred dense encoding the model file stores', async () => {
    const dataset = await telcoSubset(1500);
    const all = Int32Array.from(dataset.labels, (_, row) => row);
    const fitted = buildDesign(dataset, new Map([['tenure', ['linear', 'log1p']]]), all);
    const { design } = fitted;
    expect(design.sparse).toBeGreaterThan(5);

    // The same rows as a dense matrix with every one-hot feature centred on its frequency.
    const width = design.features;
    const values = new Float64Array(design.rows * width);
    for (let r = 0; r < design.rows; r++) {
      for (let f = 0; f < design.dense; f++) {
        values[r * width + f] = design.denseValues[r * design.dense + f] as number;
      }
      for (let f = design.dense; f < width; f++)
        values[r * width + f] = -(design.centres[f] as number);
      for (let s = 0; s < design.sparse; s++) {
        const f = design.sparseIndexes[r * design.sparse + s] as number;
        values[r * width + f] = (values[r * width + f] as number) + 1;
      }
    }
    const dense = fitLogistic({ rows: design.rows, columns: width, values }, dataset.labels, {
      l2: 2,
    });
    const packed = fitPacked(design, dataset.labels, { l2: 2 });
    const { intercept } = toModelColumns(fitted, packed);
    expect(intercept).toBeCloseTo(dense.intercept, 7);
    for (let f = 0; f < width; f++)
      expect(packed[f + 1]).toBeCloseTo(dense.weights[f] as number, 7);
  });

  it('starts from a neighbouring fit and lands on the same optimum', async () => {
    const dataset = await telcoSubset(2000);
    const all = Int32Array.from(dataset.labels, (_, row) => row);
    const { design } = buildDesign(dataset, new Map(), all);
    const half = all.filter((row) => row % 2 === 0);
    const cold = fitPacked(design, dataset.labels, { l2: 1, rows: half });
    const neighbour = fitPacked(design, dataset.labels, {
      l2: 1,
      rows: all.filter((row) => row % 3),
    });
    const warm = fitPacked(design, dataset.labels, { l2: 1, rows: half, start: neighbour });
    for (let i = 0; i < cold.length; i++) expect(warm[i]).toBeCloseTo(cold[i] as number, 7);
  });
});
