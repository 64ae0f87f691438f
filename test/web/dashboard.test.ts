import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalToken } from '../../src/api/auth/local-key.js';
import {
  ARTIFACTS,
  browserAvailable,
  buildDashboard,
  launchChromium,
  recordForeignRequests,
  type ServeProcess,
  startServe,
} from '../support/browser.js';
import { TELCO_PATH as TELCO } from '../support/telco.js';

// Strings, evaluated in the page: this file is type-checked without the DOM library.
const STORED_TOKEN = "sessionStorage.getItem('churnline.token')";

interface Summary {
  scored: number;
  tiers: { high: number; medium: number; low: number };
  meanProbability: number;
  probabilityHistogram: number[] | null;
  revenue: { expectedMonthlyLoss: number } | null;
}

const UPLOAD_MAX_BYTES = 2 * 1024 ** 2;

/** Two Telco customers: a CSV the model scores in no time. */
const FEW_CUSTOMERS = readFileSync(TELCO, 'utf8').split('\n').slice(0, 3).join('\n');

describe.skipIf(!browserAvailable())('the dashboard in Chromium', () => {
  let serve: ServeProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let foreign: string[];
  const problems: string[] = [];
  let predictionId: string;

  const apiGet = async (pathname: string) => {
    const response = await fetch(`${serve.url}${pathname}`, {
      headers: { authorization: `Bearer ${serve.token}` },
    });
    expect(response.status, pathname).toBe(200);
    return response;
  };

  beforeAll(async () => {
    await buildDashboard();
    // 2 MiB: the Telco file (under 1 MiB) fits, and the limit check has something to refuse.
    [serve, browser] = await Promise.all([
      startServe({ UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES) }),
      launchChromium(),
    ]);
    context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    foreign = await recordForeignRequests(context, serve.url);
    page = await context.newPage();
    // A script error or a CSP violation shows up here; refused requests the test provokes
    // (the 415 upload) are logged by Chromium as "Failed to load resource" and are expected.
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        problems.push(`console: ${message.text()}`);
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
  });

  it('signs in with the link serve prints and takes the token out of the address bar', async () => {
    await page.goto(serve.link);
    await page.getByRole('heading', { name: 'Predictions', level: 1 }).waitFor();
    expect(page.url()).toBe(`${serve.url}/`);
    expect(await page.evaluate(STORED_TOKEN)).toBe(serve.token);
    await page.getByText('No predictions yet').waitFor();
  });

  it('asks before a link signs in as someone else, and keeps the signed-in user unless told', async () => {
    const header = page.locator('header.top');
    await header.getByText('Signed in as local-user').waitFor();
    const theirs = await createLocalToken({
      dataDir: serve.dataDir,
      userId: 'mallory',
      ttlSeconds: 3600,
    });
    // A page load from elsewhere, as when the link is followed from another site or an email.
    await page.goto('about:blank');
    await page.goto(`${serve.url}/#token=${theirs}`);
    const choice = page.getByRole('region', { name: 'Switch account?' });
    await choice
      .getByText('This link signs you in as mallory; you are signed in as local-user.')
      .waitFor();
    expect(page.url()).toBe(`${serve.url}/`);
    expect(await page.evaluate(STORED_TOKEN)).toBe(serve.token);
    await choice.getByRole('button', { name: 'Stay', exact: true }).click();
    await page.getByRole('heading', { name: 'Predictions', level: 1 }).waitFor();
    await header.getByText('Signed in as local-user').waitFor();
    expect(await page.evaluate(STORED_TOKEN)).toBe(serve.token);

    // The link opened in the dashboard's own tab (only the fragment changes): the same choice.
    await page.goto(`${serve.url}/#token=${theirs}`);
    await choice.getByRole('button', { name: 'Switch', exact: true }).click();
    await header.getByText('Signed in as mallory').waitFor();
    expect(page.url()).toBe(`${serve.url}/`);
    expect(await page.evaluate(STORED_TOKEN)).toBe(theirs);

    await page.goto('about:blank');
    await page.goto(serve.link);
    await choice
      .getByText('This link signs you in as local-user; you are signed in as mallory.')
      .waitFor();
    await choice.getByRole('button', { name: 'Switch', exact: true }).click();
    await header.getByText('Signed in as local-user').waitFor();
    expect(await page.evaluate(STORED_TOKEN)).toBe(serve.token);
  });

  it('ignores a malformed sign-in link, saying so, instead of showing a blank page', async () => {
    await page.goto('about:blank');
    await page.goto(`${serve.url}/#token=%E0%A4%A`);
    await page.getByRole('status').filter({ hasText: 'The sign-in link was malformed' }).waitFor();
    await page.getByRole('heading', { name: 'Predictions', level: 1 }).waitFor();
    expect(page.url()).toBe(`${serve.url}/`);
    expect(await page.evaluate(STORED_TOKEN)).toBe(serve.token);
    await page.getByRole('button', { name: 'Dismiss' }).click();
    expect(await page.getByText('The sign-in link was malformed').count()).toBe(0);

    const fresh = await browser.newContext();
    const signedOut = await fresh.newPage();
    await signedOut.goto(`${serve.url}/#token=%E0%A4%A`);
    await signedOut.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signedOut
      .getByRole('status')
      .filter({ hasText: 'The sign-in link was malformed' })
      .waitFor();
    await fresh.close();
  });

  it('refuses a file that is not CSV before uploading it', async () => {
    await page.getByLabel('Choose a CSV file').setInputFiles({
      name: 'customers.xlsx',
      mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      buffer: Buffer.from('PK\u0003\u0004'),
    });
    await expect(page.getByRole('alert').textContent()).resolves.toContain('is not a CSV file');
    expect(await page.getByRole('button', { name: 'Upload and score' }).isDisabled()).toBe(true);
  });

  it("refuses a file over the server's own upload limit before uploading it", async () => {
    await page.getByText('up to 2.0 MiB').waitFor();
    await page.getByLabel('Choose a CSV file').setInputFiles({
      name: 'everyone.csv',
      mimeType: 'text/csv',
      buffer: Buffer.alloc(UPLOAD_MAX_BYTES + 1, 'a'),
    });
    await page
      .getByRole('alert')
      .filter({ hasText: 'everyone.csv is 2.0 MiB; the limit is 2.0 MiB' })
      .waitFor();
    expect(await page.getByRole('button', { name: 'Upload and score' }).isDisabled()).toBe(true);
  });

  it('takes a dropped file through the same checks', async () => {
    await page.evaluate(`(() => {
      const data = new DataTransfer();
      data.items.add(new File(['not,a,table'], 'notes.txt', { type: 'text/plain' }));
      document.querySelector('.dropzone').dispatchEvent(
        new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }),
      );
    })()`);
    await page.getByRole('alert').filter({ hasText: 'notes.txt is not a CSV file' }).waitFor();
  });

  it('takes a .csv file whichever CSV type the browser gives it, and refuses one typed as a picture', async () => {
    // Types operating systems give .csv files; the server takes them too (uploads/routes.ts).
    for (const [i, mimeType] of [
      'text/x-csv',
      'application/x-csv',
      'text/comma-separated-values',
    ].entries()) {
      const name = `export-${i}.csv`;
      await page
        .getByLabel('Choose a CSV file')
        .setInputFiles({ name, mimeType, buffer: Buffer.from(FEW_CUSTOMERS) });
      await page.getByText(`${name} (`).waitFor();
      expect(await page.getByRole('alert').count(), mimeType).toBe(0);
      expect(await page.getByRole('button', { name: 'Upload and score' }).isDisabled()).toBe(false);
    }
    await page.getByLabel('Choose a CSV file').setInputFiles({
      name: 'photo.csv',
      mimeType: 'image/png',
      buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    });
    await page.getByRole('alert').filter({ hasText: 'photo.csv is not a CSV file' }).waitFor();
    expect(await page.getByRole('button', { name: 'Upload and score' }).isDisabled()).toBe(true);
  });

  it("shows the server's refusal verbatim", async () => {
    // Named .csv, so it passes the browser's checks; the server sniffs the bytes and refuses it.
    await page.getByLabel('Choose a CSV file').setInputFiles({
      name: 'archive.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0xff, 0xfe, 0, 1, 2, 3]),
    });
    const answered = page.waitForResponse(
      (r) => r.url().endsWith('/v1/uploads') && r.request().method() === 'POST',
    );
    await page.getByRole('button', { name: 'Upload and score' }).click();
    const response = await answered;
    expect(response.status()).toBe(415);
    const { error } = (await response.json()) as { error: { message: string } };
    await page.getByRole('alert').filter({ hasText: error.message }).waitFor();
  });

  it('uploads the Telco CSV and follows the prediction live until it completes', async () => {
    await page.getByLabel('Choose a CSV file').setInputFiles(TELCO);
    await page.getByText('telco-customer-churn.csv (').waitFor();
    // A slow uplink (about 2 s for the file) so the progress bar is there to be seen.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 500_000,
    });
    await page.getByRole('button', { name: 'Upload and score' }).click();
    const progress = page.getByRole('progressbar', { name: /^Uploading: \d+%/ });
    await progress.waitFor();
    expect(Number(await progress.getAttribute('max'))).toBeGreaterThan(900_000);
    await page.getByText('is queued for scoring').waitFor({ timeout: 30_000 });
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    await cdp.detach();
    const row = page.locator('tr[data-prediction]').filter({ hasText: 'telco-customer-churn.csv' });
    await row.getByText('completed').waitFor({ timeout: 60_000 });
    predictionId = (await row.getAttribute('data-prediction')) ?? '';
    expect(await row.locator('td[data-label="Customers"]').textContent()).toBe('7,043');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-list.png'), fullPage: true });
  }, 90_000);

  it("shows the API's counts on the summary cards, with both charts", async () => {
    await page.getByRole('link', { name: 'View results' }).click();
    await page.getByRole('heading', { name: 'Results for telco-customer-churn.csv' }).waitFor();
    const prediction = (await (await apiGet(`/v1/predictions/${predictionId}`)).json()) as {
      summary: Summary;
    };
    const { summary } = prediction;
    const card = (name: string) => page.locator(`[data-card="${name}"] .card-value`).textContent();
    const count = (n: number) => n.toLocaleString('en-US');
    expect(await card('scored')).toBe(count(summary.scored));
    expect(await card('high')).toBe(count(summary.tiers.high));
    expect(await card('medium')).toBe(count(summary.tiers.medium));
    expect(await card('low')).toBe(count(summary.tiers.low));
    expect(await card('mean')).toBe(`${(summary.meanProbability * 100).toFixed(1)}%`);
    // Telco has MonthlyCharges, so its revenue at risk is known.
    expect(summary.revenue).not.toBeNull();
    // Its values name no currency, so none is shown; the card rounds, its title is exact.
    const loss = summary.revenue!.expectedMonthlyLoss;
    const exact = loss.toLocaleString('en-US', {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
    const short = new Intl.NumberFormat('en-US', {
      notation: 'compact',
      maximumSignificantDigits: 3,
    }).format(loss);
    expect(await card('revenue')).toBe(`${short} (exactly ${exact})`);
    expect(await page.locator('[data-card="revenue"] .card-value').getAttribute('title')).toBe(
      exact,
    );
    // Each card is as tall as its own text.
    const heights = await page
      .locator('.cards .card')
      .evaluateAll((cards) => cards.map((c) => c.getBoundingClientRect().height));
    expect(Math.min(...heights)).toBeLessThan(Math.max(...heights));
    // What makes a customer high risk, in words and numbers, from the model's validation.
    await page
      .locator('.tier-guide')
      .getByText(
        /^a churn probability of 50% or more; in validation, \d+% of these customers churned/,
      )
      .waitFor();
    // No timings in the way; they are under "About this prediction".
    expect(await page.locator('.status-line').textContent()).not.toMatch(/waited|scored in/);
    await page.getByText('About this prediction').waitFor();
    const tiers = await page
      .getByRole('img', { name: /^Risk distribution:/ })
      .getAttribute('aria-label');
    expect(tiers).toContain(`High ${count(summary.tiers.high)}`);
    if (summary.probabilityHistogram) {
      await page
        .getByRole('img', { name: /^Histogram of churn probability.* high at 50\.0%/ })
        .waitFor();
      expect(await page.locator('.histogram-bar.tier-high').count()).toBe(10);
      expect(await page.locator('line.cutoff').count()).toBe(2);
    } else {
      await page.getByText('scored before histograms were recorded').waitFor();
    }
    await page.getByRole('status').filter({ hasText: 'Customers 1-50 of 7,043' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-results.png'), fullPage: true });
  });

  it("filters to high risk and opens a customer's reasons with the keyboard", async () => {
    const high = (await (
      await apiGet(`/v1/predictions/${predictionId}/rows?tier=high&limit=50`)
    ).json()) as {
      rows: Array<{ customerId: string; topReasons: string[] }>;
      total: number;
    };
    await page.getByLabel('Risk tier').selectOption('high');
    await page
      .getByRole('status')
      .filter({ hasText: `Customers 1-50 of ${high.total.toLocaleString('en-US')}` })
      .waitFor();
    const tiers = await page
      .locator('table.rows tbody tr[data-row] .tier-column .tier')
      .allTextContents();
    expect(tiers).toHaveLength(50);
    expect(new Set(tiers)).toEqual(new Set(['high']));

    const first = high.rows[0]!;
    const toggle = page.getByRole('button', { name: `Reasons for ${first.customerId}` });
    await toggle.focus();
    await page.keyboard.press('Enter');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    const details = page.locator(`#${await toggle.getAttribute('aria-controls')}`);
    expect(await details.locator('li').allTextContents()).toEqual(first.topReasons);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-reasons.png'), fullPage: true });
  });

  it('searches customers by the start of their id, on the server', async () => {
    await page.getByLabel('Risk tier').selectOption('');
    await page.getByLabel('Customer id starts with').fill('7590-V');
    await page.getByRole('status').filter({ hasText: 'Customers 1-1 of 1' }).waitFor();
    expect(await page.locator('table.rows tbody th.customer-id').allTextContents()).toEqual([
      '7590-VHVEG',
    ]);
    await page.getByLabel('Customer id starts with').fill('no-such-customer');
    await page.getByText('No customers match "no-such-customer"').waitFor();
    await page.getByLabel('Customer id starts with').fill('');
  });

  it('orders the customers by revenue at risk: the worklist', async () => {
    const worklist = (await (
      await apiGet(`/v1/predictions/${predictionId}/rows?sort=expected_loss_desc&limit=50`)
    ).json()) as { rows: Array<{ customerId: string; expectedMonthlyLoss: number }> };
    await page.getByLabel('Order').selectOption('expected_loss_desc');
    await expect
      .poll(() => page.locator('table.rows tbody th.customer-id').allTextContents())
      .toEqual(worklist.rows.map((r) => r.customerId));
    const first = page.locator('table.rows tbody tr[data-row]').first();
    // Telco's MonthlyCharges name no currency: the amount alone, to the cent.
    expect(await first.locator('td.number').nth(1).textContent()).toBe(
      worklist.rows[0]!.expectedMonthlyLoss.toLocaleString('en-US', {
        minimumFractionDigits: 2,
        maximumFractionDigits: 2,
      }),
    );
    expect(
      await page
        .getByRole('columnheader', { name: 'Expected monthly loss' })
        .getAttribute('aria-sort'),
    ).toBe('descending');
    // Exported as it stands: the high tier, most revenue at risk first, every row.
    await page.getByLabel('Risk tier').selectOption('high');
    const high = await (
      await apiGet(`/v1/predictions/${predictionId}/rows.csv?tier=high&sort=expected_loss_desc`)
    ).text();
    const started = page.waitForEvent('download');
    await page
      .getByRole('button', { name: /^Export this view \([\d,]+ customers, CSV\)$/ })
      .click();
    const download = await started;
    expect(download.suggestedFilename()).toBe(
      'telco-customer-churn-high-most-revenue-at-risk-first.csv',
    );
    const saved = path.join(tmpdir(), `churnline-view-${process.pid}.csv`);
    await download.saveAs(saved);
    const exported = readFileSync(saved, 'utf8');
    rmSync(saved);
    expect(exported).toBe(high);
    expect(exported.trimEnd().split('\n').length - 1).toBe(
      ((await (await apiGet(`/v1/predictions/${predictionId}`)).json()) as { summary: Summary })
        .summary.tiers.high,
    );
    await page.getByLabel('Risk tier').selectOption('');
    await page.getByLabel('Order').selectOption('probability_desc');
    const riskiest = (await (
      await apiGet(`/v1/predictions/${predictionId}/rows?limit=1`)
    ).json()) as { rows: Array<{ customerId: string }> };
    await page
      .locator('table.rows tbody th.customer-id')
      .first()
      .filter({ hasText: riskiest.rows[0]!.customerId })
      .waitFor();
  });

  it('says what to do about each customer, from a playbook the team edits in the page', async () => {
    const page1 = (await (
      await apiGet(`/v1/predictions/${predictionId}/rows?limit=50`)
    ).json()) as { rows: Array<{ recommendedAction: string }> };
    // Polled: the table may still be swapping in this order's first page.
    await expect
      .poll(() => page.locator('table.rows tbody td.action-cell').allTextContents())
      .toEqual(page1.rows.map((r) => r.recommendedAction));

    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Playbook' })
      .click();
    await page.getByRole('heading', { name: 'Playbook', level: 1 }).waitFor();
    await page.getByText('This is the playbook Churnline ships').waitFor();
    // Typed text stays text: nothing in it becomes markup.
    const hostile = '<img src=x onerror="window.pwned=1"> Call within 48 hours';
    await page.getByLabel('High risk').fill(hostile);
    await page.getByRole('button', { name: 'Add a rule' }).click();
    await page.getByLabel('Column name contains').last().fill('senior');
    await page.getByLabel('Then').last().fill('Offer the seniors plan.');
    await page.getByRole('button', { name: 'Save playbook' }).click();
    await page.getByText('Saved. New predictions recommend from it.').waitFor();
    const saved = (await (await apiGet('/v1/playbook')).json()) as {
      playbook: { rules: Array<{ column: string; action: string }>; tiers: { high: string } };
      isDefault: boolean;
    };
    expect(saved.isDefault).toBe(false);
    expect(saved.playbook.tiers.high).toBe(hostile);
    expect(saved.playbook.rules.at(-1)).toEqual({
      column: 'senior',
      action: 'Offer the seniors plan.',
    });
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(await page.locator('main img').count()).toBe(0);

    // A rule the API refuses is refused in the page, saying why; nothing changes.
    await page.getByLabel('Then').last().fill('');
    await page.getByRole('button', { name: 'Save playbook' }).click();
    await page.getByRole('alert').waitFor();
    expect(
      ((await (await apiGet('/v1/playbook')).json()) as typeof saved).playbook.rules.at(-1),
    ).toEqual({
      column: 'senior',
      action: 'Offer the seniors plan.',
    });

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Use the shipped playbook' }).click();
    await page.getByText('Back to the playbook Churnline ships.').waitFor();
    expect(((await (await apiGet('/v1/playbook')).json()) as typeof saved).isDefault).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-playbook.png'), fullPage: true });
    await page.goBack();
    await page.getByRole('heading', { name: /^Results for / }).waitFor();
  });

  it("shows the user's own columns beside the scores, kept in their settings, and jumps to any page", async () => {
    const picker = page.locator('details.column-picker');
    await picker.locator('summary').click();
    await picker.getByLabel('Contract').check();
    await picker.getByLabel('MonthlyCharges').check();
    await page.locator('table.rows thead th.own-column').nth(1).waitFor();
    expect(await page.locator('table.rows thead th.own-column').allTextContents()).toEqual([
      'Contract',
      'MonthlyCharges',
    ]);
    const first = await page.locator('table.rows tbody tr[data-row]').first();
    expect(await first.locator('td.own-column').first().textContent()).toMatch(
      /^(Month-to-month|One year|Two year)$/,
    );
    await expect
      .poll(
        async () =>
          ((await (await apiGet('/v1/settings')).json()) as { tableColumns: string[] })
            .tableColumns,
      )
      .toEqual(['Contract', 'MonthlyCharges']);

    // Straight to page 3 of 141, and back by one.
    await page.getByLabel('Page', { exact: true }).fill('3');
    await page.getByRole('button', { name: 'Go to page' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Customers 101-150 of 7,043, page 3 of 141' })
      .waitFor();
    const third = (await (
      await apiGet(`/v1/predictions/${predictionId}/rows?limit=50&offset=100`)
    ).json()) as { rows: Array<{ customerId: string }> };
    expect(await page.locator('table.rows tbody th.customer-id').allTextContents()).toEqual(
      third.rows.map((r) => r.customerId),
    );
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Customers 51-100 of 7,043, page 2' })
      .waitFor();

    // Kept across a reload; unticked, gone again.
    await page.reload();
    await page.locator('table.rows thead th.own-column').nth(1).waitFor();
    await page.locator('details.column-picker summary').click();
    await page.locator('details.column-picker').getByLabel('Contract').uncheck();
    await page.locator('details.column-picker').getByLabel('MonthlyCharges').uncheck();
    await expect.poll(() => page.locator('table.rows thead th.own-column').count()).toBe(0);
  });

  it('downloads the scored CSV, byte for byte what the API serves', async () => {
    const started = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download scored CSV' }).click();
    const download = await started;
    expect(download.suggestedFilename()).toBe('telco-customer-churn-scored.csv');
    const saved = path.join(tmpdir(), `churnline-download-${process.pid}.csv`);
    await download.saveAs(saved);
    const fromBrowser = readFileSync(saved);
    rmSync(saved);
    const fromApi = Buffer.from(
      await (await apiGet(`/v1/predictions/${predictionId}/results.csv`)).arrayBuffer(),
    );
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(fromBrowser)).toBe(sha(fromApi));
    expect(fromBrowser.toString('utf8').split('\n')[0]).toContain('churn_probability');
  });

  it('lays the results out on a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.locator('[data-card="high"]').waitFor();
    // Measured once everything has arrived: cards, charts and the first page of customers.
    await page.locator('tbody tr').first().waitFor();
    await page.waitForLoadState('networkidle');
    // Nothing wider than the screen except inside the table's own scroll box.
    const overflow = Number(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    );
    // Named on failure: the elements that reach past the screen's right edge.
    const wide = await page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.parentElement?.closest('.table-scroll'))
      .slice(0, 5).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`);
    expect(overflow, JSON.stringify(wide)).toBeLessThanOrEqual(0);
    // Every customer's Reasons button is on screen, not cut off inside the table's scroll box.
    const firstButton = page.locator('tbody tr[data-row] button').first();
    const box = await firstButton.boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(390);
    // The filters fold away behind one button until asked for.
    expect(await page.getByLabel('Risk tier').isVisible()).toBe(false);
    const toggle = page.getByRole('button', {
      name: /^Filter and order: all tiers, highest risk first/,
    });
    await toggle.click();
    expect(await page.getByLabel('Risk tier').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Hide filters' }).click();
    await page.screenshot({
      path: path.join(ARTIFACTS, 'dashboard-results-phone.png'),
      fullPage: true,
    });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('signs out, and stays signed out after a reload', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(STORED_TOKEN)).toBeNull();
    await page.reload();
    await page.getByLabel('Access token').waitFor();
  });

  it('signs in with a pasted token', async () => {
    await page.getByLabel('Access token').fill(serve.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /^Results for / }).waitFor();
  });

  it('signs out with the reason when the API refuses the token', async () => {
    const other = await browser.newContext();
    const stale = await other.newPage();
    await stale.goto(`${serve.url}/#token=bm90.YS10b2tlbg.c2lnbmF0dXJl`);
    const alert = stale.getByRole('alert');
    await alert
      .getByText(/^Your access token was refused, so you are signed out: it was revoked/)
      .waitFor();
    // The server's own words stay out of the way until asked for.
    expect(await alert.locator('details').getAttribute('open')).toBeNull();
    await stale.getByLabel('Access token').waitFor();
    await other.close();
  });

  it('shows each older prediction once, and no "older" button past the last page, while it polls', async () => {
    const token = await createLocalToken({
      dataDir: serve.dataDir,
      userId: 'many-predictions',
      ttlSeconds: 3600,
    });
    const auth = { authorization: `Bearer ${token}` };
    const form = new FormData();
    form.append('file', new Blob([FEW_CUSTOMERS], { type: 'text/csv' }), 'few.csv');
    const uploaded = await fetch(`${serve.url}/v1/uploads`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    expect(uploaded.status).toBe(201);
    const { id: uploadId } = (await uploaded.json()) as { id: string };
    // The list shows 20 a page (PAGE in PredictionsPage.tsx): 25 make two pages.
    for (let i = 0; i < 25; i++) {
      const created = await fetch(`${serve.url}/v1/predictions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ uploadId }),
      });
      expect(created.status).toBe(202);
    }
    const other = await browser.newContext();
    try {
      const own = await other.newPage();
      await own.goto(`${serve.url}/#token=${token}`);
      const rows = own.locator('tr[data-prediction]');
      await rows.nth(19).waitFor();
      const older = own.getByRole('button', { name: 'Show older predictions' });
      await older.click();
      await rows.nth(24).waitFor();
      await older.waitFor({ state: 'detached' });
      // A new prediction re-reads the first page and keeps the list polling while it is queued.
      await own.getByLabel('Choose a CSV file').setInputFiles({
        name: 'one-more.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(FEW_CUSTOMERS),
      });
      await own.getByRole('button', { name: 'Upload and score' }).click();
      await own.getByText('one-more.csv is queued for scoring').waitFor();
      await rows.nth(25).waitFor();
      await own.waitForTimeout(2_500); // more than two polls (POLL_MS, 1 s)
      expect(await older.count()).toBe(0);
      const ids = await Promise.all(
        (await rows.all()).map((row) => row.getAttribute('data-prediction')),
      );
      expect(ids).toHaveLength(26);
      expect(new Set(ids).size).toBe(26);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('made no request to anywhere but this server, and logged no error', () => {
    writeFileSync(path.join(ARTIFACTS, 'dashboard-foreign-requests.txt'), foreign.join('\n'));
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });
});
