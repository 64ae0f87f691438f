import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ModelColumn, NumericModelColumn } from './model-file.js';
import {
  blankIsSignal,
  dateLabel,
  formatContribution,
  isReason,
  MISSING_SIGNAL,
  phraseReason,
  pickReasons,
  SourceColumns,
  strengthWords,
} from './reasons.js';

const pick = (values: number[], sign: 1 | -1, count: number, silent: number[] = []) => {
  const into = new Int32Array(values.length);
  const mask = new Uint8Array(values.length);
  for (const i of silent) mask[i] = 1;
  const picked = pickReasons(Float64Array.from(values), mask, sign, count, into);
  return [...into.subarray(0, picked)];
};

describe('strength in words', () => {
  it('bands the contribution as written: 0.05 a reason, 0.25 plain, 0.75 strongly', () => {
    const cases: Array<[number, string | undefined, string]> = [
      [0.0449, undefined, '+0.04'],
      [0.0451, 'slightly raises risk', '+0.05'],
      [0.2449, 'slightly raises risk', '+0.24'],
      [0.2451, 'raises risk', '+0.25'],
      [0.7449, 'raises risk', '+0.74'],
      [0.7451, 'strongly raises risk', '+0.75'],
      [5.34, 'strongly raises risk', '+5.34'],
      [-0.0449, undefined, '-0.04'],
      [-0.05, 'slightly lowers risk', '-0.05'],
      [-0.2451, 'lowers risk', '-0.25'],
      [-0.7451, 'strongly lowers risk', '-0.75'],
    ];
    for (const [contribution, words, number] of cases) {
      expect(isReason(contribution), String(contribution)).toBe(words !== undefined);
      if (words !== undefined)
        expect(strengthWords(contribution), String(contribution)).toBe(words);
      expect(formatContribution(contribution)).toBe(number);
    }
    expect(formatContribution(-0.004)).toBe('+0.00');
  });

  it('never lets the words and the written number disagree', () => {
    fc.assert(
      fc.property(fc.double({ min: -4, max: 4, noNaN: true }), (contribution) => {
        const written = Number(formatContribution(contribution));
        const size = Math.abs(written);
        expect(isReason(contribution)).toBe(size >= 0.05);
        if (size < 0.05) return;
        const band = size < 0.25 ? 'slightly ' : size < 0.75 ? '' : 'strongly ';
        expect(strengthWords(contribution)).toBe(
          `${band}${written > 0 ? 'raises' : 'lowers'} risk`,
        );
      }),
    );
  });

  it('phrases a reason as what the row says, then direction, strength and the number', () => {
    expect(phraseReason('Contract is Month-to-month', 0.792)).toBe(
      'Contract is Month-to-month: strongly raises risk (+0.79)',
    );
    expect(phraseReason('tenure is 34', -0.4)).toBe('tenure is 34: lowers risk (-0.40)');
    // No comma: the results cell needs no quoting.
    expect(phraseReason('Last Login 36 days ago', 0.3)).not.toContain(',');
  });
});

describe('dates in words', () => {
  it('says days, then months, then years, and the future as "in"', () => {
    const cases: Array<[number, string]> = [
      [0, 'Last Login today'],
      [0.4, 'Last Login today'],
      [1, 'Last Login 1 day ago'],
      [36, 'Last Login 36 days ago'],
      [59, 'Last Login 59 days ago'],
      [60, 'Last Login 2 months ago'],
      [729, 'Last Login 24 months ago'],
      [730, 'Last Login 2 years ago'],
      [1234, 'Last Login 3.4 years ago'],
      [3653, 'Last Login 10 years ago'],
      [-1, 'Last Login in 1 day'],
      [-150, 'Last Login in 5 months'],
    ];
    for (const [days, label] of cases) expect(dateLabel('Last Login', days)).toBe(label);
  });
});

describe('picking reasons', () => {
  it('keeps only one sign, largest first, at most `count`, ties in column order', () => {
    const values = [0.3, -1.2, 0.9, 0.05, -0.4, 0.3, 2.0, -0.01];
    expect(pick(values, 1, 3)).toEqual([6, 2, 0]);
    expect(pick(values, 1, 10)).toEqual([6, 2, 0, 5, 3]);
    expect(pick(values, -1, 2)).toEqual([1, 4]);
    // -0.01 is too small to be a reason either way.
    expect(pick(values, -1, 10)).toEqual([1, 4]);
    expect(pick([-0.5, -0.3], 1, 3)).toEqual([]);
    expect(pick([0.5, 0.2], 1, 0)).toEqual([]);
  });

  it('skips silent columns (blanks that mean nothing), however large', () => {
    expect(pick([0.3, 2.0, 0.9], 1, 2, [1])).toEqual([2, 0]);
    expect(pick([-0.3, -2.0], -1, 2, [1])).toEqual([0]);
  });

  it('agrees with sorting on any contributions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { maxLength: 25 }),
        fc.integer({ min: 0, max: 5 }),
        fc.constantFrom(1 as const, -1 as const),
        (values, count, sign) => {
          const expected = values
            .map((value, index) => ({ size: sign * value, index }))
            .filter((entry) => entry.size > 0 && isReason(entry.size))
            .sort((a, b) => b.size - a.size || a.index - b.index)
            .slice(0, count)
            .map((entry) => entry.index);
          expect(pick(values, sign, count)).toEqual(expected);
        },
      ),
    );
  });
});

describe('source columns', () => {
  it('sums the features of one column into one reason', () => {
    // Two bins of Last Login (+0.3 each) outrank one Seats feature (+0.5) as one reason.
    const sources = SourceColumns.of([0, 0, 1, 2], 3);
    const byColumn = sources.sum(Float64Array.from([0.3, 0.3, 0.5, -0.2]), new Float64Array(3));
    expect([...byColumn]).toEqual([0.6, 0.5, -0.2]);
    expect(pick([...byColumn], 1, 3)).toEqual([0, 1]);
    expect(() => SourceColumns.of([0, 3], 3)).toThrow(RangeError);
  });

  it('costs nothing when each column is one feature', () => {
    const features = Float64Array.from([1, -1]);
    expect(SourceColumns.identity(2).sum(features, new Float64Array(2))).toBe(features);
  });
});

describe('a blank as a reason', () => {
  const numeric = (weight?: number): NumericModelColumn => ({
    kind: 'numeric',
    name: 'Support Tickets (90d)',
    synonyms: ['support tickets 90d'],
    terms: [{ transform: 'linear', mean: 2, scale: 1, weight: 0.4 }],
    ...(weight === undefined ? {} : { missing: { mean: 0.1, weight } }),
  });
  const categorical = (blankWeight: number): ModelColumn => ({
    kind: 'categorical',
    name: 'Plan',
    synonyms: ['plan'],
    levels: [
      { key: '', label: '(blank)', frequency: 0.1, weight: blankWeight },
      { key: 'pro', label: 'Pro', frequency: 0.9, weight: 0 },
    ],
  });

  it('is one only when the model learned a large effect of "not recorded"', () => {
    expect(blankIsSignal(numeric())).toBe(false);
    expect(blankIsSignal(numeric(MISSING_SIGNAL - 0.01))).toBe(false);
    expect(blankIsSignal(numeric(MISSING_SIGNAL))).toBe(true);
    expect(blankIsSignal(numeric(-2.34))).toBe(true);
    // A blank level against the average customer: 0.55 - 0.1 × 0.55 = 0.495, just under.
    expect(blankIsSignal(categorical(0.55))).toBe(false);
    expect(blankIsSignal(categorical(0.6))).toBe(true);
    // Binned numbers give blanks a bin of their own (in place of the missing indicator).
    const binned = (blankWeight: number, missingLevel = true): ModelColumn => ({
      ...numeric(),
      bins: {
        edges: [1, 3],
        missingLevel,
        levels: [
          { frequency: 0.3, weight: 0 },
          { frequency: 0.3, weight: 0 },
          { frequency: 0.3, weight: 0 },
          { frequency: 0.1, weight: blankWeight },
        ],
      },
    });
    expect(blankIsSignal(binned(-0.55))).toBe(false);
    expect(blankIsSignal(binned(-0.6))).toBe(true);
    expect(blankIsSignal(binned(0.6, false))).toBe(false);
    expect(
      blankIsSignal({
        kind: 'boolean',
        name: 'Champion Left',
        synonyms: ['champion left'],
        trueLabel: 'Yes',
        falseLabel: 'No',
        mean: 0.1,
        weight: 3,
      }),
    ).toBe(false);
  });
});
