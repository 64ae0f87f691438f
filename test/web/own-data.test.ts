/**
 * A team's own export in the dashboard, end to end: the shipped model's refusal, the column
 * check with its near miss and a column chosen by hand, training a model on the file, its card,
 * scoring with it, and the models page.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

const SAAS = fileURLToPath(new URL('../../data/saas-customers.csv', import.meta.url));
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

describe.skipIf(!browserAvailable())('your own data in the dashboard', () => {
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let foreign: string[];
  const problems: string[] = [];
  let uploadId: string;
  let modelId: string;

  const api = async (pathname: string, init: RequestInit = {}) => {
    const response = await fetch(`${serve.url}${pathname}`, {
      ...init,
      headers: { ...(init.headers as object), authorization: `Bearer ${serve.token}` },
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  const shot = (name: string) =>
    page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  /** Nothing reaches past the screen's right edge except inside a table's own scroll box. */
  async function expectNoSidewaysScroll(): Promise<void> {
    const overflow = Number(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    );
    const wide = await page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.parentElement?.closest('.table-scroll'))
      .slice(0, 5).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`);
    expect(overflow, JSON.stringify(wide)).toBeLessThanOrEqual(0);
  }

  beforeAll(async () => {
    await buildDashboard();
    [serve, browser] = await Promise.all([startServe(), launchChromium()]);
    const context = await browser.newContext({ acceptDownloads: true, viewport: DESKTOP });
    foreign = await recordForeignRequests(context, serve.url);
    page = await context.newPage();
    // A step that waits in vain fails by name, well within the test's own time limit.
    page.setDefaultTimeout(10_000);
    // The refusals this test provokes (422) are logged by Chromium as "Failed to load resource".
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

  it("shows the shipped model's refusal of a SaaS export as a short note with the next step", async () => {
    await page.goto(serve.link);
    await page.getByRole('heading', { name: 'Predictions', level: 1 }).waitFor();
    await page.getByLabel('Choose a CSV file').setInputFiles(SAAS);
    const refused = page.waitForResponse(
      (r) => r.url().endsWith('/v1/predictions') && r.request().method() === 'POST',
    );
    await page.getByRole('button', { name: 'Upload and score' }).click();
    const response = await refused;
    expect(response.status()).toBe(422);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('no_fit');
    uploadId = ((await response.request().postDataJSON()) as { uploadId: string }).uploadId;

    const note = page.getByRole('alert');
    await note.getByText('telco-v1 (shipped) cannot read this file.').waitFor();
    const text = (await note.textContent()) ?? '';
    // Written for a person: no endpoint, no API option, a few lines.
    expect(text).not.toMatch(/\/v1\/|allowPartialFit|PUT|GET/);
    expect(text.length).toBeLessThan(300);
    await note.getByRole('link', { name: 'Train a model on this file' }).waitFor();
    expect((await api('/v1/predictions')).body.predictions).toEqual([]);
    // The file is not lost: it is listed with its next steps.
    await page
      .locator(`tr[data-upload="${uploadId}"]`)
      .getByRole('rowheader', { name: 'saas-customers.csv' })
      .waitFor();
    await shot('own-data-refused');

    await note.getByRole('link', { name: 'Check columns' }).click();
    await page.getByRole('heading', { name: 'Check columns: saas-customers.csv' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/uploads/${uploadId}`);
  });

  it('checks the columns: a poor fit for telco-v1, with the near miss "MRR ($)" one click away', async () => {
    expect(await page.getByLabel('Score with').inputValue()).toBe('telco-v1');
    const verdict = page.locator('.verdict');
    await verdict.getByText('Poor fit').waitFor();
    await verdict
      .getByText(/^No column was found for 18 of its 19 inputs: MonthlyCharges, tenure/)
      .waitFor();
    await verdict
      .getByText('Contract holds categories this model never saw, which count as average.')
      .waitFor();
    const monthly = page.locator('tr[data-input="MonthlyCharges"]');
    await monthly.getByRole('cell', { name: 'not found Nearest: MRR ($)' }).waitFor();
    await page.getByText('Columns this model does not read:').waitFor();
    // Each input's dropdown lists the file's columns.
    const options = await page.getByLabel('Column for tenure').locator('option').allTextContents();
    expect(options).toEqual(expect.arrayContaining(['MRR ($)', 'Last Login', 'Churned?']));

    await page.getByRole('button', { name: 'Score with telco-v1' }).click();
    const note = page.getByRole('alert');
    await note.getByText('telco-v1 (shipped) cannot read this file.').waitFor();
    expect(await note.getByRole('button', { name: 'Score anyway' }).count()).toBe(0);
    await shot('own-data-check-columns');

    // The near miss, taken with the keyboard: saved, the report drawn again, focus kept in the row.
    const putMapping = () =>
      page.waitForResponse((r) => r.url().includes('/mapping') && r.request().method() === 'PUT');
    let saved = putMapping();
    await monthly.getByRole('button', { name: 'Use it for MonthlyCharges' }).focus();
    await page.keyboard.press('Enter');
    expect((await saved).status()).toBe(200);
    await monthly.getByText('your choice').waitFor();
    expect(await monthly.locator('td[data-label="Readable"]').textContent()).toBe('100.0%');
    expect(await page.evaluate('document.activeElement.id')).toBe('column-for-MonthlyCharges');

    // A column chosen from a dropdown that does not read as the input: its values say why.
    const tenure = page.locator('tr[data-input="tenure"]');
    saved = putMapping();
    await page.getByLabel('Column for tenure').selectOption('Signup Date');
    expect((await saved).status()).toBe(200);
    await tenure.locator('td[data-label="Readable"]').getByText('0.0%').waitFor();
    expect(await tenure.locator('.examples code').count()).toBeGreaterThan(0);
    await shot('own-data-check-columns-chosen');
    // ...and given back to automatic matching.
    saved = putMapping();
    await page.getByLabel('Column for tenure').selectOption('');
    expect((await saved).status()).toBe(200);
    await tenure.getByText('not found').waitFor();
    const fit = await api(`/v1/uploads/${uploadId}/mapping?modelId=telco-v1`);
    expect(fit.body.overrides).toEqual({ MonthlyCharges: 'MRR ($)' });
    await verdict.getByText('Poor fit').waitFor();

    // Still too little to mean much: now a poor fit that may be scored anyway, knowingly.
    await page.getByRole('button', { name: 'Score with telco-v1' }).click();
    await note.getByText('telco-v1 (shipped) would mostly be guessing on this file.').waitFor();
    await note.getByRole('button', { name: 'Score anyway' }).click();
    await page.getByRole('heading', { name: 'Results for saas-customers.csv' }).waitFor();
    await page.getByText('Scored with a partial fit: your file had no column for').waitFor({
      timeout: 30_000,
    });
    await page.goBack();
    await page.getByRole('heading', { name: 'Check columns: saas-customers.csv' }).waitFor();
  }, 60_000);

  it('trains a model on the file, following its progress to the model card', async () => {
    await page.getByRole('link', { name: 'Train a model on this file' }).first().click();
    await page.getByRole('heading', { name: 'Train a model on saas-customers.csv' }).waitFor();
    // The column that says who churned is guessed; the name comes from the file.
    const label = page.getByLabel('Column that says who churned');
    expect(await label.inputValue()).toBe('Churned?');
    expect(await page.getByLabel('Model name').inputValue()).toBe('saas-customers');
    // Its values are shown, and a yes/no needs no choice.
    const values = page.locator('#train-label-values');
    await values.getByText(/^Its values: No \([\d,]+\), Yes \([\d,]+\)\.$/).waitFor();
    const churned = page.getByLabel('Value that means churned');
    expect(await churned.locator('option').allTextContents()).toEqual([
      'Automatic: Yes',
      'No',
      'Yes',
    ]);
    // A label that is not a yes/no says so at once, and is refused until its churned value is
    // chosen, saying what to do.
    await label.selectOption('Plan');
    await values.getByText(/^Its values: .*Growth \([\d,]+\)/).waitFor();
    expect(await churned.locator('option').first().textContent()).toBe('Choose the churned value');
    await page
      .locator('#train-positive-hint')
      .getByText(/^Say which of its values means churned: it is not a yes\/no/)
      .waitFor();
    await page.getByRole('button', { name: 'Train model' }).click();
    await page
      .getByRole('alert')
      .getByText(
        /^The label column "Plan" has the values .*; say which one means churned \(choose it under "Value that means churned"\)/,
      )
      .waitFor();
    expect(await page.evaluate('document.activeElement.id')).toBe('train-positive');
    await shot('own-data-train');
    await label.selectOption('Churned?');
    await page.getByLabel('Model name').fill('SaaS churn');
    const created = page.waitForResponse(
      (r) => r.url().endsWith('/v1/models') && r.request().method() === 'POST',
    );
    await page.getByLabel('Model name').press('Enter');
    const response = await created;
    expect(response.status()).toBe(202);
    modelId = ((await response.json()) as { id: string }).id;
    await page.getByRole('heading', { name: 'SaaS churn', level: 1 }).waitFor();
    expect(page.url()).toBe(`${serve.url}/models/${modelId}?upload=${uploadId}`);
    // Followed live (a fast machine may finish before the first look).
    const progress = page.getByRole('progressbar', { name: 'Training' });
    const card = page.getByRole('heading', { name: 'How well it predicts' });
    await progress.or(card).first().waitFor();
    if (await progress.isVisible()) await shot('own-data-training');

    await page.getByRole('heading', { name: 'How well it predicts' }).waitFor({ timeout: 60_000 });
    const model = (await api(`/v1/models/${modelId}`)).body;
    expect(model.status).toBe('ready');
    const metric = (name: string) =>
      page.locator(`[data-metric="${name}"] .card-value`).textContent();
    expect(await metric('rocAuc')).toBe(model.metrics.rocAuc.toFixed(3));
    expect(await metric('brier')).toBe(model.metrics.brier.toFixed(3));
    expect(Number(await metric('rocAuc'))).toBeGreaterThan(0.8);
    await page
      .getByRole('img', { name: /^Calibration plot: predicted against observed/ })
      .waitFor();
    const importance = page.getByRole('list', { name: 'Importance of each input, largest first' });
    expect(await importance.locator('.importance-name').allTextContents()).toEqual(
      model.card.importance.map((entry: { column: string }) => entry.column),
    );
    expect(await page.locator('table.tiers tbody tr').count()).toBe(3);
    const best = model.card.bestSingleColumn;
    await page
      .getByText(`The best single column, ${best.column}, ranks churners with a ROC AUC of`)
      .waitFor();
    // An honest export has no leak to warn about.
    expect(await page.getByRole('heading', { name: 'Check before you trust it' }).count()).toBe(0);
    await page.getByText('Account ID: identifier').waitFor();
    await shot('own-data-model-card');
  }, 90_000);

  it('becomes the default, scores the file, and the results show its customers', async () => {
    await page.getByRole('button', { name: 'Make it my default' }).click();
    await page.locator('.status-line').getByText('your default model').waitFor();
    expect((await api('/v1/settings')).body).toMatchObject({ defaultModelId: modelId });

    await page.getByRole('button', { name: 'Score saas-customers.csv with this model' }).click();
    await page.getByRole('heading', { name: 'Results for saas-customers.csv' }).waitFor();
    await page.locator('.status-line').getByRole('link', { name: 'SaaS churn' }).waitFor();
    await page
      .getByRole('status')
      .filter({ hasText: 'Customers 1-50 of 5,000' })
      .waitFor({ timeout: 30_000 });
    expect(await page.locator('table.rows tbody tr[data-row]').count()).toBe(50);
    expect(await page.getByText('Scored with a partial fit').count()).toBe(0);
    // Its revenue column's values are in dollars ("$1,234.50"), and the card says so.
    expect(await page.locator('[data-card="revenue"] .card-value').getAttribute('title')).toMatch(
      /^\$[\d,]+\.\d\d$/,
    );
    await shot('own-data-results');
  }, 60_000);

  it('lays out the column check and the model card on a phone', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${serve.url}/uploads/${uploadId}?model=telco-v1`);
    await page.locator('.verdict').getByText('Poor fit').waitFor();
    await expectNoSidewaysScroll();
    await shot('own-data-check-columns-phone');
    await page.goto(`${serve.url}/models/${modelId}`);
    await page.getByRole('heading', { name: 'How well it predicts' }).waitFor();
    // Found by its fingerprint, without the address naming it: the file it was trained on.
    await page.getByRole('button', { name: 'Score saas-customers.csv with this model' }).waitFor();
    await expectNoSidewaysScroll();
    await shot('own-data-model-card-phone');
    await page.setViewportSize(DESKTOP);
  });

  it('lists the models, and deletes one only once confirmed', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Models' })
      .click();
    await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor();
    const row = page.locator(`tr[data-model="${modelId}"]`);
    await row.getByText('ready').waitFor();
    await row.getByText('default').waitFor();
    const model = (await api(`/v1/models/${modelId}`)).body;
    expect(await row.locator('td[data-label="ROC AUC"]').textContent()).toBe(
      model.metrics.rocAuc.toFixed(3),
    );
    await shot('own-data-models');

    await row.getByRole('button', { name: 'Delete SaaS churn' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete SaaS churn?' });
    await dialog.waitFor();
    await shot('own-data-delete-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect((await api(`/v1/models/${modelId}`)).status).toBe(200);

    await row.getByRole('button', { name: 'Delete SaaS churn' }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByRole('status').filter({ hasText: 'Deleted SaaS churn.' }).waitFor();
    expect((await api(`/v1/models/${modelId}`)).status).toBe(404);
    expect((await api('/v1/settings')).body).toMatchObject({ defaultModelId: null });

    // The shipped model has a card too.
    await page.getByRole('link', { name: 'telco-v1' }).click();
    await page.getByRole('heading', { name: 'telco-v1', level: 1 }).waitFor();
    await page.locator('.status-line').getByText('your default model').waitFor();
    await page.getByRole('img', { name: /^Calibration plot/ }).waitFor();
    expect(await page.locator('table.tiers tbody tr').count()).toBe(3);
    await shot('own-data-shipped-card');
  });

  it('made no request to anywhere but this server, and logged no error', () => {
    writeFileSync(path.join(ARTIFACTS, 'own-data-foreign-requests.txt'), foreign.join('\n'));
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });
});
