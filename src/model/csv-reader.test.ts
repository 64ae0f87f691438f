import { describe, expect, it } from 'vitest';
import {
  CsvParser,
  detectDelimiter,
  findHeader,
  MAX_RECORD_CHARS,
  readCsvRecords,
} from './csv-reader.js';
import { CsvInputError } from './errors.js';

async function parse(chunks: Array<string | Buffer>): Promise<string[][]> {
  const records: string[][] = [];
  for await (const batch of readCsvRecords(
    chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)),
  )) {
    records.push(...batch);
  }
  return records;
}

describe('CSV reading', () => {
  it('drops a byte order mark and reads CRLF and LF lines alike', async () => {
    expect(await parse(['\uFEFFa,b\r\n1,2\n3,4\r\n'])).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('reads quoted fields with delimiters, doubled quotes and embedded newlines', async () => {
    const text = 'name,note\r\n"Smith, J","said ""hi""\r\nand left"\n"",x\n';
    expect(await parse([text])).toEqual([
      ['name', 'note'],
      ['Smith, J', 'said "hi"\r\nand left'],
      ['', 'x'],
    ]);
  });

  it('gives the same records however the bytes are split into chunks', async () => {
    const text = 'a;b;c\n"x;\n1";2;"q""\n"\n3;"é";"€"\r\n;;\n';
    const whole = await parse([text]);
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await parse([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(whole);
    }
    expect(whole).toEqual([
      ['a', 'b', 'c'],
      ['x;\n1', '2', 'q"\n'],
      ['3', 'é', '€'],
      ['', '', ''],
    ]);
  });

  it('detects comma, semicolon and tab from the header line', () => {
    expect(detectDelimiter('a,b,c')).toBe(',');
    expect(detectDelimiter('a;b;"c,d"')).toBe(';');
    expect(detectDelimiter('a\tb\tc,d')).toBe('\t');
    expect(detectDelimiter('single')).toBe(',');
    // A stray quote mid-field is text: it hides neither the delimiters after it nor the newline.
    expect(detectDelimiter('size 27";id;plan')).toBe(';');
    expect(detectDelimiter('a;"b,c,d"')).toBe(';');
  });

  it('finds the header line as CsvParser reads it: a quote opens only at a field start', () => {
    expect(findHeader('id,size 27",plan\n1,2,3\n', true)).toEqual({
      delimiter: ',',
      start: 0,
      end: 16,
    });
    expect(findHeader('\r\n\n"a\nb";c\n1;2\n', false)).toEqual({
      delimiter: ';',
      start: 3,
      end: 10,
    });
    expect(findHeader('id,"open', false)).toBe('pending');
    expect(findHeader('id,"open', true)).toEqual({ delimiter: ',', start: 0, end: 8 });
    // Held up to MAX_RECORD_CHARS characters, then refused: the header record is longer than that.
    expect(findHeader(`id,"${'x'.repeat(MAX_RECORD_CHARS)}`, false)).toBe('too-long');
    expect(findHeader(`id,x${'y'.repeat(MAX_RECORD_CHARS)}\n`, true)).toBe('too-long');
    // A quote opened after a semicolon in a comma file must not hold the file past the limit.
    const big = `id,name;"x\n${'1,a\n'.repeat(MAX_RECORD_CHARS / 4 + 1)}`;
    expect(findHeader(big, false)).toEqual({ delimiter: ',', start: 0, end: 10 });
  });

  it('reads a header with a stray quote and a file longer than the hold limit', async () => {
    const row = '1,27,basic\n';
    const rows = Math.ceil((MAX_RECORD_CHARS * 1.2) / row.length);
    const text = `id,size 27",plan\n${row.repeat(rows)}`;
    const bytes = Buffer.from(text);
    const chunks = [];
    for (let at = 0; at < bytes.length; at += 65536) chunks.push(bytes.subarray(at, at + 65536));
    const records = await parse(chunks);
    expect(records.length).toBe(rows + 1);
    expect(records[0]).toEqual(['id', 'size 27"', 'plan']);
    expect(records[rows]).toEqual(['1', '27', 'basic']);
  });

  it('skips blank lines and reads a last line without a newline', async () => {
    expect(await parse(['a,b\n\n1,2\n\r\n3,4'])).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('rejects bytes that are not UTF-8 with a clear error', async () => {
    const latin1 = Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x2c, 0x31, 0x0a]);
    await expect(parse([latin1])).rejects.toThrow(CsvInputError);
    await expect(parse([latin1])).rejects.toThrow(/not valid UTF-8/);
  });

  it('rejects a quoted field that is never closed', async () => {
    await expect(parse(['a,b\n"open,1\n2,3\n'])).rejects.toThrow(/never closed/);
  });

  it('hands back raw lines only for records without quotes', () => {
    const records: string[][] = [];
    const lines: Array<string | undefined> = [];
    new CsvParser(',').push('a,b\r\n"c",d\n', true, records, lines);
    expect(lines).toEqual(['a,b', undefined]);
  });
});
