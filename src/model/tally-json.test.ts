import { describe, expect, it } from 'vitest';
import { addTally, emptyTally } from './score-batch.js';
import { tallyFromJson, tallyToJson } from './tally-json.js';

describe('a tally as JSON', () => {
  it('round-trips through JSON text, bigints and maps included, and adds up as before', () => {
    const tally = emptyTally();
    tally.rows = 3;
    tally.scored = 2;
    tally.failed = 1;
    tally.tiers.high = 2;
    tally.probabilitySum = 1.25;
    tally.histogram[19] = 2;
    tally.revenue.cents = 12_345_678_901_234_567_890n;
    tally.revenue.lossMicros = 42n;
    tally.revenue.currencies.set('€', 2);
    tally.reasonCounts.set('Contract is Month-to-month', 2);
    tally.unknownCategories.set('plan', 1);
    tally.errors.push({ row: 3, message: 'tenure is "abc", not a number' });
    const back = tallyFromJson(JSON.parse(JSON.stringify(tallyToJson(tally))));
    expect(back).toEqual(tally);
    const sum = emptyTally();
    addTally(sum, tally);
    addTally(sum, back);
    expect(sum.revenue.cents).toBe(2n * tally.revenue.cents);
    expect(sum.errors).toEqual([
      { row: 3, message: 'tenure is "abc", not a number' },
      { row: 6, message: 'tenure is "abc", not a number' },
    ]);
  });
});
