import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAYBOOK, type Playbook, PlaybookMatcher, playbookSchema } from './playbook.js';

const columns = ['Contract Type', 'Payment Failures (12m)', 'Last Login', 'Plan', 'NPS'];
const playbook: Playbook = {
  rules: [
    { column: 'contract', values: ['Monthly', 'month-to-month'], action: 'Offer annual' },
    { column: 'payment fail', action: 'Fix billing' },
    { column: 'contract', action: 'Any contract' },
  ],
  tiers: { high: 'Call', medium: 'Email', low: 'Nothing' },
};

describe('a playbook', () => {
  const matcher = new PlaybookMatcher(playbook, columns, [0, 1, 2, 3, 4]);
  const row = ['  MONTHLY ', '2', '2026-01-01', 'Pro', '3'];
  const act = (tier: 'high' | 'medium' | 'low', raising: number[], record = row) =>
    matcher.actionFor(tier, Int32Array.from(raising), raising.length, record);

  it('takes the strongest reason a rule covers, matching column words and values loosely', () => {
    expect(act('high', [0, 1])).toBe('Offer annual');
    expect(act('high', [1, 0])).toBe('Fix billing');
    // A value the first rule is not about falls to the next rule for the column.
    expect(act('high', [0], ['Annual', '0', '', '', ''])).toBe('Any contract');
  });

  it('fits no rule to a blank cell: an unanswered survey is not an unhappy answer', () => {
    const blank = ['', ' ', '2026-01-01', 'Pro', 'n/a'];
    expect(act('high', [0, 1], blank)).toBe('Call');
    expect(act('medium', [0, 2], blank)).toBe('Email');
  });

  it('falls back to the tier when no reason has a rule', () => {
    expect(act('high', [2, 3])).toBe('Call');
    expect(act('medium', [])).toBe('Email');
    expect(act('low', [4])).toBe('Nothing');
  });

  it('ships one that is valid by its own rules', () => {
    expect(playbookSchema.parse(DEFAULT_PLAYBOOK)).toEqual(DEFAULT_PLAYBOOK);
  });
});
