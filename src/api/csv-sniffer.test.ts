import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_CHARS } from '../model/csv-reader.js';
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
