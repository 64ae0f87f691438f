import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CsvParser,
  type Delimiter,
  findHeader,
  MAX_RECORD_CHARS,
  readCsvBatches,
} from '../model/csv-reader.js';
import { CsvSniffer } from './csv-sniffer.js';
import type { ApiError } from './errors.js';

/** Streams `chunks` through a sniffer; resolves with its row count or rejects with its ApiError. */
async function sniff(chunks: Array<string | Buffer>): Promise<number> {
  const sniffer = new CsvSniffer();
  const passed: Buffer[] = [];
  await pipeline(
    Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))),
    sniffer,
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) passed.push(chunk);
    },
  );
  const input = Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  expect(Buffer.concat(passed).equals(input), 'passes the bytes through unchanged').toBe(true);
  return sniffer.rowCount;
}

async function refusal(chunks: Array<string | Buffer>): Promise<Pick<ApiError, 'status' | 'code'>> {
  try {
    await sniff(chunks);
  } catch (error) {
    const { status, code, message } = error as ApiError;
    return { status, code, message } as ApiError;
  }
  throw new Error('the sniffer accepted the file');
}

describe('CsvSniffer', () => {
  it('counts rows the way the reader reads them: quotes open a field only at its start', async () => {
    expect(await sniff(['id,size\n1,27" screen\n2,"a\n""b"""\n3,x\n'])).toBe(3);
    expect(await sniff(['id;note\n1;say "hi"\n2;"x;\ny"\n'])).toBe(2);
    // A comma inside a semicolon file is text, so a quote after it does not open a field.
    expect(await sniff(['id;note\n1;a,"b\n2;c\n'])).toBe(2);
  });

  it('reads a stray quote in the header as text, at any size the reader reads', async () => {
    expect(await sniff(['id,size 27",plan\n1,2,3\n4,5,6\n'])).toBe(2);
    expect(await sniff(['id;size 27";plan\n1;"a\nb";3\n'])).toBe(1);
    // Past the 1,048,576 characters the reader holds for a header, and past 4 MiB.
    for (const megabytes of [1.2, 4.5]) {
      const row = '1,27,basic\n';
      const rows = Math.ceil((megabytes * 1024 * 1024) / row.length);
      const bytes = Buffer.from(`id,size 27",plan\n${row.repeat(rows)}`);
      const chunks = [];
      for (let at = 0; at < bytes.length; at += 16384) chunks.push(bytes.subarray(at, at + 16384));
      expect(await sniff(chunks)).toBe(rows);
    }
  });

  it('refuses a header longer than the reader holds as row 1, counted in characters', async () => {
    // 600,000 three-byte characters: under 1,048,576 characters (though 1.8 MB), so accepted.
    expect(await sniff([`id,${'€'.repeat(600_000)}\n1,2\n`])).toBe(1);
    expect(await refusal([`id,"${'x'.repeat(MAX_RECORD_CHARS)}`, '"\n1,2\n'])).toMatchObject({
      status: 422,
      code: 'row_too_long',
      message: expect.stringMatching(/^Row 1 is longer than 1,048,576 characters/),
    });
  });

  it('gives the same count however the bytes are split into chunks', async () => {
    const text = Buffer.from('a;b\n"x;\n1";"é""\n"\n;;\n3;"€"\r\n4;5');
    const whole = await sniff([text]);
    expect(whole).toBe(3);
    for (let cut = 1; cut < text.length; cut++) {
      expect(await sniff([text.subarray(0, cut), text.subarray(cut)])).toBe(whole);
    }
  });

  it('refuses a quoted field that is never closed with 422, naming the row', async () => {
    expect(await refusal(['id,note\n1,ok\n2,"open\n3,x\n'])).toMatchObject({
      status: 422,
      code: 'invalid_csv',
      message: expect.stringMatching(/^Row 3 has a quoted field that is never closed/),
    });
  });

  it('refuses a record longer than the reader accepts, at any chunking', async () => {
    const cell = 'x'.repeat(MAX_RECORD_CHARS + 1);
    for (const chunks of [[`a,b\n1,${cell}\n2,3\n`], ['a,b\n1,', cell, '\n2,3\n']]) {
      expect(await refusal(chunks)).toMatchObject({
        status: 422,
        code: 'row_too_long',
        message: expect.stringMatching(/^Row 2 is longer than 1,048,576 characters/),
      });
    }
    // Counted in UTF-16 units like the reader: half as many astral characters are as long.
    expect(await refusal([`a\n${'😀'.repeat(MAX_RECORD_CHARS / 2 + 1)}\n`])).toMatchObject({
      code: 'row_too_long',
    });
    expect(await sniff([`a\n${'😀'.repeat(MAX_RECORD_CHARS / 2 - 1)}\n`])).toBe(1);
  });

  it('names UTF-16 (with or without a byte order mark) instead of calling it binary', async () => {
    const text = 'id,tenure\n1,2\n';
    for (const bytes of [
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]),
      Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]),
      Buffer.from(text, 'utf16le'),
    ]) {
      expect(await refusal([bytes])).toMatchObject({
        status: 415,
        code: 'invalid_encoding',
        message: expect.stringMatching(/^The file is UTF-16 text/),
      });
    }
  });
});

/** Characters that matter to the header scan (quotes, all three delimiters, newlines) and text. */
const headerChar = fc.constantFrom('"', '"', ',', ';', '\t', '\r', '\n', ' ', 'a', 'id', 'é', '😀');
const headerCell = fc.array(headerChar, { maxLength: 6 }).map((chars) => chars.join(''));
/** Rows whose record count depends on the delimiter (a quote opening only after it), and plain ones. */
const dataRow = fc.constantFrom(
  'r1,2',
  'r1;2',
  'r\t2',
  'r;"q\nz"',
  'r,"c\nd"',
  'r\t"t\n"',
  'z"',
  '"w"',
);

/** Where CsvParser with `delimiter` ends its first record: the LF it completes on, or the end. */
function parserFirstRecordEnd(text: string, delimiter: Delimiter): number {
  for (let k = 1; k <= text.length; k++) {
    const out: string[][] = [];
    new CsvParser(delimiter).push(text.slice(0, k), false, out);
    if (out.length > 0) return k - 1;
  }
  return text.length;
}

/** Records as the reader reads them, and how many the sniffer counts (not separators/blanks only). */
async function readerView(
  chunks: Buffer[],
): Promise<{ records: number; content: number } | { error: string }> {
  let records = 0;
  let content = 0;
  try {
    for await (const batch of readCsvBatches(chunks)) {
      records += batch.records.length;
      for (const line of batch.lines)
        if (line === undefined || !/^[ \t\r,;]*$/.test(line)) content++;
    }
  } catch (error) {
    return { error: (error as Error).message };
  }
  return { records, content };
}

async function snifferView(chunks: Buffer[]): Promise<{ rowCount: number } | { code: string }> {
  try {
    return { rowCount: await sniff(chunks) };
  } catch (error) {
    return { code: (error as ApiError).code };
  }
}

describe('CsvSniffer and the CSV reader agree on the header', () => {
  it('finds the header end where CsvParser ends the first record, and both count the same rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(headerCell, { minLength: 1, maxLength: 5 }),
        fc.constantFrom<Delimiter>(',', ';', '\t'),
        fc.array(dataRow, { maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (cells, delimiter, rows, cuts) => {
          const text = `${cells.join(delimiter)}\n${rows.map((row) => `${row}\n`).join('')}`;
          const header = findHeader(text, true);
          if (typeof header === 'string') throw new Error(`header ${header}`);
          expect(header.end).toBe(parserFirstRecordEnd(text, header.delimiter));
          // Decided from any prefix the same way, so chunking (sniffer bytes, reader text) cannot matter.
          for (let k = 0; k < text.length; k++) {
            const early = findHeader(text.slice(0, k), false);
            if (early !== 'pending') expect(early).toEqual(header);
          }
          const bytes = Buffer.from(text);
          const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const chunks = [0, ...points].map((from, i) =>
            bytes.subarray(from, points[i] ?? bytes.length),
          );
          const reader = await readerView(chunks);
          const sniffer = await snifferView(chunks);
          if ('error' in reader) {
            expect(reader.error).toMatch(/never closed/);
            expect(sniffer).toEqual({ code: 'invalid_csv' });
          } else if (reader.content === 0) {
            expect(sniffer).toEqual({ code: 'empty_file' });
          } else if (reader.content === 1) {
            expect(sniffer).toEqual({ code: 'no_rows' });
          } else {
            expect(sniffer).toEqual({ rowCount: reader.content - 1 });
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** Every record of `bytes` after the header, as the reader reads them. */
async function dataRecords(bytes: Buffer): Promise<string[][]> {
  const records: string[][] = [];
  for await (const batch of readCsvBatches([bytes])) records.push(...batch.records);
  return records.slice(1);
}

describe('CsvSniffer splits', () => {
  it('are record starts: the header plus each range between them reads as the whole file does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Delimiter>(',', ';', '\t'),
        fc.array(dataRow, { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 24 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (delimiter, rows, bom, splitEvery, cuts) => {
          const text = `${bom ? '\uFEFF' : ''}id${delimiter}v\r\n${rows.map((row) => `${row}\n`).join('')}`;
          const bytes = Buffer.from(text);
          const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const sniffer = new CsvSniffer(splitEvery);
          try {
            await pipeline(
              Readable.from(
                [0, ...points].map((from, i) => bytes.subarray(from, points[i] ?? bytes.length)),
              ),
              sniffer,
              async (source: AsyncIterable<Buffer>) => {
                for await (const _ of source);
              },
            );
          } catch {
            return; // Refused (a quote never closed): nothing to split.
          }
          const splits = sniffer.splits;
          expect(splits[0]).toBe(Buffer.byteLength(`${bom ? '\uFEFF' : ''}id${delimiter}v\r\n`));
          expect([...splits].sort((a, b) => a - b)).toEqual(splits);
          const header = bytes.subarray(0, splits[0]);
          const joined: string[][] = [];
          for (let k = 0; k < splits.length; k++) {
            const range = bytes.subarray(splits[k], splits[k + 1] ?? bytes.length);
            joined.push(...(await dataRecords(Buffer.concat([header, range]))));
          }
          expect(joined).toEqual(await dataRecords(bytes));
        },
      ),
      { numRuns: 500 },
    );
  });
});
