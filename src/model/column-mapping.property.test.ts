/**
 * Properties of column mapping: a file whose model columns are renamed to any of their synonyms,
 * re-cased, re-spaced, given a unit in brackets, reordered, or padded with unrelated columns
 * scores every customer exactly as the original file does.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { normaliseHeader } from './headers.js';
import { loadModel, type ModelFile } from './model-file.js';
import { RecordScorer } from './scorer.js';
import { telcoRecords } from './test-support/telco.js';

let model: ModelFile;
const telco = telcoRecords();
const customers = telco.rows.slice(0, 40);

beforeAll(async () => {
  model = await loadModel('telco-v1');
});

/** Each customer's probability, tier, reasons and protective factors under `headers`. */
function scores(headers: readonly string[], rows: readonly string[][]) {
  const scorer = new RecordScorer(model, headers);
  return rows.map((record) => {
    const { probability, tier, reasons, protective } = scorer.describe(record);
    return { probability, tier, reasons, protective };
  });
}

/** A normalised spelling written as people do: any case, any separators, maybe a unit. */
function spelled(normalised: string): fc.Arbitrary<string> {
  const letters = [...normalised];
  return fc
    .tuple(
      fc.array(fc.boolean(), { minLength: letters.length, maxLength: letters.length }),
      fc.array(fc.constantFrom('', '', '', ' ', '_', '-', '.', '  '), {
        minLength: letters.length,
        maxLength: letters.length,
      }),
      fc.constantFrom('', '', ' ($)', ' [months]', '(EUR)', ' {x}'),
      fc.constantFrom('', ' ', '\t'),
    )
    .map(([upper, separators, unit, pad]) => {
      const body = letters
        .map(
          (ch, i) => (i > 0 ? (separators[i] as string) : '') + (upper[i] ? ch.toUpperCase() : ch),
        )
        .join('');
      return pad + body + unit + pad;
    });
}

describe('column mapping properties', () => {
  it('scores the same under synonyms, case, spacing, order and unrelated columns', () => {
    const baseline = scores(telco.headers, customers);
    const synonyms = new Set(model.columns.flatMap((column) => column.synonyms));
    const modelIndex = model.columns.map((column) =>
      telco.headers.findIndex((header) => normaliseHeader(header) === column.synonyms[0]),
    );
    expect(modelIndex).not.toContain(-1);
    const renamed = fc.tuple(
      ...model.columns.map((column) => fc.constantFrom(...column.synonyms).chain(spelled)),
    );
    const unrelated = fc.array(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((name) => {
        const key = normaliseHeader(name);
        return !synonyms.has(key);
      }),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(renamed, unrelated, fc.nat(), (names, extras, seed) => {
        // The renamed model columns, the other original columns and the extras, in a shuffled order.
        const columns = telco.headers.map((header, index) => {
          const field = modelIndex.indexOf(index);
          return { header: field === -1 ? header : (names[field] as string), source: index };
        });
        const all = [...columns, ...extras.map((header) => ({ header, source: -1 }))];
        const order = shuffle(all.length, seed);
        const headers = order.map((i) => (all[i] as { header: string }).header);
        const rows = customers.map((record) =>
          order.map((i) => {
            const source = (all[i] as { source: number }).source;
            return source === -1 ? 'unrelated' : (record[source] as string);
          }),
        );
        expect(scores(headers, rows)).toEqual(baseline);
      }),
      { numRuns: 200 },
    );
  });
});

/** A permutation of 0..n-1 from a seed (Fisher-Yates with a small LCG), so shrinking stays simple. */
function shuffle(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let state = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}
