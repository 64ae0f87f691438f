/**
 * Playbooks: what a customer-success team does about a customer at risk. A rule names a kind of
 * column (words its name contains, so one rule fits "Contract", "contract_type" and "Contract
 * Length") and optionally the values it is about, and the action to take when that column is
 * among the reasons raising a customer's risk. A customer's recommended action comes from their
 * strongest reason that a rule covers; with none, from their risk tier.
 */
import { z } from 'zod';
import { normaliseHeader } from './headers.js';
import type { RiskTier } from './metrics.js';
import { categoryKey, isMissing } from './values.js';

/** Printable text without control characters (it lands in pages and CSV cells). */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((value) => !/\p{Cc}/u.test(value), 'must not contain control characters');

export const MAX_PLAYBOOK_RULES = 50;

export const playbookRuleSchema = z.object({
  column: text(60).describe(
    'Words the column name contains, compared without case, spaces or punctuation ("payment fail" matches "Payment Failures (12m)").',
  ),
  values: z
    .array(text(100))
    .max(20)
    .optional()
    .describe(
      "The column's values the rule is about (compared as categories are); absent: any value that raises the risk.",
    ),
  action: text(200).describe('What to do, as the team would say it.'),
});

export const playbookSchema = z.object({
  rules: z
    .array(playbookRuleSchema)
    .max(MAX_PLAYBOOK_RULES)
    .describe(
      'Tried for each raising reason, strongest reason first; the first rule that fits wins.',
    ),
  tiers: z
    .object({ high: text(200), medium: text(200), low: text(200) })
    .describe('What to do when no rule fits the reasons, by risk tier.'),
});

export type PlaybookRule = z.infer<typeof playbookRuleSchema>;
export type Playbook = z.infer<typeof playbookSchema>;

/**
 * Ships with the service: rules for the Telco model's inputs and for what SaaS exports usually
 * hold (contract, usage, support load, payment failures, tenure, NPS, champion).
 */
export const DEFAULT_PLAYBOOK: Playbook = {
  rules: [
    {
      column: 'contract',
      values: ['Month-to-month', 'Monthly', 'Month to month'],
      action: 'Offer an annual contract with a loyalty discount.',
    },
    {
      column: 'payment fail',
      action: 'Fix billing: help them update their payment method before access lapses.',
    },
    {
      column: 'payment method',
      values: ['Electronic check'],
      action: 'Suggest automatic payment by card or bank transfer.',
    },
    {
      column: 'login',
      action: 'They have stopped logging in: book a check-in to re-engage them.',
    },
    {
      column: 'session',
      action: 'Usage is falling: book a success review and show what they are missing.',
    },
    {
      column: 'ticket',
      action: 'Review their open support issues and follow up personally.',
    },
    {
      column: 'champion',
      action: 'Their champion left: find and onboard a new sponsor.',
    },
    { column: 'nps', action: 'Call to hear what went wrong: they said they are unhappy.' },
    {
      column: 'tenure',
      action: 'New customer: run an onboarding call and set up their success plan.',
    },
    {
      column: 'signup',
      action: 'New customer: run an onboarding call and set up their success plan.',
    },
    {
      column: 'internet service',
      values: ['Fiber optic'],
      action: 'Check their fiber service quality; offer a technician visit.',
    },
    {
      column: 'tech support',
      values: ['No'],
      action: 'Offer a free month of tech support.',
    },
    {
      column: 'online security',
      values: ['No'],
      action: 'Offer a free month of online security.',
    },
    {
      column: 'charges',
      action: 'Review their plan with them: a better-fitting bundle may keep them.',
    },
    { column: 'mrr', action: 'Review their plan with them: a better-fitting plan may keep them.' },
  ],
  tiers: {
    high: 'Call them this week.',
    medium: 'Send a personal check-in email.',
    low: 'No action needed.',
  },
};

interface BoundRule {
  /** Category keys of the values the rule is about; null: any value. */
  values: Set<string> | null;
  action: string;
}

/** A playbook bound to one model's columns: per column, the rules that can fit it. */
export class PlaybookMatcher {
  private readonly byColumn: BoundRule[][];
  /** Per column: the action a raw value gets (null: no rule fits), capped to stay small. */
  private readonly caches: Array<Map<string, string | null>>;

  /**
   * @param sources per model column, the index of its cell in a record (-1: the file lacks it)
   */
  constructor(
    private readonly playbook: Playbook,
    columnNames: readonly string[],
    private readonly sources: readonly number[],
  ) {
    this.byColumn = columnNames.map((name) => {
      const normalised = normaliseHeader(name);
      return playbook.rules
        .filter((rule) => {
          const words = normaliseHeader(rule.column);
          return words !== '' && normalised.includes(words);
        })
        .map((rule) => ({
          values: rule.values ? new Set(rule.values.map(categoryKey)) : null,
          action: rule.action,
        }));
    });
    this.caches = columnNames.map(() => new Map());
  }

  /**
   * The action for a record: the first of its raising reasons (column indexes, strongest first)
   * that a rule fits, else its tier's. A blank cell fits no rule: "NPS not recorded" is not an
   * unhappy answer, and every action speaks of a value the customer has.
   */
  actionFor(tier: RiskTier, raising: Int32Array, count: number, record: readonly string[]): string {
    for (let k = 0; k < count; k++) {
      const column = raising[k] as number;
      const rules = this.byColumn[column] as BoundRule[];
      if (rules.length === 0) continue;
      const raw = record[this.sources[column] as number] ?? '';
      const cache = this.caches[column] as Map<string, string | null>;
      let action = cache.get(raw);
      if (action === undefined) {
        const key = categoryKey(raw);
        action = isMissing(raw)
          ? null
          : (rules.find((rule) => rule.values === null || rule.values.has(key))?.action ?? null);
        if (cache.size < 256) cache.set(raw, action);
      }
      if (action !== null) return action;
    }
    return this.playbook.tiers[tier];
  }
}
