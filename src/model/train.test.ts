import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  crossCalibratedProbabilities,
  outOfFoldLogits,
  stratifiedFolds,
} from './cross-validation.js';
import { calibrationTable } from './metrics.js';
import { loadModel, parseModel, serialiseModel, shippedModelPath } from './model-file.js';
import { telcoPath, telcoSubset } from './test-support/telco.js';
import { trainModel } from './train.js';

const quick = { folds: 3, repeats: 1, l2Grid: [1, 10] } as const;

describe('training', () => {
  it('is deterministic: the same data gives the same model file, byte for byte', () => {
    const dataset = telcoSubset(1200);
    const first = serialiseModel(trainModel(dataset, { name: 'a', ...quick }));
    const second = serialiseModel(trainModel(telcoSubset(1200), { name: 'a', ...quick }));
    expect(second).toBe(first);
    expect(createHash('sha256').update(first).digest('hex')).toHaveLength(64);
  });

  it('never uses the identifier or the label, and keeps engineered features only on gain', () => {
    const model = trainModel(telcoSubset(1200), { name: 'b', ...quick });
    const names = model.columns.map((column) => column.name);
    expect(names).not.toContain('customerID');
    expect(names).not.toContain('Churn');
    expect(model.training.skippedColumns).toEqual([{ column: 'customerID', reason: 'identifier' }]);
    for (const entry of model.training.engineered) {
      expect(entry.kept).toBe(entry.gain >= 0.0005);
    }
    expect(parseModel(serialiseModel(model), 'memory')).toEqual(model);
  });

  it('gives calibrated out-of-fold probabilities', () => {
    const dataset = telcoSubset(3000);
    const assignment = stratifiedFolds(dataset.labels, 5, 11);
    const plan = { transforms: new Map(), l2: 1 };
    const logits = outOfFoldLogits(dataset, plan, assignment, 5);
    const probabilities = crossCalibratedProbabilities(logits, dataset.labels, assignment, 5);
    for (const bin of calibrationTable(dataset.labels, probabilities)) {
      if (bin.rows >= 100)
        expect(Math.abs(bin.meanPredicted - bin.observedRate)).toBeLessThan(0.08);
    }
  });
});

describe('the shipped telco-v1 model', () => {
  it('loads by name, fingerprints the data it came from, and meets the CV goals', async () => {
    const model = await loadModel('telco-v1');
    expect(model.name).toBe('telco-v1');
    const sha = createHash('sha256').update(readFileSync(telcoPath)).digest('hex');
    expect(model.training.fingerprint).toEqual({ sha256: sha, rows: 7043, columns: 21 });
    const cv = model.training.crossValidation;
    expect([cv.folds, cv.repeats]).toEqual([5, 3]);
    expect(cv.mean.rocAuc).toBeGreaterThanOrEqual(0.848);
    expect(cv.mean.rocAuc).toBeLessThan(0.86);
    expect(cv.mean.brier).toBeLessThanOrEqual(0.134);
    expect(model.tiers.high).toBeGreaterThan(model.tiers.medium);
    expect(serialiseModel(model)).toBe(readFileSync(shippedModelPath('telco-v1'), 'utf8'));
  });
});
