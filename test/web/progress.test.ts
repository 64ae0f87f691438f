/**
 * A big file's prediction in the dashboard while it runs: the progress bar with rows and the
 * time left, then Cancel, which ends it `cancelled` with nothing to download.
 */
import { openAsBlob, rmSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAvailable,
  buildDashboard,
  launchChromium,
  type ServeProcess,
  startServe,
} from '../support/browser.js';
import { writeTelcoRows } from '../support/telco.js';

describe.skipIf(!browserAvailable())('a running prediction in the dashboard', () => {
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let csv: string;
  const problems: string[] = [];

  const api = async (pathname: string, init: RequestInit = {}) => {
    const response = await fetch(`${serve.url}${pathname}`, {
      ...init,
      headers: { ...(init.headers as object), authorization: `Bearer ${serve.token}` },
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };

  beforeAll(async () => {
    await buildDashboard();
    [serve, browser, csv] = await Promise.all([
      startServe({ WORKER_CONCURRENCY: '1' }),
      launchChromium(),
      writeTelcoRows(800_000),
    ]);
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    if (csv) rmSync(csv, { force: true });
  });

  it('shows rows scored of the total and the time left, and cancels', async () => {
    const form = new FormData();
    form.append('file', await openAsBlob(csv, { type: 'text/csv' }), 'big.csv');
    const uploaded = await api('/v1/uploads', { method: 'POST', body: form });
    expect(uploaded.status).toBe(201);
    const created = await api('/v1/predictions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uploadId: uploaded.body.id }),
    });
    const id = created.body.id as string;
    await page.goto(`${serve.url}/predictions/${id}#token=${serve.token}`);

    const text = page.locator('.progress-text');
    // Rows counting up against the file's 800,000, and a time left once the pace is known.
    await expect
      .poll(async () => (await text.textContent()) ?? '', { timeout: 60_000 })
      .toMatch(/^[\d,]+ of 800,000 rows scored \([\d.]+%\), about .+ left$/);
    const bar = page.getByRole('progressbar', { name: 'Rows scored' });
    expect(await bar.getAttribute('max')).toBe('800000');
    expect(Number(await bar.getAttribute('value'))).toBeGreaterThan(0);

    await page.getByRole('button', { name: 'Cancel prediction' }).click();
    await page.locator('.status-line .status-cancelled').waitFor();
    expect(await page.locator('.status-line').textContent()).toContain(
      'You cancelled this prediction.',
    );
    expect(await page.locator('.progress-panel').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Download scored CSV' }).count()).toBe(0);
    expect((await api(`/v1/predictions/${id}`)).body.status).toBe('cancelled');
    expect(problems).toEqual([]);
  }, 180_000);
});
