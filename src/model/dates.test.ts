import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DateOrder,
  epochDays,
  inferTemporal,
  isoOfEpochDays,
  parseAsOf,
  parseDateDays,
  parseDurationDays,
} from './dates.js';

const DAY_MS = 86_400_000;
/** Epoch days by Date.UTC, the reference every parse is checked against (month is 1-based). */
const utcDays = (year: number, month: number, day: number, h = 0, m = 0, s = 0, ms = 0) =>
  Date.UTC(year, month - 1, day, h, m, s, ms) / DAY_MS;
const MARCH_1 = utcDays(2024, 3, 1);

describe('parseDateDays', () => {
  it.each<[string, DateOrder, number]>([
    ['2024-03-01', 'ymd', MARCH_1],
    [' 2024-03-01 ', 'ymd', MARCH_1],
    ['2024-03-01T12:30:00Z', 'ymd', utcDays(2024, 3, 1, 12, 30)],
    ['2024-03-01T12:30:00', 'ymd', utcDays(2024, 3, 1, 12, 30)],
    ['2024-03-01T12:30:00.123+02:00', 'ymd', utcDays(2024, 3, 1, 10, 30, 0, 123)],
    ['2024-03-01T12:30:00-05:30', 'ymd', utcDays(2024, 3, 1, 18, 0)],
    ['2024-03-01T01:00:00+0200', 'ymd', utcDays(2024, 2, 29, 23, 0)],
    ['2024-03-01 12:30', 'ymd', utcDays(2024, 3, 1, 12, 30)],
    ['2024-03-01 12:30:45', 'ymd', utcDays(2024, 3, 1, 12, 30, 45)],
    ['2024/03/01', 'ymd', MARCH_1],
    ['3/1/2024', 'mdy', MARCH_1],
    ['03/01/2024', 'mdy', MARCH_1],
    ['3/1/2024 14:05', 'mdy', utcDays(2024, 3, 1, 14, 5)],
    ['3/1/2024 2:05 PM', 'mdy', utcDays(2024, 3, 1, 14, 5)],
    ['3/1/2024 2:05 pm', 'mdy', utcDays(2024, 3, 1, 14, 5)],
    ['3/1/2024 12:05 AM', 'mdy', utcDays(2024, 3, 1, 0, 5)],
    ['3/1/2024 12:05 PM', 'mdy', utcDays(2024, 3, 1, 12, 5)],
    ['1.3.2024', 'dmy', MARCH_1],
    ['01.03.2024', 'dmy', MARCH_1],
    ['01.03.24', 'dmy', MARCH_1],
    ['01/03/2024', 'dmy', MARCH_1],
    ['1-3-2024', 'dmy', MARCH_1],
    ['Mar 1, 2024', 'ymd', MARCH_1],
    ['1 Mar 2024', 'ymd', MARCH_1],
    ['01-Mar-2024', 'ymd', MARCH_1],
    ['March 1 2024', 'ymd', MARCH_1],
    ['2024-Mar-01', 'ymd', MARCH_1],
    ['mar 1, 2024', 'ymd', MARCH_1],
    ['MARCH 1ST, 2024', 'ymd', MARCH_1],
    ['Sept 9, 2024', 'ymd', utcDays(2024, 9, 9)],
    ['Mar 1, 2024 10:15 AM', 'ymd', utcDays(2024, 3, 1, 10, 15)],
    ['3/1/24', 'mdy', MARCH_1],
    ['3/1/69', 'mdy', utcDays(2069, 3, 1)],
    ['3/1/70', 'mdy', utcDays(1970, 3, 1)],
    ['1 Mar 99', 'ymd', utcDays(1999, 3, 1)],
    ['1969-12-31T12:00:00Z', 'ymd', -0.5],
  ])('reads %j (%s) as Date.UTC says', (raw, order, expected) => {
    expect(parseDateDays(raw, order)).toBe(expected);
  });

  it('gives fractional days for times and whole days without', () => {
    expect(parseDateDays('2024-03-01T18:00:00Z', 'ymd')).toBe(MARCH_1 + 0.75);
    expect(parseDateDays('1970-01-02', 'ymd')).toBe(1);
    expect(Number.isInteger(parseDateDays('3/14/2024', 'mdy'))).toBe(true);
  });

  it('reads forms that state their own order the same whatever order is asked for', () => {
    for (const raw of ['2024-03-01', '2024/03/01', 'Mar 1, 2024', '1 Mar 2024', '1.3.2024']) {
      for (const order of ['ymd', 'mdy', 'dmy'] as const) {
        expect(parseDateDays(raw, order)).toBe(MARCH_1);
      }
    }
  });

  it('reads a year-last numeric date only in the order asked for', () => {
    expect(parseDateDays('03/04/2024', 'mdy')).toBe(utcDays(2024, 3, 4));
    expect(parseDateDays('03/04/2024', 'dmy')).toBe(utcDays(2024, 4, 3));
    expect(parseDateDays('03/04/2024', 'ymd')).toBeNaN();
    expect(parseDateDays('3/14/2024', 'dmy')).toBeNaN();
    expect(parseDateDays('14/3/2024', 'mdy')).toBeNaN();
  });

  it.each([
    '2023-02-29',
    '2024-02-30',
    '2024-04-31',
    '2024-13-01',
    '2024-00-10',
    '2024-03-00',
    '2024-03-32',
    '2024-03-01T25:00:00Z',
    '2024-03-01 24:00',
    '2024-03-01 12:60',
    '2024-03-01 12:30:60',
    '2024-03-01T12:00:00+25:00',
    '3/1/2024 13:05 PM',
    '3/1/2024 0:05 AM',
    '13/13/2024',
    '31 Apr 2024',
    'Foo 1, 2024',
  ])('refuses the impossible date %j in every order', (raw) => {
    for (const order of ['ymd', 'mdy', 'dmy'] as const) expect(parseDateDays(raw, order)).toBeNaN();
  });

  it('knows the leap years', () => {
    expect(parseDateDays('2024-02-29', 'ymd')).toBe(utcDays(2024, 2, 29));
    expect(parseDateDays('2000-02-29', 'ymd')).toBe(utcDays(2000, 2, 29));
    expect(parseDateDays('2/29/2024', 'mdy')).toBe(utcDays(2024, 2, 29));
    expect(parseDateDays('1900-02-29', 'ymd')).toBeNaN();
    expect(parseDateDays('2100-02-29', 'ymd')).toBeNaN();
    expect(parseDateDays('29.02.2023', 'dmy')).toBeNaN();
    expect(parseDateDays('2024-12-31', 'ymd') - parseDateDays('2024-01-01', 'ymd')).toBe(365);
    expect(parseDateDays('2023-12-31', 'ymd') - parseDateDays('2023-01-01', 'ymd')).toBe(364);
  });

  it.each(['12', '2024', '20240301', '45.5', '-3', '1.2.3', '4.1.12', '12:30', 'yesterday', ''])(
    'does not read %j as a date',
    (raw) => {
      for (const order of ['ymd', 'mdy', 'dmy'] as const) {
        expect(parseDateDays(raw, order)).toBeNaN();
      }
    },
  );
});

describe('parseDurationDays', () => {
  it.each<[string, number]>([
    ['3 months', 3 * 30.4375],
    ['45 days', 45],
    ['1 day', 1],
    ['2 yrs', 730.5],
    ['1 yr', 365.25],
    ['1.5 years', 1.5 * 365.25],
    ['1 year 6 months', 365.25 + 6 * 30.4375],
    ['1 year, 2 months and 3 days', 365.25 + 2 * 30.4375 + 3],
    ['6 wks', 42],
    ['2 Weeks', 14],
    ['12 mo', 12 * 30.4375],
    ['90d', 90],
    ['36 hours', 1.5],
    [' 45 days ', 45],
    ['P3M', 3 * 30.4375],
    ['P1Y2M10D', 365.25 + 2 * 30.4375 + 10],
    ['P2W', 14],
    ['PT36H', 1.5],
    ['P1DT12H', 1.5],
    ['P0,5Y', 0.5 * 365.25],
    ['p3m', 3 * 30.4375],
  ])('reads %j as %d days', (raw, expected) => {
    expect(parseDurationDays(raw)).toBeCloseTo(expected, 10);
  });

  it.each([
    '12',
    '45.5',
    '2024',
    '3 m',
    'months',
    'three months',
    '-3 days',
    '3 months ago',
    'P',
    'PT',
    'P3X',
    '2024-03-01',
    '',
  ])('does not read %j as a duration', (raw) => {
    expect(parseDurationDays(raw)).toBeNaN();
  });
});

describe('parseAsOf', () => {
  it('reads an ISO date or date-time, UTC unless a zone is given', () => {
    expect(parseAsOf('2026-01-31')).toBe(utcDays(2026, 1, 31));
    expect(parseAsOf('2026-01-31T10:00:00Z')).toBe(utcDays(2026, 1, 31, 10));
    expect(parseAsOf('2026-01-31T10:00:00')).toBe(utcDays(2026, 1, 31, 10));
    expect(parseAsOf('2026-01-31T10:00:00+01:00')).toBe(utcDays(2026, 1, 31, 9));
  });

  it.each(['31/01/2026', 'Jan 31 2026', '2026-02-30', '2026-01-31T25:00', 'tomorrow', ''])(
    'refuses %j and says which forms it accepts',
    (text) => {
      expect(() => parseAsOf(text)).toThrow(RangeError);
      expect(() => parseAsOf(text)).toThrow(/YYYY-MM-DD .*2026-01-31T10:00:00Z/);
    },
  );
});

/** `count` values cycling through `make(i)`, with `extra` values put first. */
function column(count: number, make: (i: number) => string, extra: string[] = []): string[] {
  const values = [...extra];
  for (let i = values.length; i < count; i++) values.push(make(i));
  return values;
}
/** Days and months both 12 or less, so each value alone reads in either order. */
const lowParts = (i: number) => `${(i % 12) + 1}/${((i * 7) % 12) + 1}/2024`;

describe('inferTemporal', () => {
  it('reads a column as month-first when some second part is above 12', () => {
    const raws = column(5_000, lowParts, ['3/14/2024', 'n/a', 'soon', '13/13/2024']);
    raws.push('');
    expect(inferTemporal(raws)).toEqual({
      kind: 'date',
      order: 'mdy',
      parsed: 4_997,
      present: 4_999,
      evidence: 'US dates, month first (e.g. "3/14/2024"): 4,997 of 4,999 values',
    });
  });

  it('reads a column as day-first when some first part is above 12', () => {
    const raws = column(300, lowParts, ['25/12/2023']);
    expect(inferTemporal(raws)).toEqual({
      kind: 'date',
      order: 'dmy',
      parsed: 300,
      present: 300,
      evidence: 'dates, day first (e.g. "25/12/2023"): all 300 values',
    });
  });

  it('reports a column it could only read by guessing the order as ambiguous', () => {
    const raws = column(200, lowParts, ['01/01/2024', '03/04/2024']);
    expect(inferTemporal(raws)).toEqual({
      kind: 'ambiguous-date',
      present: 200,
      evidence: '"03/04/2024" could be 4 March or 3 April: every day in this column is 12 or less',
    });
  });

  it('reports a column with both day-first and month-first dates as mixed', () => {
    const raws = column(200, lowParts, ['25/03/2024', '03/25/2024']);
    const inference = inferTemporal(raws);
    expect(inference?.kind).toBe('mixed-date');
    expect(inference?.present).toBe(200);
    expect(inference?.evidence).toContain('"25/03/2024" and "03/25/2024"');
  });

  it('reports ISO dates among slash dates of both orders as mixed', () => {
    const raws = column(100, (i) => (i % 2 === 0 ? '2024-03-01' : lowParts(i)), [
      '14/3/2024',
      '3/14/2024',
    ]);
    expect(inferTemporal(raws)?.kind).toBe('mixed-date');
  });

  it('reads ISO dates with time and says so', () => {
    const raws = column(5_000, (i) => `2024-03-${String((i % 28) + 1).padStart(2, '0')}T08:00Z`, [
      '2024-03-01T12:30:00Z',
    ]);
    expect(inferTemporal(raws)).toEqual({
      kind: 'date',
      order: 'ymd',
      parsed: 5_000,
      present: 5_000,
      evidence: 'ISO 8601 dates with time (e.g. "2024-03-01T12:30:00Z"): all 5,000 values',
    });
  });

  it('reads ISO and proven month-first dates together, and leaves unproven ones unread', () => {
    const proven = column(100, (i) => (i % 2 === 0 ? '2024-03-01' : lowParts(i)), ['3/14/2024']);
    expect(inferTemporal(proven)).toMatchObject({ kind: 'date', order: 'mdy', parsed: 100 });
    const few = column(100, () => '2024-03-01', ['03/04/2024', '04/03/2024']);
    expect(inferTemporal(few)).toMatchObject({ kind: 'date', order: 'ymd', parsed: 98 });
    const many = column(100, () => '2024-03-01', Array(6).fill('03/04/2024'));
    expect(inferTemporal(many)?.kind).toBe('ambiguous-date');
  });

  it('takes the order a form states when no value needs one', () => {
    expect(inferTemporal(['1.3.2024', '14.3.2024'])).toMatchObject({ kind: 'date', order: 'dmy' });
    expect(inferTemporal(['Mar 1, 2024', 'Apr 2, 2024'])).toEqual({
      kind: 'date',
      order: 'mdy',
      parsed: 2,
      present: 2,
      evidence: 'dates with month names (e.g. "Mar 1, 2024"): all 2 values',
    });
    expect(inferTemporal(['2024-03-01'])?.evidence).toBe(
      'ISO 8601 dates (e.g. "2024-03-01"): its only value',
    );
  });

  it('needs 95% of present values to read as dates', () => {
    const dates = (bad: number) => column(100, () => '2024-03-01', Array(bad).fill('later'));
    expect(inferTemporal(dates(5))).toMatchObject({ kind: 'date', parsed: 95, present: 100 });
    expect(inferTemporal(dates(6))).toBeUndefined();
  });

  it('needs 95% of present values to read as durations', () => {
    const durations = (bad: number) =>
      column(100, (i) => `${i + 1} months`, Array(bad).fill('forever'));
    expect(inferTemporal(durations(5))).toMatchObject({ kind: 'duration', parsed: 95 });
    expect(inferTemporal(durations(6))).toBeUndefined();
  });

  it('reads durations in every form and says how many', () => {
    const forms = ['3 months', '45 days', '2 yrs', '6 wks', '12 mo', '90d', 'P3M', 'P1Y2M10D'];
    const raws = [
      ...column(980, (i) => forms[i % forms.length] as string),
      ...Array(20).fill('?!'),
    ];
    expect(inferTemporal(raws)).toEqual({
      kind: 'duration',
      parsed: 980,
      present: 1_000,
      evidence: 'durations (e.g. "3 months"): 980 of 1,000 values',
    });
  });

  it.each([
    ['whole numbers', ['12', '24', '36', '2024']],
    ['years', ['2021', '2022', '2024']],
    ['compact dates', ['20240301', '20240302']],
    ['decimals', ['45.5', '12.25', '1,234.5']],
    ['categories', ['Month-to-month', 'One year', 'Two year']],
    ['blanks only', ['', 'NA', ' ', 'null']],
    ['nothing', []],
  ])('leaves %s alone', (_name, raws) => {
    expect(inferTemporal(raws)).toBeUndefined();
  });

  it('counts every value exactly, not just a sample, in a long column', () => {
    const raws = column(200_003, (i) => (i % 997 === 1 ? 'unknown' : lowParts(i)), ['3/14/2024']);
    const bad = raws.filter((raw) => raw === 'unknown').length;
    const inference = inferTemporal(raws);
    expect(inference).toMatchObject({ kind: 'date', order: 'mdy', present: 200_003 });
    expect(inference?.kind === 'date' && inference.parsed).toBe(200_003 - bad);
  });

  it('counts as parsed exactly the values parseDateDays reads in the chosen order', () => {
    const raws = [
      ...column(60, lowParts, ['3/14/2024', '13/13/2024', '2/30/2024']),
      ...['2024-03-01T10:00Z', 'Mar 1, 2024', '1.3.2024', '2024-02-30', 'NA'],
    ];
    const inference = inferTemporal(raws);
    if (inference?.kind !== 'date') throw new Error(`expected dates, got ${inference?.kind}`);
    const read = raws.filter((raw) => !Number.isNaN(parseDateDays(raw, inference.order)));
    expect(inference.parsed).toBe(read.length);
    expect(inference.parsed).toBe(61);
  });
});

describe('dates written in any order read back as the same day', () => {
  const pad = (n: number) => String(n).padStart(2, '0');
  const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
  // 1970-2069 so that two-digit years come back through the pivot too.
  const instant = fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2069, 11, 31, 23, 59) });

  it('parses each formatting back to its day', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        const at = new Date(ms);
        const [y, m, d] = [at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate()];
        const day = Math.floor(ms / DAY_MS);
        const written: Array<[string, DateOrder]> = [
          [`${y}-${pad(m)}-${pad(d)}`, 'ymd'],
          [`${m}/${d}/${y}`, 'mdy'],
          [`${pad(m)}/${pad(d)}/${String(y).slice(2)}`, 'mdy'],
          [`${pad(d)}/${pad(m)}/${y}`, 'dmy'],
          [`${d}-${m}-${y}`, 'dmy'],
          [`${d}.${m}.${y}`, 'dmy'],
          [`${MONTHS[m - 1]} ${d}, ${y}`, 'mdy'],
          [`${pad(d)}-${MONTHS[m - 1]}-${y}`, 'dmy'],
        ];
        for (const [raw, order] of written)
          expect([raw, parseDateDays(raw, order)]).toEqual([raw, day]);
        expect(parseDateDays(at.toISOString(), 'ymd')).toBe(ms / DAY_MS);
      }),
    );
  });

  it('infers the order of a column from any value that proves it', () => {
    const dates = fc.array(instant, { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(dates, fc.constantFrom<DateOrder>('mdy', 'dmy'), (instants, order) => {
        const write = (ms: number) => {
          const at = new Date(ms);
          const [m, d] = [at.getUTCMonth() + 1, at.getUTCDate()];
          const parts = order === 'mdy' ? [m, d] : [d, m];
          return `${parts[0]}/${parts[1]}/${at.getUTCFullYear()}`;
        };
        // The 20th of some month proves the order whatever else was drawn.
        const raws = [...instants.map(write), write(Date.UTC(2024, 4, 20))];
        expect(inferTemporal(raws)).toMatchObject({ kind: 'date', order, parsed: raws.length });
      }),
    );
  });
});

describe('epoch days', () => {
  it('turn back into the very instant they were made from, to the millisecond', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
        const iso = new Date(ms).toISOString();
        expect(isoOfEpochDays(epochDays(iso))).toBe(iso);
      }),
      { numRuns: 2000 },
    );
  });
});
