/** Classification metrics computed from labels (0/1) and predicted probabilities. */

/** Area under the ROC curve (Mann-Whitney U with average ranks for tied scores). */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k] as number] === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Area under the precision-recall curve as average precision (scikit-learn's definition). */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number),
  );
  let totalPositives = 0;
  for (let i = 0; i < n; i++) totalPositives += labels[i] as number;
  if (totalPositives === 0) return Number.NaN;
  let truePositives = 0;
  let seen = 0;
  let previousRecall = 0;
  let sum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    for (let k = i; k <= j; k++) truePositives += labels[order[k] as number] as number;
    seen = j + 1;
    const recall = truePositives / totalPositives;
    sum += (recall - previousRecall) * (truePositives / seen);
    previousRecall = recall;
    i = j + 1;
  }
  return sum;
}

export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    sum += ((probabilities[i] as number) - (labels[i] as number)) ** 2;
  }
  return sum / labels.length;
}

export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  const epsilon = 1e-15;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - epsilon, Math.max(epsilon, probabilities[i] as number));
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

export interface CalibrationBin {
  from: number;
  to: number;
  rows: number;
  meanPredicted: number;
  observedRate: number;
}

/** Predicted against observed churn in ten equal-width probability bins (empty bins left out). */
export function calibrationTable(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  bins = 10,
): CalibrationBin[] {
  const counts = new Array<number>(bins).fill(0);
  const predicted = new Array<number>(bins).fill(0);
  const observed = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i] as number;
    const bin = Math.min(bins - 1, Math.floor(p * bins));
    counts[bin] = (counts[bin] as number) + 1;
    predicted[bin] = (predicted[bin] as number) + p;
    observed[bin] = (observed[bin] as number) + (labels[i] as number);
  }
  const table: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const rows = counts[b] as number;
    if (rows === 0) continue;
    table.push({
      from: b / bins,
      to: (b + 1) / bins,
      rows,
      meanPredicted: (predicted[b] as number) / rows,
      observedRate: (observed[b] as number) / rows,
    });
  }
  return table;
}

export interface TierCutoffs {
  /** Calibrated probability at or above which a customer is high risk. */
  high: number;
  /** Calibrated probability at or above which a customer is medium risk (below `high`). */
  medium: number;
}

export type RiskTier = 'high' | 'medium' | 'low';

export function tierOf(probability: number, cutoffs: TierCutoffs): RiskTier {
  if (probability >= cutoffs.high) return 'high';
  if (probability >= cutoffs.medium) return 'medium';
  return 'low';
}

export interface TierMetrics {
  tier: RiskTier;
  /** Share of customers in this tier. */
  share: number;
  /** Churn rate among customers in this tier. */
  churnRate: number;
  /** Flagging this tier and every riskier one: share of flagged customers who churned. */
  precision: number;
  /** Flagging this tier and every riskier one: share of churners flagged. */
  recall: number;
}

export function tierMetrics(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  cutoffs: TierCutoffs,
): TierMetrics[] {
  const tiers: RiskTier[] = ['high', 'medium', 'low'];
  const rows = { high: 0, medium: 0, low: 0 };
  const churners = { high: 0, medium: 0, low: 0 };
  let totalChurners = 0;
  for (let i = 0; i < labels.length; i++) {
    const tier = tierOf(probabilities[i] as number, cutoffs);
    rows[tier]++;
    churners[tier] += labels[i] as number;
    totalChurners += labels[i] as number;
  }
  let flaggedRows = 0;
  let flaggedChurners = 0;
  return tiers.map((tier) => {
    flaggedRows += rows[tier];
    flaggedChurners += churners[tier];
    return {
      tier,
      share: rows[tier] / labels.length,
      churnRate: rows[tier] === 0 ? 0 : churners[tier] / rows[tier],
      precision: flaggedRows === 0 ? 0 : flaggedChurners / flaggedRows,
      recall: totalChurners === 0 ? 0 : flaggedChurners / totalChurners,
    };
  });
}
