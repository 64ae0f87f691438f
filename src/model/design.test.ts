import { describe, expect, it } from 'vitest';
import { stratifiedFolds } from './cross-validation.js';
import { buildDesign, carryCoefficients, toModelColumns } from './design.js';
import { fitLogistic, fitPacked, foldHessians, oneStepGain } from './logistic.js';
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

  it('names every feature the same in every plan, so a fit carries over to a new one', async () => {
    const dataset = await telcoSubset(2000);
    const all = Int32Array.from(dataset.labels, (_, row) => row);
    const plain = buildDesign(dataset, new Map(), all).design;
    const richer = buildDesign(
      dataset,
      new Map([['tenure', ['linear', 'log1p', 'bins']]]),
      all,
    ).design;
    expect(new Set(plain.keys).size).toBe(plain.features);
    expect(new Set(richer.keys).size).toBe(richer.features);
    // The richer plan adds a log term and ten-odd bins, and keeps every plain feature.
    const added = richer.keys.filter((key) => !plain.keys.includes(key));
    expect(added.length).toBe(richer.features - plain.features);
    expect(added.every((key) => key.startsWith('tenure\u0000'))).toBe(true);

    const fit = fitPacked(plain, dataset.labels, { l2: 1 });
    const start = carryCoefficients(richer.keys, { keys: plain.keys, beta: fit });
    expect(start[0]).toBe(fit[0]);
    richer.keys.forEach((key, f) => {
      const before = plain.keys.indexOf(key);
      expect(start[f + 1]).toBe(before === -1 ? 0 : fit[before + 1]);
    });
    // From there the richer fit lands where a cold one does.
    const cold = fitPacked(richer, dataset.labels, { l2: 1 });
    const warm = fitPacked(richer, dataset.labels, { l2: 1, start });
    for (let i = 0; i < cold.length; i++) expect(warm[i]).toBeCloseTo(cold[i] as number, 7);
  });

  it('gives each fold its Hessian from one pass, and the folds their own optimum from it', async () => {
    const dataset = await telcoSubset(2000);
    const all = Int32Array.from(dataset.labels, (_, row) => row);
    const { design } = buildDesign(dataset, new Map([['tenure', ['linear', 'bins']]]), all);
    const full = fitPacked(design, dataset.labels, { l2: 1 });
    const assignment = stratifiedFolds(dataset.labels, 5, 3);
    const hessians = foldHessians(design, full, assignment, 5, 1);
    for (let fold = 0; fold < 5; fold++) {
      const rows = all.filter((row) => assignment[row] !== fold);
      const own = fitPacked(design, dataset.labels, { l2: 1, rows });
      const shared = fitPacked(design, dataset.labels, {
        l2: 1,
        rows,
        start: full,
        hessian: hessians[fold] as Float64Array,
      });
      for (let i = 0; i < own.length; i++) expect(shared[i]).toBeCloseTo(own[i] as number, 7);
    }
  });

  it('screens a new feature by its one-step gain: close to the real one, and none for noise', async () => {
    const dataset = await telcoSubset(2000);
    const all = Int32Array.from(dataset.labels, (_, row) => row);
    const lossAt = (design: ReturnType<typeof buildDesign>['design'], beta: Float64Array) => {
      let loss = 0;
      for (let r = 0; r < design.rows; r++) {
        let z = beta[0] as number;
        for (let f = 0; f < design.dense; f++) {
          z += (beta[f + 1] as number) * (design.denseValues[r * design.dense + f] as number);
        }
        for (let s = 0; s < design.sparse; s++) {
          z += beta[(design.sparseIndexes[r * design.sparse + s] as number) + 1] as number;
        }
        const y = dataset.labels[r] as number;
        loss += Math.log1p(Math.exp(-Math.abs(z))) + Math.max(z, 0) - y * z;
      }
      let penalty = 0;
      for (let i = 1; i < beta.length; i++) penalty += (beta[i] as number) ** 2 / 2;
      return (loss + penalty) / design.rows;
    };
    const base = buildDesign(dataset, new Map(), all).design;
    const baseFit = fitPacked(base, dataset.labels, { l2: 1 });
    const logged = buildDesign(dataset, new Map([['tenure', ['linear', 'log1p']]]), all).design;
    const start = carryCoefficients(logged.keys, { keys: base.keys, beta: baseFit });
    const estimate = oneStepGain(logged, dataset.labels, start, { l2: 1 });
    const real =
      lossAt(base, baseFit) - lossAt(logged, fitPacked(logged, dataset.labels, { l2: 1 }));
    expect(real).toBeGreaterThan(0.002);
    expect(estimate).toBeGreaterThan(real * 0.8);
    expect(estimate).toBeLessThan(real * 1.25);
    // At its own optimum, nothing is left to gain.
    const fitted = fitPacked(logged, dataset.labels, { l2: 1 });
    expect(oneStepGain(logged, dataset.labels, fitted, { l2: 1 })).toBeLessThan(1e-12);
  });
});
