import { describe, expect, it } from 'vitest';
import { describeTierRule, tierCutoffs, tierRuleProblem } from './tier-rules.js';

const probabilities = Float64Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);

describe('tier rules', () => {
  it('turn each rule into probability cut-offs', () => {
    expect(
      tierCutoffs({ kind: 'probability', high: 0.6, medium: 0.3 }, 0.2, probabilities),
    ).toEqual({
      high: 0.6,
      medium: 0.3,
    });
    const base = tierCutoffs({ kind: 'base-rate', high: 2, medium: 1 }, 0.2, probabilities);
    expect(base.high).toBeCloseTo(0.4, 12);
    expect(base.medium).toBeCloseTo(0.2, 12);
    // Top 10% of 1,000 spread evenly: the 100th highest, 0.9005; then the next 20%: 0.7005.
    expect(tierCutoffs({ kind: 'top-share', high: 0.1, medium: 0.2 }, 0.2, probabilities)).toEqual({
      high: 0.9005,
      medium: 0.7005,
    });
  });

  it('refuse what cannot be meant, and read in words', () => {
    expect(tierRuleProblem({ kind: 'top-share', high: 0.6, medium: 0.5 })).toMatch(/less than 1/);
    expect(tierRuleProblem({ kind: 'base-rate', high: 1, medium: 2 })).toMatch(/above the medium/);
    expect(tierRuleProblem({ kind: 'top-share', high: 0.1, medium: 0.2 })).toBeUndefined();
    expect(describeTierRule({ kind: 'top-share', high: 0.1, medium: 0.2 })).toBe(
      'high: the top 10% of customers by risk; medium: the next 20%',
    );
    expect(describeTierRule(undefined)).toBe(
      'high from a 50% churn probability, medium from the churn rate',
    );
  });
});
