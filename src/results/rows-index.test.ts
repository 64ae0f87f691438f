import { describe, expect, it } from 'vitest';
import { emptyRowFacts, type RowFacts } from '../model/score-batch.js';
import { sortIds } from './id-sort.js';
import { decodeRowsIndex, RowsIndexFormatError, UNSCORED } from './rows-index.js';
import { MAX_ID_BYTES, RowsIndexBuilder } from './rows-index-builder.js';
import { MissingOrderError, prefixRange, selectRows } from './rows-query.js';

const HEADER = 'id,churn_probability,risk_tier,top_reasons,score_error\n';

/**
 * An index over rows given as [probability in ten-thousandths or -1, tier code, id, bytes,
 * expected loss (NaN: none)].
 */
function build(rows: Array<[number, number, string, number?, number?]>, chunk = 3): Buffer {
  const builder = new RowsIndexBuilder();
  builder.header(HEADER);
  for (let at = 0; at < rows.length; at += chunk) {
    const facts: RowFacts = emptyRowFacts();
    for (const [p, tier, id, bytes, loss] of rows.slice(at, at + chunk)) {
      facts.losses.push(loss ?? Number.NaN);
      facts.probabilities.push(p);
      facts.tiers.push(tier);
      facts.ids.push(id);
      facts.bytes.push(bytes ?? 10);
    }
    builder.add(facts);
  }
  return builder.finish();
}

describe('the rows index format', () => {
  it('round-trips rows, offsets, probabilities, tiers and the orders', () => {
    const index = decodeRowsIndex(
      build([
        [5000, 2, 'B-2', 12],
        [9000, 1, 'a-1', 20],
        [-1, 0, 'c-3', 7],
        [5000, 2, '', 9],
        [100, 3, 'a-10', 11],
      ]),
    );
    expect(index.rows).toBe(5);
    expect(index.header).toBe(HEADER);
    expect([...index.offsets]).toEqual([55, 67, 87, 94, 103, 114]);
    expect(index.csvBytes).toBe(114);
    expect([...index.probabilities]).toEqual([5000, 9000, UNSCORED, 5000, 100]);
    expect([...index.tiers]).toEqual([2, 1, 0, 2, 3]);
    // Highest first, ties by row, rows not scored last.
    expect([...index.byProbability]).toEqual([1, 0, 3, 4, 2]);
    expect(index.tierCounts).toEqual([1, 1, 2, 1]);
    // Ids lower-cased and sorted by bytes; the row without an id sorts first.
    expect([...index.idOrder]).toEqual([3, 1, 4, 0, 2]);
    const text = Buffer.from(index.idText).toString('utf8');
    expect(text).toBe('a-1a-10b-2c-3');
  });

  it('refuses what it cannot read, saying why', () => {
    const good = build([[5000, 2, 'x']]);
    const damaged = (edit: (b: Buffer) => void) => {
      const copy = Buffer.from(good);
      edit(copy);
      return () => decodeRowsIndex(copy);
    };
    expect(damaged((b) => b.write('XXXX', 0))).toThrow(/not a rows index/);
    expect(damaged((b) => b.writeUInt16LE(4, 4))).toThrow(/version 4, this build reads 1 to 3/);
    // A version 1 index (no expected-loss order, no changes) is read; those are absent.
    const old = Buffer.from(good.subarray(0, good.length - 24));
    old.writeUInt16LE(1, 4);
    expect(decodeRowsIndex(old).byLoss).toBeNull();
    expect(decodeRowsIndex(old).changes).toBeNull();
    // Version 2: the expected-loss order, no changes.
    const two = Buffer.from(good.subarray(0, good.length - 16));
    two.writeUInt16LE(2, 4);
    expect(decodeRowsIndex(two).byLoss).not.toBeNull();
    expect(decodeRowsIndex(two).previous).toBeNull();
    expect(() =>
      selectRows(decodeRowsIndex(two), { change: 'new', sort: 'row', offset: 0, limit: 5 }),
    ).toThrow(MissingOrderError);
    expect(() =>
      selectRows(decodeRowsIndex(old), { sort: 'expected_loss_desc', offset: 0, limit: 5 }),
    ).toThrow(MissingOrderError);
    expect(() => decodeRowsIndex(good.subarray(0, good.length - 8))).toThrow(RowsIndexFormatError);
    expect(() => decodeRowsIndex(good.subarray(0, 10))).toThrow(/shorter than its header/);
    expect(damaged((b) => b.writeDoubleLE(1, 16))).toThrow(/do not add up/);
  });

  it('orders by expected loss, highest first, ties by row, rows without one last', () => {
    const index = decodeRowsIndex(
      build([
        [5000, 2, 'a', 10, 250],
        [9000, 1, 'b', 10, Number.NaN],
        [-1, 0, 'c', 10, Number.NaN],
        [5000, 2, 'd', 10, 900],
        [100, 3, 'e', 10, 250],
        [800, 3, 'f', 10, -40],
      ]),
    );
    expect([...(index.byLoss ?? [])]).toEqual([3, 0, 4, 5, 1, 2]);
    expect(selectRows(index, { sort: 'expected_loss_desc', offset: 1, limit: 3 }).rows).toEqual([
      0, 4, 5,
    ]);
    expect(
      selectRows(index, { sort: 'expected_loss_desc', tier: 'low', offset: 0, limit: 9 }).rows,
    ).toEqual([4, 5]);
    expect(
      selectRows(index, { sort: 'expected_loss_desc', customerId: 'a', offset: 0, limit: 9 }).rows,
    ).toEqual([0]);
  });

  it('keeps at most MAX_ID_BYTES of an id, never cutting a character', () => {
    const long = `${'a'.repeat(MAX_ID_BYTES - 1)}é${'b'.repeat(10)}`;
    const index = decodeRowsIndex(build([[1, 3, long]]));
    expect(index.idText.length).toBe(MAX_ID_BYTES - 1);
  });
});

describe('id sorting', () => {
  it('orders by UTF-8 bytes, ties in row order, like a comparison sort', () => {
    const ids: string[] = [];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const alphabet = ['a', 'b', 'ab', '0', 'é', '😀', 'z', ''];
    for (let i = 0; i < 3000; i++) {
      let id = '';
      const parts = random() % 6;
      for (let j = 0; j < parts; j++) id += alphabet[random() % alphabet.length];
      ids.push(i % 50 === 0 ? 'x'.repeat(40) : id);
    }
    const encoded = ids.map((id) => Buffer.from(id));
    const starts = new Uint32Array(ids.length + 1);
    encoded.forEach((bytes, i) => {
      starts[i + 1] = (starts[i] as number) + bytes.length;
    });
    const order = sortIds(Buffer.concat(encoded), starts);
    const expected = ids
      .map((_, i) => i)
      .sort((a, b) => Buffer.compare(encoded[a]!, encoded[b]!) || a - b);
    expect([...order]).toEqual(expected);
  });
});

describe('picking a page', () => {
  const rows: Array<[number, number, string]> = [];
  for (let i = 0; i < 500; i++) {
    const p = i % 7 === 0 ? -1 : (i * 37) % 10_001;
    const tier = p < 0 ? 0 : p >= 6000 ? 1 : p >= 3000 ? 2 : 3;
    rows.push([p, tier, i % 11 === 0 ? '' : `C${i % 60}-${i}`]);
  }
  const index = decodeRowsIndex(build(rows, 64));
  const rank = (row: number, descending: boolean) => {
    const p = rows[row]![0];
    return p < 0 ? Number.POSITIVE_INFINITY : descending ? -p : p;
  };
  const expected = (filter: (row: number) => boolean, sort: string) => {
    const all = rows.map((_, i) => i).filter(filter);
    if (sort === 'row') return all;
    const descending = sort === 'probability_desc';
    return all.sort((a, b) => rank(a, descending) - rank(b, descending) || a - b);
  };

  it('pages every order, with and without a tier, to the last row', () => {
    for (const sort of ['probability_desc', 'probability_asc', 'row'] as const) {
      for (const tier of [undefined, 'high', 'medium', 'low'] as const) {
        const code = tier === undefined ? -1 : { high: 1, medium: 2, low: 3 }[tier];
        const want = expected((row) => code === -1 || rows[row]![1] === code, sort);
        const got: number[] = [];
        for (let offset = 0; offset < want.length + 40; offset += 37) {
          const page = selectRows(index, { sort, offset, limit: 37, ...(tier ? { tier } : {}) });
          expect(page.total).toBe(want.length);
          got.push(...page.rows);
        }
        expect(got, `${sort} ${tier}`).toEqual(want);
      }
    }
  });

  it('finds ids by prefix, ignoring case, combined with tier and order', () => {
    const [from, to] = prefixRange(index, Buffer.from('c1'));
    expect(to - from).toBe(rows.filter(([, , id]) => id.toLowerCase().startsWith('c1')).length);
    for (const sort of ['probability_desc', 'probability_asc', 'row'] as const) {
      const page = selectRows(index, { sort, offset: 2, limit: 5, customerId: 'c1', tier: 'low' });
      const want = expected(
        (row) => rows[row]![2].toLowerCase().startsWith('c1') && rows[row]![1] === 3,
        sort,
      );
      expect(page.total).toBe(want.length);
      expect(page.rows).toEqual(want.slice(2, 7));
    }
    expect(selectRows(index, { sort: 'row', offset: 0, limit: 5, customerId: 'zz' })).toEqual({
      rows: [],
      total: 0,
    });
    expect(
      selectRows(index, { sort: 'row', offset: 0, limit: 5, customerId: 'C59-' }).rows,
    ).toEqual([59, 119, 179, 239, 299]);
  });
});

describe('rows parts (chunked scoring)', () => {
  it('joined in order, index exactly as the rows added to one builder', () => {
    const rows: Array<[number, number, string, number, number]> = Array.from(
      { length: 50 },
      (_, i) => [
        i % 7 === 0 ? -1 : (i * 7919) % 10_000,
        i % 7 === 0 ? 0 : (i % 3) + 1,
        i % 5 === 0 ? '' : `Cust-${(i * 31) % 17}-é${i}`,
        10 + (i % 9),
        i % 4 === 0 ? Number.NaN : (i * 13) % 101,
      ],
    );
    const facts = (slice: typeof rows): RowFacts => {
      const out = emptyRowFacts();
      for (const [p, tier, id, bytes, loss] of slice) {
        out.probabilities.push(p);
        out.tiers.push(tier);
        out.ids.push(id);
        out.bytes.push(bytes);
        out.losses.push(loss);
      }
      return out;
    };
    const whole = new RowsIndexBuilder();
    whole.header(HEADER);
    whole.add(facts(rows));
    const joined = new RowsIndexBuilder();
    for (const [from, to] of [
      [0, 13],
      [13, 13],
      [13, 41],
      [41, 50],
    ] as const) {
      const part = new RowsIndexBuilder();
      part.header(HEADER);
      part.add(facts(rows.slice(from, to)));
      // Stored and read back at an odd offset, as a blob read may hand it over.
      const encoded = part.encodePart();
      const shifted = Buffer.alloc(encoded.length + 3);
      encoded.copy(shifted, 3);
      joined.addPart(shifted.subarray(3));
    }
    expect(joined.headerText).toBe(HEADER);
    expect(joined.finish().equals(whole.finish())).toBe(true);
    expect(joined.history()).toEqual(whole.history());
  });

  it('refuses what is not a rows part', () => {
    expect(() => new RowsIndexBuilder().addPart(Buffer.from('CLRI and more bytes here'))).toThrow(
      /not a rows part/,
    );
  });
});
