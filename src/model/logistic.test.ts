import { describe, expect, it } from 'vitest';
import { calibrate, fitPlatt } from './calibration.js';
import { seededRandom } from './cross-validation.js';
import { fitLogistic, sigmoid } from './logistic.js';
import { averagePrecision, brierScore, calibrationTable, logLoss, rocAuc } from './metrics.js';

function syntheticData(rows: number, seed: number) {
  const random = seededRandom(seed);
  const columns = 3;
  const values = new Float64Array(rows * columns);
  const labels = new Float64Array(rows);
  const truth = [1.5, -2, 0.5];
  for (let r = 0; r < rows; r++) {
    let logit = -0.3;
    for (let c = 0; c < columns; c++) {
      const x = random() * 2 - 1;
      values[r * columns + c] = x;
      logit += (truth[c] as number) * x;
    }
    labels[r] = random() < sigmoid(logit) ? 1 : 0;
  }
  return { x: { rows, columns, values }, labels };
}

describe('logistic regression by Newton/IRLS', () => {
  it('reaches the penalised optimum: the gradient vanishes', () => {
    const { x, labels } = syntheticData(2000, 1);
    const l2 = 2;
    const fit = fitLogistic(x, labels, { l2 });
    const gradient = new Float64Array(x.columns + 1);
    for (let r = 0; r < x.rows; r++) {
      let logit = fit.intercept;
      for (let c = 0; c < x.columns; c++) {
        logit += (fit.weights[c] as number) * (x.values[r * x.columns + c] as number);
      }
      const residual = (labels[r] as number) - sigmoid(logit);
      gradient[0] = (gradient[0] as number) + residual;
      for (let c = 0; c < x.columns; c++) {
        gradient[c + 1] =
          (gradient[c + 1] as number) + residual * (x.values[r * x.columns + c] as number);
      }
    }
    for (let c = 0; c < x.columns; c++) {
      gradient[c + 1] = (gradient[c + 1] as number) - l2 * (fit.weights[c] as number);
    }
    for (const g of gradient) expect(Math.abs(g)).toBeLessThan(1e-8);
    // With 2000 rows the fit lands near the generating weights.
    expect(fit.weights[0]).toBeCloseTo(1.5, 0);
    expect(fit.weights[1]).toBeCloseTo(-2, 0);
  });

  it('is deterministic to the last bit', () => {
    const { x, labels } = syntheticData(500, 2);
    const a = fitLogistic(x, labels, { l2: 1 });
    const b = fitLogistic(x, labels, { l2: 1 });
    expect([...a.weights, a.intercept]).toEqual([...b.weights, b.intercept]);
  });
});

describe('metrics', () => {
  it('computes ROC AUC with ties as half-credit', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
  });

  it('ranks as a plain rank-sum does, on any ties, and puts a missing score last', () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 20; trial++) {
      const n = 20 + Math.floor(random() * 400);
      const labels = Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
      const scores = Array.from({ length: n }, () => Math.floor(random() * (trial % 2 ? 5 : 1e6)));
      if (!labels.includes(1) || !labels.includes(0)) continue;
      // Every (churner, stayer) pair: a win, a tie (half), or a loss.
      let wins = 0;
      let pairs = 0;
      labels.forEach((a, i) => {
        if (a !== 1) return;
        labels.forEach((b, j) => {
          if (b !== 0) return;
          pairs++;
          const [x, y] = [scores[i] as number, scores[j] as number];
          wins += x > y ? 1 : x === y ? 0.5 : 0;
        });
      });
      expect(rocAuc(labels, scores)).toBeCloseTo(wins / pairs, 12);
    }
    expect(rocAuc([1, 0, 0], [Number.NaN, 0.2, 0.3])).toBe(0);
  });

  it('computes average precision as scikit-learn does', () => {
    // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.8333...
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(5 / 6, 12);
  });

  it('computes Brier score, log loss and a calibration table', () => {
    expect(brierScore([1, 0], [0.8, 0.4])).toBeCloseTo((0.04 + 0.16) / 2, 12);
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12);
    expect(calibrationTable([1, 0, 1], [0.05, 0.08, 0.95])).toEqual([
      { from: 0, to: 0.1, rows: 2, meanPredicted: 0.065, observedRate: 0.5 },
      { from: 0.9, to: 1, rows: 1, meanPredicted: 0.95, observedRate: 1 },
    ]);
  });
});

describe('Platt calibration', () => {
  it('recovers the scaling of over-confident logits', () => {
    const random = seededRandom(3);
    const rows = 20_000;
    const logits = new Float64Array(rows);
    const labels = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const trueLogit = random() * 6 - 3;
      // The model's logits are twice too large and shifted: Platt should find slope 0.5, -0.25.
      logits[r] = 2 * trueLogit + 0.5;
      labels[r] = random() < sigmoid(trueLogit) ? 1 : 0;
    }
    const platt = fitPlatt(logits, labels);
    expect(platt.slope).toBeCloseTo(0.5, 1);
    expect(platt.intercept).toBeCloseTo(-0.25, 1);
    expect(calibrate(0.5, platt)).toBeCloseTo(0.5, 1);
  });
});

describe('logistic regression on nearly separable data', () => {
  it('still converges to the penalised optimum with a tiny penalty', () => {
    const rows = 200;
    const values = Float64Array.from({ length: rows }, (_, r) => (r - 100) / 10 + (r % 2) * 0.01);
    const labels = Float64Array.from({ length: rows }, (_, r) => (r >= 100 ? 1 : 0));
    const fit = fitLogistic({ rows, columns: 1, values }, labels, { l2: 1e-3 });
    expect(Number.isFinite(fit.weights[0])).toBe(true);
    let gradient = -1e-3 * (fit.weights[0] as number);
    for (let r = 0; r < rows; r++) {
      const p = sigmoid(fit.intercept + (fit.weights[0] as number) * (values[r] as number));
      gradient += ((labels[r] as number) - p) * (values[r] as number);
    }
    expect(Math.abs(gradient)).toBeLessThan(1e-6);
    expect(fit.weights[0]).toBeGreaterThan(10);
  });
});
