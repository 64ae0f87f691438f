import { describe, expect, it } from 'vitest';
import { emptyRowFacts } from '../model/score-batch.js';
import { decodeRowsIndex } from '../results/rows-index.js';
import { RowsIndexBuilder } from '../results/rows-index-builder.js';
import {
  bucketOf,
  findInRun,
  HISTORY_BUCKETS,
  runStartsHolding,
  type StoredScore,
} from './buckets.js';
import { changeName, NO_PREVIOUS } from './changes.js';

/** Rows as [probability in ten-thousandths or -1, tier code (0: not scored), id]. */
function builder(rows: Array<[number, number, string]>): RowsIndexBuilder {
  const built = new RowsIndexBuilder();
  built.header('id,churn_probability\n');
  const facts = emptyRowFacts();
  for (const [p, tier, id] of rows) {
    facts.probabilities.push(p);
    facts.tiers.push(tier);
    facts.ids.push(id);
    facts.bytes.push(10);
    facts.losses.push(Number.NaN);
  }
  built.add(facts);
  return built;
}

describe('comparing customers with the previous prediction', () => {
  const before = decodeRowsIndex(
    builder([
      [2000, 3, 'A-1'],
      [-1, 0, 'b-2'], // not scored then: its later row is compared with nothing
      [6000, 1, 'c-3'],
      [4000, 2, 'd-4'],
      [3000, 2, 'e-5'],
      [1000, 3, 'E-5'], // a second row of the same customer: the first one counts
      [9000, 1, ''],
    ]).finish(),
  );

  it('classifies every scored row with an id by how its tier moved, matching ids ignoring case', () => {
    const now = builder([
      [7000, 1, 'a-1'],
      [7000, 1, 'B-2'],
      [1000, 3, 'c-3'],
      [5000, 2, 'd-4'],
      [6000, 1, 'e-5'],
      [6000, 1, 'e-5'],
      [6000, 1, 'f-6'],
      [-1, 0, 'g-7'],
      [6000, 1, ''],
    ]);
    const index = decodeRowsIndex(now.finish(before));
    expect(Array.from(index.changes ?? [], changeName)).toEqual([
      'newly_high_risk',
      'new',
      'improved',
      'unchanged',
      'newly_high_risk',
      'newly_high_risk',
      'new',
      null,
      null,
    ]);
    expect(Array.from(index.previous ?? [])).toEqual([
      2000,
      NO_PREVIOUS,
      6000,
      4000,
      3000,
      3000,
      NO_PREVIOUS,
      NO_PREVIOUS,
      NO_PREVIOUS,
    ]);
    expect(now.changes).toEqual({
      new: 2,
      newlyHighRisk: 3,
      worsened: 0,
      improved: 1,
      unchanged: 1,
    });
  });

  it('compares nothing without a previous index, and stores each customer once in its bucket', () => {
    const now = builder([
      [7000, 1, 'Zoë'],
      [5000, 2, 'zoë'],
      [4000, 2, 'x'],
      [-1, 0, 'y'],
    ]);
    const index = decodeRowsIndex(now.finish());
    expect(now.changes).toBeNull();
    expect(Array.from(index.changes ?? [])).toEqual([0, 0, 0, 0]);
    const stored = now.history().flatMap((bucket) => {
      const entries = JSON.parse(bucket.entries) as Record<string, StoredScore>;
      expect(bucket.customers).toBe(Object.keys(entries).length);
      return Object.entries(entries).map(([id, score]) => {
        expect(bucketOf(id)).toBeGreaterThanOrEqual(bucket.bucket);
        expect(bucketOf(id)).toBeLessThan(bucket.bucket + bucket.span);
        expect(findInRun(bucket.entries, id)).toEqual(score);
        return [id, ...score];
      });
    });
    expect(stored.sort()).toEqual([
      ['x', 2, 4000, 2],
      ['zoë', 0, 7000, 1],
    ]);
    expect(bucketOf('ZOË')).toBe(bucketOf('zoë'));
  });
});

describe('history rows', () => {
  it('hold about 250 customers each, in aligned runs of buckets', () => {
    for (const customers of [1, 999, 1000, 1001, 7043, 250_000, 1_000_000]) {
      const rows: Array<[number, number, string]> = Array.from({ length: customers }, (_, i) => [
        5000,
        2,
        `c${i}`,
      ]);
      const stored = builder(rows);
      stored.finish();
      const history = stored.history();
      const span = history[0]?.span as number;
      expect(HISTORY_BUCKETS % span).toBe(0);
      expect(history.length).toBeLessThanOrEqual(Math.max(1, Math.ceil(customers / 125)));
      expect(history.reduce((sum, run) => sum + run.customers, 0)).toBe(customers);
      for (const run of history) {
        expect(run.span).toBe(span);
        expect(run.bucket % span).toBe(0);
        expect(runStartsHolding(run.bucket + span - 1)).toContain(run.bucket);
      }
    }
  });
});

describe('finding a customer in a stored run', () => {
  it('matches whole keys only, however the ids are escaped', () => {
    const run = JSON.stringify({
      'x"a': [1, 2, 3],
      a: [4, 5, 6],
      'b\\': [7, 8, 9],
      'ü"': [0, 1, 2],
    });
    expect(findInRun(run, 'a')).toEqual([4, 5, 6]);
    expect(findInRun(run, 'x"a')).toEqual([1, 2, 3]);
    expect(findInRun(run, 'b\\')).toEqual([7, 8, 9]);
    expect(findInRun(run, 'ü"')).toEqual([0, 1, 2]);
    expect(findInRun(run, '"')).toBeUndefined();
    expect(findInRun(run, 'x')).toBeUndefined();
  });
});
