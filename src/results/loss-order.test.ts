import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lossOrder } from './loss-order.js';

/** The order as a comparator sort states it: highest loss first, NaN last, ties in row order. */
function byComparator(losses: Float64Array): number[] {
  const key = (loss: number) => (Number.isNaN(loss) ? Number.NEGATIVE_INFINITY : loss);
  return Array.from({ length: losses.length }, (_, row) => row).sort(
    (a, b) => key(losses[b] as number) - key(losses[a] as number) || a - b,
  );
}

describe('lossOrder', () => {
  it('orders by loss, highest first, with NaN last and ties in row order', () => {
    const losses = Float64Array.from([3, Number.NaN, -2, 3, 0, -0, 1e300, -1e-300, Number.NaN, 5]);
    expect([...lossOrder(losses)]).toEqual([6, 9, 0, 3, 4, 5, 7, 2, 1, 8]);
  });

  it('is the comparator sort on any doubles: negative, zero, huge, tiny, infinite, NaN, repeated', () => {
    const loss = fc.oneof(
      fc.double(),
      fc.constantFrom(0, -0, 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY),
      fc.integer({ min: -3, max: 3 }).map((n) => n * 1000.25),
    );
    fc.assert(
      fc.property(fc.array(loss, { maxLength: 300 }), (values) => {
        const losses = Float64Array.from(values);
        expect([...lossOrder(losses)]).toEqual(byComparator(losses));
      }),
      { numRuns: 300 },
    );
  });

  it('handles no rows and one row', () => {
    expect([...lossOrder(new Float64Array(0))]).toEqual([]);
    expect([...lossOrder(Float64Array.from([Number.NaN]))]).toEqual([0]);
  });
});
