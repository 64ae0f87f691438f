/**
 * How a model draws its risk tiers, chosen at training and stored in the model: fixed probability
 * cut-offs, multiples of the team's own churn rate, or shares of customers ranked by risk (the
 * top 10% to call first). Whatever the rule, the model stores the resulting probability cut-offs,
 * so scoring reads the tiers the same way for every rule.
 */
import { z } from 'zod';

export const tierRuleSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('probability'),
    high: z.number().gt(0).lt(1),
    medium: z.number().gt(0).lt(1),
  }),
  z.object({
    kind: z.literal('base-rate'),
    /** Multiples of the training churn rate, e.g. 2 and 1. */
    high: z.number().positive(),
    medium: z.number().positive(),
  }),
  z.object({
    kind: z.literal('top-share'),
    /** Shares of customers, ranked by risk: e.g. the top 0.1 high, the next 0.2 medium. */
    high: z.number().gt(0).lt(1),
    medium: z.number().gt(0).lt(1),
  }),
]);
export type TierRule = z.infer<typeof tierRuleSchema>;

/** What a rule cannot mean, in words for the user; undefined when it is sound. */
export function tierRuleProblem(rule: TierRule): string | undefined {
  if (rule.kind === 'top-share') {
    return rule.high + rule.medium < 1
      ? undefined
      : 'the high and medium shares must add up to less than 1 (all customers)';
  }
  return rule.high > rule.medium ? undefined : 'the high cut-off must be above the medium one';
}

/**
 * Probability cut-offs for `rule`: `baseRate` is the training churn rate, `probabilities` the
 * calibrated out-of-fold probabilities of the training rows (how scores spread in practice).
 */
export function tierCutoffs(
  rule: TierRule,
  baseRate: number,
  probabilities: Float64Array,
): { high: number; medium: number } {
  if (rule.kind === 'probability') return { high: rule.high, medium: rule.medium };
  if (rule.kind === 'base-rate') {
    return { high: Math.min(1, rule.high * baseRate), medium: Math.min(1, rule.medium * baseRate) };
  }
  const sorted = Float64Array.from(probabilities).sort().reverse();
  // The riskiest `share` of rows; 1e-9 absorbs sums like 0.1 + 0.2 = 0.30000000000000004.
  const at = (share: number) =>
    sorted[
      Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length - 1e-9) - 1))
    ] as number;
  return { high: at(rule.high), medium: at(rule.high + rule.medium) };
}

/** "the top 10% of customers by risk, then the next 20%", for cards and the CLI. */
export function describeTierRule(rule: TierRule | undefined): string {
  const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;
  if (rule === undefined || rule.kind === 'probability') {
    return rule === undefined
      ? 'high from a 50% churn probability, medium from the churn rate'
      : `high from a ${percent(rule.high)} churn probability, medium from ${percent(rule.medium)}`;
  }
  if (rule.kind === 'base-rate') {
    return `high from ${rule.high}× the churn rate, medium from ${rule.medium}×`;
  }
  return `high: the top ${percent(rule.high)} of customers by risk; medium: the next ${percent(rule.medium)}`;
}
