/**
 * Properties of the CSV writer and reader together: any table of strings written and read back
 * is the same table, however the bytes are split into chunks (inside multi-byte characters
 * too), and a cell that a spreadsheet would run as a formula always comes back neutralised.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Delimiter, readCsvRecords } from './csv-reader.js';
import { csvLine } from './csv-writer.js';

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** Characters CSV must escape or that break naive parsers, mixed with any Unicode (astral too). */
const char = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('"', ',', ';', '\t', '\r', '\n', '\r\n', ' ', "'") },
  { weight: 1, arbitrary: fc.constantFrom('=', '+', '-', '@', '1', '.', 'e') },
  { weight: 1, arbitrary: fc.constantFrom('é', '€', '😀', '𝔘', '\u202e', '文') },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }) },
);
const cell = fc.array(char, { maxLength: 8 }).map((chars) => chars.join(''));

/** Rows of one width; the reader drops a byte order mark, so no table may start with one. */
const table = (cellArb: fc.Arbitrary<string>, minColumns = 1) =>
  fc
    .integer({ min: minColumns, max: 5 })
    .chain((width) =>
      fc.array(fc.array(cellArb, { minLength: width, maxLength: width }), {
        minLength: 1,
        maxLength: 6,
      }),
    )
    .filter((rows) => !rows[0]?.[0]?.startsWith('\uFEFF'));

/** The bytes split at arbitrary points, which land inside multi-byte characters too. */
const chunked = (bytes: Buffer, cuts: number[]): Buffer[] => {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
};

async function read(chunks: Buffer[], delimiter?: Delimiter): Promise<string[][]> {
  const records: string[][] = [];
  for await (const batch of readCsvRecords(chunks, delimiter ? { delimiter } : {})) {
    records.push(...batch);
  }
  return records;
}

const cuts = fc.array(fc.nat(), { maxLength: 6 });
const neutral = cell.filter((value) => !FORMULA_START.test(value));

describe('CSV write then read', () => {
  it('round-trips any table without formula cells, at any chunk boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(table(neutral), cuts, async (rows, points) => {
        const bytes = Buffer.from(rows.map(csvLine).join(''));
        expect(await read(chunked(bytes, points), ',')).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });

  it('neutralises every cell that starts like a formula, and only those', async () => {
    const formula = fc
      .tuple(fc.constantFrom('=', '+', '-', '@', '\t', '\r'), cell)
      .map(([start, rest]) => start + rest);
    await fc.assert(
      fc.asyncProperty(table(fc.oneof(formula, neutral)), cuts, async (rows, points) => {
        const bytes = Buffer.from(rows.map(csvLine).join(''));
        const back = await read(chunked(bytes, points), ',');
        expect(back.length).toBe(rows.length);
        back.forEach((record, r) => {
          record.forEach((value, c) => {
            const sent = rows[r]?.[c] as string;
            if (FORMULA_START.test(sent) && !PLAIN_NUMBER.test(sent)) {
              expect(value).toBe(`'${sent}`);
              expect(value).not.toMatch(FORMULA_START);
            } else {
              expect(value).toBe(sent);
            }
          });
        });
      }),
      { numRuns: 300 },
    );
  });

  it('reads semicolon and tab files (RFC 4180 quoting) with the delimiter detected', async () => {
    const quote = (value: string) =>
      /[",;\t\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Delimiter>(';', '\t', ','),
        table(cell, 2),
        fc.constantFrom('\n', '\r\n'),
        cuts,
        async (delimiter, rows, newline, points) => {
          const text = rows.map((row) => row.map(quote).join(delimiter) + newline).join('');
          const back = await read(chunked(Buffer.from(text), points));
          // A row of empty cells in a one-line file is still a row; blank lines are not.
          expect(back).toEqual(rows);
        },
      ),
      { numRuns: 300 },
    );
  });
});
