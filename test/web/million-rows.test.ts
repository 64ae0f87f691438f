import { openAsBlob, rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAvailable,
  buildDashboard,
  launchChromium,
  recordForeignRequests,
  type ServeProcess,
  startServe,
} from '../support/browser.js';
import { writeTelcoRows } from '../support/telco.js';

const ROWS = 1_000_000;
const RUNS = 3;

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe.skipIf(!browserAvailable())('a 1,000,000-row prediction in the dashboard', () => {
  let serve: ServeProcess;
  let browser: Browser;
  let csv: string;
  let predictionId: string;

  const api = (pathname: string, init: RequestInit = {}) =>
    fetch(`${serve.url}${pathname}`, {
      ...init,
      headers: {
        ...(init.headers as Record<string, string>),
        authorization: `Bearer ${serve.token}`,
      },
    });

  beforeAll(async () => {
    await buildDashboard();
    [serve, browser, csv] = await Promise.all([
      startServe(),
      launchChromium(),
      writeTelcoRows(ROWS),
    ]);
    const form = new FormData();
    form.append('file', await openAsBlob(csv, { type: 'text/csv' }), 'million.csv');
    const uploaded = await api('/v1/uploads', { method: 'POST', body: form });
    expect(uploaded.status, await uploaded.clone().text()).toBe(201);
    const { id: uploadId, rowCount } = (await uploaded.json()) as { id: string; rowCount: number };
    expect(rowCount).toBe(ROWS);
    const created = await api('/v1/predictions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uploadId }),
    });
    expect(created.status).toBe(202);
    predictionId = ((await created.json()) as { id: string }).id;
    const started = Date.now();
    for (;;) {
      const body = (await (await api(`/v1/predictions/${predictionId}`)).json()) as {
        status: string;
        error: unknown;
      };
      if (body.status === 'completed') break;
      if (body.status === 'failed')
        throw new Error(`the prediction failed: ${JSON.stringify(body.error)}`);
      if (Date.now() - started > 540_000) throw new Error(`still ${body.status} after 9 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    process.stdout.write(`1M rows: scored in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }, 900_000);
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    if (csv) rmSync(csv, { force: true });
  });

  it('paints the results page (first meaningful paint printed, not asserted)', async () => {
    const summaryPaints: number[] = [];
    const rowsPaints: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // A fresh context each time: a cold cache and a sign-in by link, as a user arriving.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const foreign = await recordForeignRequests(context, serve.url);
      const page = await context.newPage();
      await page.goto(`${serve.url}/predictions/${predictionId}#token=${serve.token}`);
      await page
        .locator('[data-card="scored"] .card-value')
        .filter({ hasText: '1,000,000' })
        .waitFor();
      await page
        .getByRole('status')
        .filter({ hasText: 'Customers 1-50 of 1,000,000' })
        .waitFor({ timeout: 60_000 });
      const marks = (await page.evaluate(
        `[performance.getEntriesByName('churnline:results-painted')[0]?.startTime,
          performance.getEntriesByName('churnline:rows-painted')[0]?.startTime]`,
      )) as [number, number];
      summaryPaints.push(marks[0]);
      rowsPaints.push(marks[1]);
      expect(foreign).toEqual([]);
      await context.close();
    }
    const ms = (values: number[]) =>
      `median ${Math.round(median(values))} ms (${values.map(Math.round).join(', ')})`;
    process.stdout.write(
      `1M-row results page, from navigation start (cold cache, ${RUNS} runs):\n` +
        `  first meaningful paint (summary cards and charts): ${ms(summaryPaints)}\n` +
        `  first page of the customer table:                 ${ms(rowsPaints)}\n`,
    );
  }, 300_000);

  it('filters a million rows to high risk on the server and pages on', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${serve.url}/predictions/${predictionId}#token=${serve.token}`);
    const { summary } = (await (await api(`/v1/predictions/${predictionId}`)).json()) as {
      summary: { tiers: { high: number } };
    };
    await page.getByRole('status').filter({ hasText: 'of 1,000,000' }).waitFor({ timeout: 60_000 });
    const started = Date.now();
    await page.getByLabel('Risk tier').selectOption('high');
    await page
      .getByRole('status')
      .filter({ hasText: `Customers 1-50 of ${summary.tiers.high.toLocaleString('en-US')}` })
      .waitFor({ timeout: 60_000 });
    const filtered = Date.now() - started;
    await page.getByRole('button', { name: 'Next page' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Customers 51-100 of' })
      .waitFor({ timeout: 60_000 });
    process.stdout.write(`1M rows: high-risk filter answered on screen in ${filtered} ms\n`);
    // The worklist: every customer, most revenue at risk first, as the API orders it.
    await page.getByLabel('Risk tier').selectOption('');
    await page
      .getByRole('status')
      .filter({ hasText: 'Customers 1-50 of 1,000,000' })
      .waitFor({ timeout: 60_000 });
    const worklistStarted = Date.now();
    await page.getByLabel('Order').selectOption('expected_loss_desc');
    const worklist = (await (
      await api(`/v1/predictions/${predictionId}/rows?sort=expected_loss_desc&limit=1`)
    ).json()) as { rows: Array<{ customerId: string }> };
    await page
      .locator('table.rows tbody th.customer-id')
      .first()
      .filter({ hasText: worklist.rows[0]!.customerId })
      .waitFor({ timeout: 60_000 });
    process.stdout.write(
      `1M rows: worklist (most revenue at risk first) on screen in ${Date.now() - worklistStarted} ms\n`,
    );
    await context.close();
  }, 180_000);
});
