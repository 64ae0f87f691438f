/**
 * The Usage page and a refused upload in Chromium (issue 16 item 2): a user sees each limit with
 * what they use of it; an upload over the storage quota is refused with the limit named, what is
 * used and what to do; the link leads to the usage page, where deleting the upload frees the space
 * and the same file is then accepted.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  browserAvailable,
  buildDashboard,
  launchChromium,
  recordForeignRequests,
  type ServeProcess,
  startServe,
} from '../support/browser.js';
import { telcoCsv } from '../support/telco.js';

/** Room for one Telco file (948 KiB) but not two. */
const STORED_LIMIT = 1_500_000;

describe.skipIf(!browserAvailable())('the Usage page in Chromium', () => {
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let foreign: string[];
  const problems: string[] = [];

  beforeAll(async () => {
    await buildDashboard();
    [serve, browser] = await Promise.all([
      startServe({
        QUOTA_STORED_BYTES: String(STORED_LIMIT),
        QUOTA_UPLOADS_PER_DAY: '10',
        QUOTA_ACTIVE_JOBS: '5',
      }),
      launchChromium(),
    ]);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    foreign = await recordForeignRequests(context, serve.url);
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        problems.push(`console: ${message.text()}`);
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
  });

  const meter = (name: string) => page.locator(`[data-meter="${name}"]`);
  const nav = (name: string) =>
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();

  async function uploadTelco() {
    await page.getByLabel('Choose a CSV file').setInputFiles({
      name: 'telco.csv',
      mimeType: 'text/csv',
      buffer: telcoCsv,
    });
    await page.getByRole('button', { name: 'Upload and check columns' }).click();
  }

  it('shows each limit from the navigation, with nothing used yet', async () => {
    await page.goto(serve.link);
    await page.getByRole('heading', { name: 'Predictions', level: 1 }).waitFor();
    await nav('Usage');
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    await meter('stored').getByText('0 B of 1.4 MiB').waitFor();
    expect(await meter('uploads-today').textContent()).toContain('0 of 10');
    expect(await meter('active-jobs').textContent()).toContain('0 of 5');
    expect(await meter('rate').textContent()).toContain('Up to 50 a second, in bursts of 100.');
    await page.getByText('You have no uploads.').waitFor();
  });

  it('refuses an upload over the storage quota, saying so, and frees space by deleting', async () => {
    await nav('Predictions');
    await uploadTelco();
    await page.waitForURL(/\/uploads\/[0-9a-f-]{36}/);
    await nav('Predictions');
    await uploadTelco();
    const note = page.getByRole('alert').filter({ hasText: 'Storage is full.' });
    await note.waitFor();
    const text = (await note.textContent()) ?? '';
    expect(text).toContain('Your account stores 948 KiB of its 1.4 MiB');
    expect(text).toContain('does not fit in what is left. Nothing was stored.');
    expect(text).toContain('Delete predictions or uploads you no longer need');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-quota-refused.png') });

    await note.getByRole('link', { name: 'See your usage' }).click();
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    await meter('stored').getByText('947.7 KiB of 1.4 MiB').waitFor();
    expect(await meter('uploads-today').textContent()).toContain('1 of 10');
    const rows = page.locator('table.uploads-table tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('telco.csv');
    await page.screenshot({
      path: path.join(ARTIFACTS, 'dashboard-usage.png'),
      fullPage: true,
    });

    await page.getByRole('button', { name: 'Delete telco.csv' }).click();
    await page.getByText('You have no uploads.').waitFor();
    await meter('stored').getByText('0 B of 1.4 MiB').waitFor();
    // Deleting gives no upload of the day back.
    expect(await meter('uploads-today').textContent()).toContain('1 of 10');

    await nav('Predictions');
    await uploadTelco();
    await page.waitForURL(/\/uploads\/[0-9a-f-]{36}/);
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
