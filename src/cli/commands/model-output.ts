/** Text rendering of model metrics, shared by `churnline train` and `churnline evaluate`. */
import type { Evaluation } from '../../model/model-file.js';

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

export function formatEvaluation(
  title: string,
  evaluation: Omit<Evaluation, 'calibration' | 'tiers'> & Partial<Evaluation>,
): string {
  const lines = [
    title,
    `  ROC AUC   ${evaluation.rocAuc.toFixed(4)}`,
    `  PR AUC    ${evaluation.prAuc.toFixed(4)}`,
    `  Brier     ${evaluation.brier.toFixed(4)}`,
    `  log loss  ${evaluation.logLoss.toFixed(4)}`,
  ];
  if (evaluation.calibration) {
    lines.push('  calibration (predicted → observed):');
    for (const bin of evaluation.calibration) {
      lines.push(
        `    ${bin.from.toFixed(1)}-${bin.to.toFixed(1)}  ${String(bin.rows).padStart(6)} rows  ${percent(bin.meanPredicted).padStart(6)} → ${percent(bin.observedRate).padStart(6)}`,
      );
    }
  }
  if (evaluation.tiers) {
    lines.push('  tiers (precision/recall when flagging this tier and riskier ones):');
    for (const tier of evaluation.tiers) {
      lines.push(
        `    ${tier.tier.padEnd(6)}  ${percent(tier.share).padStart(6)} of rows  churn ${percent(tier.churnRate).padStart(6)}  precision ${percent(tier.precision).padStart(6)}  recall ${percent(tier.recall).padStart(6)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
