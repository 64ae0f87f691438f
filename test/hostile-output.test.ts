/**
 * What comes back out must be safe: formula cells neutralised in the results CSV, the JSON rows
 * and the CLI's output; a hostile file name kept as display metadata only (keys come from ids)
 * and harmless in the download's Content-Disposition; an oversized job message dead-lettered.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/test-support/run-cli.js';
import { readCsvRecords } from '../src/model/csv-reader.js';
import {
  authorised,
  postPrediction,
  type RunningService,
  startService,
  submitCsv,
  waitForStatus,
} from './support/service.js';
import { storedState } from './support/stored-state.js';
import { telcoText as telco } from './support/telco.js';

const [header = '', ...rows] = telco.trimEnd().split('\n');
const FORMULA_START = /^[=+\-@\t\r]/;
const formulas = [
  '=HYPERLINK("http://x","y")',
  '+1+cmd|/c calc!A0',
  '-2+3',
  '@SUM(A1)',
  '\t=1',
  '\r=1',
];
const quote = (value: string) => `"${value.replaceAll('"', '""')}"`;
/** Customers whose id and an extra "note" column are formulas; the note header is one too. */
const hostile = `${header},"=note"\n${formulas
  .map((formula, i) => {
    const [, ...rest] = (rows[i] as string).split(',');
    return `${quote(formula)},${rest.join(',')},${quote(formula)}`;
  })
  .join('\n')}\n`;

let service: RunningService;
let token: string;
beforeAll(async () => {
  service = await startService();
  token = await service.token('alice');
});
afterAll(async () => {
  await service.stop();
});

async function records(text: string): Promise<string[][]> {
  const all: string[][] = [];
  for await (const batch of readCsvRecords([Buffer.from(text)], { delimiter: ',' }))
    all.push(...batch);
  return all;
}

function expectNeutral(cells: readonly string[], where: string): void {
  for (const cell of cells)
    expect(cell, `${where}: ${JSON.stringify(cell)}`).not.toMatch(FORMULA_START);
}

describe('hostile output', () => {
  it('neutralises formula cells in the results CSV, the JSON rows and the CLI output', async () => {
    const { predictionId } = await submitCsv(service, token, hostile);
    expect(
      await waitForStatus(service.url, token, predictionId, ['completed', 'failed']),
    ).toMatchObject({
      status: 'completed',
      rowsScored: formulas.length,
    });
    const csv = await (
      await fetch(`${service.url}/v1/predictions/${predictionId}/results.csv`, authorised(token))
    ).text();
    const [head, ...body] = await records(csv);
    expect(head?.at(-7)).toBe("'=note");
    expect(body.map((r) => r[0])).toEqual(formulas.map((f) => `'${f}`));
    for (const record of [head, ...body]) expectNeutral(record ?? [], 'results.csv');

    const page = (await (
      await fetch(`${service.url}/v1/predictions/${predictionId}/rows?sort=row`, authorised(token))
    ).json()) as { rows: Array<{ customerId: string; values: Record<string, string> }> };
    expect(page.rows.map((r) => r.customerId)).toEqual(formulas.map((f) => `'${f}`));
    for (const row of page.rows) {
      expectNeutral(
        [row.customerId, ...Object.keys(row.values), ...Object.values(row.values)],
        'rows',
      );
    }

    const dir = mkdtempSync(path.join(tmpdir(), 'churnline-hostile-'));
    try {
      const input = path.join(dir, 'in.csv');
      writeFileSync(input, hostile);
      const cli = await runCli(['score', input, '--workers', '1']);
      expect(cli.code).toBe(0);
      const [cliHead, ...cliBody] = await records(cli.stdout);
      expect(cliBody.map((r) => r[0])).toEqual(formulas.map((f) => `'${f}`));
      for (const record of [cliHead, ...cliBody]) expectNeutral(record ?? [], 'CLI');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a hostile file name as metadata only: keys from ids, a safe download header', async () => {
    const names: Array<[sent: string, shown: string]> = [
      ['..%2F..%2Fetc%2Fpasswd', 'passwd'],
      ['..%5C..%5Cboot.ini', 'boot.ini'],
      ['a%00b%22%3B%20X-Injected%3A%201.csv', 'ab"; X-Injected: 1.csv'],
      ['invoice%E2%80%AEvsc.exe', 'invoicevsc.exe'],
      [`${'x'.repeat(199)}%F0%9F%98%80.csv`, `${'x'.repeat(199)}😀`],
    ];
    for (const [sent, shown] of names) {
      const response = await rawUpload(`${header}\n${rows.slice(0, 3).join('\n')}\n`, sent);
      const body = (await response.json()) as { id: string; filename: string };
      expect(response.status, sent).toBe(201);
      expect(body.filename, sent).toBe(shown);
      const keys = await service.app.blobs.list('users/alice/uploads/');
      expect(keys).toContain(`users/alice/uploads/${body.id}.csv`);
    }
    // Busboy does not take a file name with a line break in it as a file at all.
    const before = await storedState(service);
    const lineBreak = await rawUpload(`${header}\n${rows[0]}\n`, 'a%0D%0AX-Injected%3A%201.csv');
    expect(lineBreak.status).toBe(400);
    expect(((await lineBreak.json()) as { error: { code: string } }).error.code).toBe(
      'missing_file',
    );
    expect(await storedState(service)).toEqual(before);
    for (const key of await service.app.blobs.list('users/')) {
      // Only ids and fixed suffixes (.csv, and whatever index the results grow): no user text.
      expect(key).toMatch(/^users\/alice\/(uploads|results)\/[0-9a-f-]{36}\.[a-z-]+$/);
    }

    const response = await rawUpload(
      `${header}\n${rows.slice(0, 3).join('\n')}\n`,
      names[2]?.[0] as string,
    );
    const { id: uploadId } = (await response.json()) as { id: string };
    const created = await postPrediction(service.url, token, uploadId);
    const { id } = (await created.json()) as { id: string };
    await waitForStatus(service.url, token, id, ['completed']);
    const download = await fetch(
      `${service.url}/v1/predictions/${id}/results.csv`,
      authorised(token),
    );
    const disposition = download.headers.get('content-disposition') as string;
    expect(disposition).toBe(
      `attachment; filename="ab_; X-Injected: 1-scored.csv"; filename*=UTF-8''ab%22%3B%20X-Injected%3A%201-scored.csv`,
    );
    expect(download.headers.get('x-injected')).toBeNull();
    await download.text();
  });

  it('dead-letters an oversized job message without running it', async () => {
    const before = await storedState(service);
    const body = JSON.stringify({
      v: 1,
      kid: 'test1',
      sig: 'A'.repeat(43),
      job: 'x'.repeat(200_000),
    });
    await service.app.queue.send({ body });
    const deadline = Date.now() + 10_000;
    while ((await service.app.queue.stats()).deadLetter.visible < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const [letter] = await service.app.queue.listDeadLetters();
    expect(letter?.reason).toMatch(/^message envelope is invalid: job Too big/);
    const after = await storedState(service);
    expect({ ...after, queue: undefined }).toEqual({ ...before, queue: undefined });
    await expect(service.app.queue.send({ body: 'x'.repeat(300 * 1024) })).rejects.toThrow(
      /256 KiB|262144|too large|larger/i,
    );
  });
});

/** A multipart upload whose file name is sent as RFC 5987 filename*, so any byte can be in it. */
function rawUpload(content: string, encodedName: string): Promise<Response> {
  const boundary = 'hostile-boundary-7MA4YWxkTrZu0gW';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''${encodedName}\r\nContent-Type: text/csv\r\n\r\n`,
    ),
    Buffer.from(content),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return fetch(
    `${service.url}/v1/uploads`,
    authorised(token, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    }),
  );
}
