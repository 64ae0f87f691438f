import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  crossCalibratedProbabilities,
  outOfFoldLogits,
  seededRandom,
  stratifiedFolds,
} from './cross-validation.js';
import { datasetFromText, readLabelledDataset } from './dataset.js';
import { buildDesign } from './design.js';
import { calibrationTable } from './metrics.js';
import { loadModel, parseModel, serialiseModel, shippedModelPath } from './model-file.js';
import { leakWarnings } from './single-column.js';
import { telcoPath, telcoSubset } from './test-support/telco.js';
import { trainModel } from './train.js';

const quick = { folds: 3, repeats: 1, l2Grid: [1, 10] } as const;

describe('training', () => {
  it('is deterministic: the same data gives the same model file, byte for byte, on 1 or 2 threads', async () => {
    const dataset = await telcoSubset(1200);
    const first = serialiseModel(await trainModel(dataset, { name: 'a', ...quick, threads: 1 }));
    // Threads take the cross-validation runs in any order; the model must not depend on it.
    const second = serialiseModel(
      await trainModel(await telcoSubset(1200), { name: 'a', ...quick, threads: 2 }),
    );
    expect(second).toBe(first);
    expect(createHash('sha256').update(first).digest('hex')).toHaveLength(64);
  });

  it('never uses the identifier or the label, and keeps engineered features only on gain', async () => {
    const model = await trainModel(await telcoSubset(1200), { name: 'b', ...quick, threads: 1 });
    const names = model.columns.map((column) => column.name);
    expect(names).not.toContain('customerID');
    expect(names).not.toContain('Churn');
    expect(model.training.skippedColumns).toEqual([{ column: 'customerID', reason: 'identifier' }]);
    for (const entry of model.training.engineered) {
      expect(entry.kept).toBe(entry.gain >= 0.0005);
      // A candidate ruled out by its in-sample gain never reached the threshold.
      if (entry.screened) expect(entry.gain).toBeLessThan(0.0005);
    }
    expect(model.training.engineered.some((entry) => entry.screened)).toBe(true);
    expect(model.training.engineered.some((entry) => !entry.screened)).toBe(true);
    expect(parseModel(serialiseModel(model), 'memory')).toEqual(model);
  });

  it('gives calibrated out-of-fold probabilities', async () => {
    const dataset = await telcoSubset(3000);
    const assignment = stratifiedFolds(dataset.labels, 5, 11);
    const all = Int32Array.from(dataset.labels, (_, row) => row);
    const { design } = buildDesign(dataset, new Map(), all);
    const { logits } = outOfFoldLogits(design, dataset.labels, assignment, 5, 1);
    const probabilities = crossCalibratedProbabilities(logits, dataset.labels, assignment, 5);
    for (const bin of calibrationTable(dataset.labels, probabilities)) {
      if (bin.rows >= 100)
        expect(Math.abs(bin.meanPredicted - bin.observedRate)).toBeLessThan(0.08);
    }
  });
});

describe('a column that leaks the label', () => {
  it('trains without failing, and is named as a probable leak beside the best honest column', async () => {
    const random = seededRandom(5);
    let text = 'Seats,Plan,Cancel Date,Churn\n';
    for (let i = 0; i < 2000; i++) {
      const seats = Math.floor(random() * 100);
      const plan = random() < 0.5 ? 'Basic' : 'Pro';
      const churned = random() < (plan === 'Basic' ? 0.35 : 0.15);
      text += `${seats},${plan},${churned ? `2026-12-${String(1 + (i % 28)).padStart(2, '0')}` : ''},${churned ? 'Yes' : 'No'}\n`;
    }
    const dataset = await datasetFromText(text, { labelColumn: 'Churn', asOfDays: 20_000 });
    const model = await trainModel(dataset, { name: 'leak', ...quick, threads: 1 });
    const single = model.training.singleColumn ?? [];
    expect(single[0]).toEqual({ column: 'Cancel Date', rocAuc: 1 });
    expect(single[1]?.column).toBe('Plan');
    expect(single[1]?.rocAuc).toBeGreaterThan(0.55);
    expect(single[1]?.rocAuc).toBeLessThan(0.75);
    expect(leakWarnings(single)).toEqual([
      expect.stringMatching(
        /^"Cancel Date" alone predicts the label almost perfectly \(ROC AUC 1\.000\)/,
      ),
    ]);
  });
});

describe('training at scale', () => {
  it('trains on 300,000 rows streamed in chunks: nothing grows the stack with the row count', async () => {
    const random = seededRandom(3);
    const chunks = function* () {
      yield 'Seats,Plan,Last Login,Churn\n';
      for (let chunk = 0; chunk < 30; chunk++) {
        let text = '';
        for (let i = 0; i < 10_000; i++) {
          const seats = Math.floor(random() * 200);
          const plan = ['Basic', 'Pro', 'Team'][Math.floor(random() * 3)] as string;
          const idle = Math.floor(random() * 60);
          const logit = -1.5 + 0.05 * idle - 0.01 * seats + (plan === 'Basic' ? 0.8 : 0);
          const churned = random() < 1 / (1 + Math.exp(-logit));
          text += `${seats},${plan},2026-10-${String(31 - (idle % 30)).padStart(2, '0')},${churned ? 'Yes' : 'No'}\n`;
        }
        yield text;
      }
    };
    const dataset = await readLabelledDataset(chunks, {
      labelColumn: 'Churn',
      asOfDays: Date.UTC(2026, 10, 30) / 86_400_000,
    });
    const model = await trainModel(dataset, {
      name: 'big',
      folds: 2,
      repeats: 1,
      l2Grid: [1],
      engineer: false,
    });
    expect(model.training.rows).toBe(300_000);
    expect(model.training.asOf).toBe('2026-11-30T00:00:00.000Z');
    expect(model.columns.map((column) => column.name)).toEqual(['Seats', 'Plan', 'Last Login']);
    expect(model.training.crossValidation.mean.rocAuc).toBeGreaterThan(0.65);
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
