/** Classification metrics computed from labels (0/1) and predicted probabilities. */

/**
 * The scores of churners (label 1) and of the others, each sorted ascending with the typed
 * arrays' native sort: what both ranking metrics need, without sorting row indexes through a
 * comparator (several times slower, and these run on every cross-validation). A missing (NaN)
 * score ranks below every other.
 */
function sortedByClass(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): { positives: Float64Array; negatives: Float64Array } {
  let count = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) count++;
  const positives = new Float64Array(count);
  const negatives = new Float64Array(labels.length - count);
  let p = 0;
  let q = 0;
  for (let i = 0; i < labels.length; i++) {
    // A missing score ranks below every other.
    const score = Number.isNaN(scores[i]) ? Number.NEGATIVE_INFINITY : (scores[i] as number);
    if (labels[i] === 1) positives[p++] = score;
    else negatives[q++] = score;
  }
  return { positives: positives.sort(), negatives: negatives.sort() };
}

/**
 * ROC AUC: the chance that a churner scores above a customer who stayed, ties counting half (the
 * Mann-Whitney statistic); NaN without both classes.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { positives, negatives } = sortedByClass(labels, scores);
  if (positives.length === 0 || negatives.length === 0) return Number.NaN;
  let below = 0;
  let wins = 0;
  for (let i = 0; i < positives.length; ) {
    const score = positives[i] as number;
    let same = i;
    while (same < positives.length && positives[same] === score) same++;
    while (below < negatives.length && (negatives[below] as number) < score) below++;
    let tied = below;
    while (tied < negatives.length && negatives[tied] === score) tied++;
    wins += (same - i) * (below + (tied - below) / 2);
    i = same;
  }
  return wins / (positives.length * negatives.length);
}

/** Area under the precision-recall curve as average precision (scikit-learn's definition). */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { positives, negatives } = sortedByClass(labels, scores);
  if (positives.length === 0) return Number.NaN;
  // Thresholds from the highest score down; rows with equal scores are flagged together.
  let i = positives.length - 1;
  let j = negatives.length - 1;
  let truePositives = 0;
  let falsePositives = 0;
  let previousRecall = 0;
  let sum = 0;
  while (i >= 0 || j >= 0) {
    const threshold = Math.max(
      i >= 0 ? (positives[i] as number) : Number.NEGATIVE_INFINITY,
      j >= 0 ? (negatives[j] as number) : Number.NEGATIVE_INFINITY,
    );
    while (i >= 0 && positives[i] === threshold) {
      truePositives++;
      i--;
    }
    while (j >= 0 && negatives[j] === threshold) {
      falsePositives++;
      j--;
    }
    const recall = truePositives / positives.length;
    sum += (recall - previousRecall) * (truePositives / (truePositives + falsePositives));
    previousRecall = recall;
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
