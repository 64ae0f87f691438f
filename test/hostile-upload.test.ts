import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RECORD_CHARS, readCsvRecords } from '../src/model/csv-reader.js';
import {
  authorised,
  postPrediction,
  type RunningService,
  startService,
  submitCsv,
  upload,
  waitForStatus,
} from './support/service.js';
import { storedState } from './support/stored-state.js';
import { telcoText as telco } from './support/telco.js';

const [header = '', ...rows] = telco.trimEnd().split('\n');
const sample = `${header}\n${rows.slice(0, 5).join('\n')}\n`;
const MiB = 1024 * 1024;

let service: RunningService;
let token: string;

beforeAll(async () => {
  service = await startService({ UPLOAD_MAX_BYTES: String(16 * MiB) });
  token = await service.token('alice');
});
afterAll(async () => {
  await service.stop();
});

type Refusal = [name: string, body: Buffer | string, status: number, code: string, message: RegExp];

const refusals: Refusal[] = [
  [
    'an unterminated quote',
    `${header}\n"open,${rows[0]}\n${rows[1]}\n`,
    422,
    'invalid_csv',
    /^Row 2 has a quoted field that is never closed: the file ends inside it\. Close the quote/,
  ],
  [
    'a 10 MB cell',
    `${header}\n${rows[0]},${'x'.repeat(10 * MiB)}\n`,
    422,
    'row_too_long',
    /^Row 2 is longer than 1,048,576 characters, .*Fix that row and upload again\.$/,
  ],
  [
    'a 10 MB quoted cell',
    `${header}\n${rows[0]},"${'x,\n'.repeat(3 * MiB)}"\n`,
    422,
    'row_too_long',
    /^Row 2 is longer than 1,048,576 characters/,
  ],
  [
    'a file cut inside a UTF-8 sequence',
    Buffer.concat([Buffer.from(`${sample}x`), Buffer.from('€').subarray(0, 2)]),
    415,
    'invalid_encoding',
    /^The file is not valid UTF-8 text\. Upload a CSV file as UTF-8/,
  ],
  [
    'Latin-1 text (invalid UTF-8) in the middle of a file',
    Buffer.concat([Buffer.from(sample), Buffer.from('caf\xe9,1\n', 'latin1'), Buffer.from(sample)]),
    415,
    'invalid_encoding',
    /^The file is not valid UTF-8 text/,
  ],
  [
    'UTF-16LE with a byte order mark',
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(sample, 'utf16le')]),
    415,
    'invalid_encoding',
    /^The file is UTF-16 text \(Excel's "Unicode Text"\), not UTF-8\. .*CSV UTF-8/,
  ],
  [
    'UTF-16BE with a byte order mark',
    Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(sample, 'utf16le').swap16()]),
    415,
    'invalid_encoding',
    /^The file is UTF-16 text/,
  ],
  [
    'UTF-16LE without a byte order mark',
    Buffer.from(sample, 'utf16le'),
    415,
    'invalid_encoding',
    /^The file is UTF-16 text/,
  ],
  [
    'random binary named .csv',
    Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919 + 13) % 256)),
    415,
    'unsupported_media_type',
    /^The file contains binary data, not CSV text\./,
  ],
  [
    'a ZIP archive named .csv and sent as text/csv',
    Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.from(sample)]),
    415,
    'unsupported_media_type',
    /^The file is a ZIP archive \(an \.xlsx workbook is one\), not CSV\./,
  ],
  [
    'a gzip archive named .csv',
    Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x61, 0x2c]),
    415,
    'unsupported_media_type',
    /^The file is a gzip archive, not CSV\./,
  ],
  [
    'a PDF named .csv',
    '%PDF-1.7\n1 0 obj\n',
    415,
    'unsupported_media_type',
    /^The file is a PDF document, not CSV\./,
  ],
  ['text with a NUL byte', `${sample}9999-X,\0\n`, 415, 'unsupported_media_type', /binary data/],
  [
    'lines of separators and blanks only',
    ',,,\r\n;;;\r\n  \t \r\n\r\n',
    422,
    'empty_file',
    /^The file is empty\./,
  ],
  ['a UTF-8 byte order mark and nothing else', '\uFEFF', 422, 'empty_file', /^The file is empty\./],
  [
    'a header with a CRLF and blank lines but no rows',
    `\uFEFF${header}\r\n\r\n\r\n`,
    422,
    'no_rows',
    /^The file has a header row but no customer rows below it\.$/,
  ],
];

describe('hostile uploads', () => {
  it.each(refusals)('refuses %s and stores nothing', async (_name, body, status, code, message) => {
    const before = await storedState(service);
    const response = await upload(service.url, token, body, 'customers.csv', 'text/csv');
    expect(response.status).toBe(status);
    // The unread rest of the body must not keep the connection (and a shutdown) waiting.
    expect(response.headers.get('connection')).toBe('close');
    const answer = (await response.json()) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe(code);
    expect(answer.error.message).toMatch(message);
    expect(answer.error.message).not.toMatch(/\n\s+at /);
    expect(await storedState(service)).toEqual(before);
  });

  it('refuses a file declared as another type (415), a non-multipart body (415) and a form without a file (400)', async () => {
    const before = await storedState(service);
    const png = await upload(service.url, token, sample, 'customers.csv', 'image/png');
    expect(png.status).toBe(415);
    expect(((await png.json()) as { error: { message: string } }).error.message).toMatch(
      /^The file was sent as image\/png, not CSV\./,
    );
    const json = await fetch(
      `${service.url}/v1/uploads`,
      authorised(token, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ file: sample }),
      }),
    );
    expect(json.status).toBe(415);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe(
      'unsupported_media_type',
    );
    const form = new FormData();
    form.append('note', 'no file here');
    const noFile = await fetch(
      `${service.url}/v1/uploads`,
      authorised(token, { method: 'POST', body: form }),
    );
    expect(noFile.status).toBe(400);
    expect(((await noFile.json()) as { error: { code: string } }).error.code).toBe('missing_file');
    expect(await storedState(service)).toEqual(before);
  });

  it('reads a UTF-8 byte order mark as nothing: the first column keeps its name', async () => {
    const { predictionId } = await submitCsv(service, token, `\uFEFF${sample}`);
    expect(
      await waitForStatus(service.url, token, predictionId, ['completed', 'failed']),
    ).toMatchObject({
      status: 'completed',
      rowsScored: 5,
    });
    const results = await fetch(
      `${service.url}/v1/predictions/${predictionId}/results.csv`,
      authorised(token),
    );
    expect((await results.text()).startsWith('customerID,')).toBe(true);
  });

  it('counts rows past a stray quote in a cell, and scores them', async () => {
    const stray = `${header}\n${rows[0]?.replace('Female', '27" Female')}\n${rows.slice(1, 5).join('\n')}\n`;
    const response = await upload(service.url, token, stray);
    expect(response.status).toBe(201);
    expect(((await response.json()) as { rowCount: number }).rowCount).toBe(5);
  });

  it('reads a stray quote in a header cell as text, past the characters held for a header', async () => {
    // No other quote follows, so a quote that opened anywhere would swallow the whole file.
    const plan = 'x'.repeat(2500);
    const body = `${header},size 27",plan\n${rows
      .slice(0, 500)
      .map((r) => `${r},27,${plan}`)
      .join('\n')}\n`;
    expect(body.length).toBeGreaterThan(MAX_RECORD_CHARS);
    const records: string[][] = [];
    for await (const batch of readCsvRecords([Buffer.from(body)])) records.push(...batch);
    expect(records.length).toBe(501);
    expect(records[0]?.slice(-2)).toEqual(['size 27"', 'plan']);

    const uploaded = await upload(service.url, token, body);
    expect(uploaded.status).toBe(201);
    expect(((await uploaded.json()) as { rowCount: number }).rowCount).toBe(500);
    const { predictionId } = await submitCsv(service, token, body);
    expect(
      await waitForStatus(service.url, token, predictionId, ['completed', 'failed']),
    ).toMatchObject({ status: 'completed', rowsScored: 500, rowsFailed: 0 });
  });

  it('scores ragged and cut-off rows where it can and says why the others failed', async () => {
    const ragged = `${header}\n${rows.slice(0, 4).join('\n')}\n${rows[4]},extra\n${rows[5]?.slice(0, 30)}`;
    const { predictionId } = await submitCsv(service, token, ragged);
    const done = await waitForStatus(service.url, token, predictionId, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed', rowsScored: 4, rowsFailed: 2 });
    const page = (await (
      await fetch(`${service.url}/v1/predictions/${predictionId}/rows?sort=row`, authorised(token))
    ).json()) as { rows: Array<{ error: string | null }> };
    expect(page.rows.map((r) => r.error)).toEqual([
      null,
      null,
      null,
      null,
      'the row has 22 fields; the header has 21',
      'the row has 7 fields; the header has 21',
    ]);

    const mostlyRagged = `${header}\n${rows
      .slice(0, 3)
      .map((r) => `${r},x`)
      .join('\n')}\n`;
    const bad = await submitCsv(service, token, mostlyRagged);
    expect(
      await waitForStatus(service.url, token, bad.predictionId, ['completed', 'failed']),
    ).toMatchObject({
      status: 'failed',
      error: {
        code: 'invalid_csv',
        message: expect.stringMatching(
          /^The file could not be scored: 3 of 3 rows could not be scored, so the file was rejected; first: row 1: the row has 22 fields; the header has 21\.$/,
        ),
      },
    });
  });

  it('takes 10,000 columns: scores them beside the model columns, or names what is missing in a short message', async () => {
    const extra = Array.from({ length: 10_000 }, (_, i) => `extra_${i}`);
    const wide = `${header},${extra.join(',')}\n${rows
      .slice(0, 3)
      .map((r) => `${r},${extra.map(() => '1').join(',')}`)
      .join('\n')}\n`;
    const scored = await submitCsv(service, token, wide);
    expect(
      await waitForStatus(service.url, token, scored.predictionId, ['completed', 'failed']),
    ).toMatchObject({ status: 'completed', rowsScored: 3 });

    // A file with none of the model's inputs is refused before anything is queued.
    const unknown = `${extra.join(',')}\n${extra.map(() => '1').join(',')}\n`;
    const uploaded = await upload(service.url, token, unknown);
    const { id: uploadId } = (await uploaded.json()) as { id: string };
    const refused = await postPrediction(service.url, token, uploadId);
    expect(refused.status).toBe(422);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('no_fit');
    expect(error.message).toMatch(
      /^None of the inputs of model "telco-v1" could be read from this file/,
    );
    expect(error.message.length).toBeLessThan(1000);
  });
});
