/**
 * The customer-success manager's flow in the dashboard, a month after the first scoring: the
 * results, the worklist by revenue at risk, who changed since last month, a customer's page with
 * its timeline and what to do, and the export of the newly high-risk customers. At desktop and
 * phone sizes, with nothing from another origin and no page errors.
 */
import { mkdirSync, readFileSync } from 'node:fs';
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
import { RISKY_CUSTOMER, telcoNextMonth, telcoText, telcoWithValues } from '../support/telco.js';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
/** An id that would run as script if the page ever put it into HTML unescaped. */
const HOSTILE_ID = '<img src=x onerror="window.hacked=1">';

describe.skipIf(!browserAvailable())("the manager's flow in the dashboard", () => {
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let foreign: string[];
  const problems: string[] = [];
  let second: string;
  let newlyHigh: number;

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

  async function score(csv: string, filename: string): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), filename);
    const uploaded = await api('/v1/uploads', { method: 'POST', body: form });
    const created = await api('/v1/predictions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uploadId: uploaded.body.id }),
    });
    for (;;) {
      const prediction = await api(`/v1/predictions/${created.body.id}`);
      if (prediction.body.status === 'completed') return created.body.id;
      if (prediction.body.status === 'failed') throw new Error(JSON.stringify(prediction.body));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Chooses an order and waits until its page is on screen: the status line reads the same for
   * every order of the same rows, so waiting for it would read the previous order's page.
   */
  async function chooseOrder(option: string, inQuery: string): Promise<void> {
    const loaded = page.waitForResponse(
      (r) => r.url().includes('/rows?') && r.url().includes(inQuery) && r.ok(),
    );
    await page.getByLabel('Order').selectOption(option);
    await loaded;
    await page.locator('.rows-status[aria-busy="false"]').waitFor();
  }

  async function expectNoSidewaysScroll(): Promise<void> {
    const overflow = Number(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    );
    expect(overflow).toBeLessThanOrEqual(0);
  }

  beforeAll(async () => {
    await buildDashboard();
    [serve, browser] = await Promise.all([startServe(), launchChromium()]);
    const context = await browser.newContext({ acceptDownloads: true, viewport: DESKTOP });
    foreign = await recordForeignRequests(context, serve.url);
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    mkdirSync(ARTIFACTS, { recursive: true });

    const first = await score(telcoText, 'customers-october.csv');
    const tiers = new Map<string, string>();
    for (let offset = 0; ; offset += 500) {
      const rows = await api(`/v1/predictions/${first}/rows?sort=row&limit=500&offset=${offset}`);
      for (const row of rows.body.rows) tiers.set(row.customerId, row.riskTier);
      if (tiers.size >= rows.body.total) break;
    }
    const month = telcoNextMonth((id) => tiers.get(id), {
      risky: 30,
      dropped: 20,
      added: ['NEW-0001', 'NEW-0002'],
    });
    const template = telcoText.split('\n')[1] as string;
    const hostile = telcoWithValues(
      `"${HOSTILE_ID.replaceAll('"', '""')}"${template.slice(template.indexOf(','))}`,
      RISKY_CUSTOMER,
    );
    second = await score(`${month.csv}\n${hostile}\n`, 'customers-november.csv');
    newlyHigh = (await api(`/v1/predictions/${second}`)).body.summary.changes.newlyHighRisk;
    expect(newlyHigh).toBeGreaterThan(10);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
  });

  it('shows who changed since last month, and the worklist by revenue at risk', async () => {
    await page.goto(serve.link);
    await page.goto(`${serve.url}/predictions/${second}`);
    await page.getByRole('heading', { name: 'Results for customers-november.csv' }).waitFor();
    const changes = page.locator('section.changes');
    await changes.waitFor();
    await expect(changes.textContent()).resolves.toContain('customers-october.csv');
    await expect(
      changes.getByRole('heading', { name: /Newly high risk/ }).textContent(),
    ).resolves.toContain(String(newlyHigh));
    // Worklist: the most monthly revenue at risk first.
    await chooseOrder('expected_loss_desc', 'sort=expected_loss_desc');
    const losses = await page
      .locator('table.rows tbody tr[data-row] td:nth-child(5)')
      .allTextContents();
    const amounts = losses.map((text) => Number(text.replace(/[^0-9.]/g, '')));
    expect(amounts.length).toBe(50);
    expect(amounts).toEqual([...amounts].sort((a, b) => b - a));
    // Any of the user's own columns of numbers orders the table once it is shown.
    await page.getByText('Your columns in the table').click();
    await page.getByRole('checkbox', { name: 'MonthlyCharges' }).check();
    await chooseOrder('column_desc:MonthlyCharges', 'sortColumn=MonthlyCharges');
    await page.locator('th[aria-sort="descending"]', { hasText: 'MonthlyCharges' }).waitFor();
    const charges = (
      await page.locator('table.rows tbody tr[data-row] td.own-column').allTextContents()
    ).map(Number);
    expect(charges).toEqual([...charges].sort((a, b) => b - a));
    expect(charges[0]).toBeGreaterThan(118);
    // The trend column says how each customer moved.
    const trends = await page.locator('table.rows tbody .trend').count();
    expect(trends).toBeGreaterThan(0);
    await shot('manager-results-desktop');
  });

  it('lists the newly high-risk customers in the table, and exports exactly them', async () => {
    await page
      .locator('section.changes')
      .getByRole('button', { name: `Show all ${newlyHigh} in the table` })
      .click();
    await page.getByText(new RegExp(`^Customers 1-\\d+ of ${newlyHigh}\\b`)).waitFor();
    await expect(
      page.getByLabel('Since the previous prediction', { exact: true }).inputValue(),
    ).resolves.toBe('newly_high_risk');
    const badges = await page.locator('table.rows tbody td.hide-on-phone .trend-badge').count();
    expect(badges).toBe(Math.min(newlyHigh, 50));

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: /Export this view/ }).click();
    const file = await (await download).path();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(newlyHigh + 1);
  });

  it("opens a customer's page with the timeline, the reasons and what to do", async () => {
    const link = page.locator('table.rows tbody th.customer-id a').first();
    const id = (await link.textContent()) as string;
    await link.click();
    await page.getByRole('heading', { name: `Customer ${id}`, level: 1 }).waitFor();
    await page.locator('svg.timeline').waitFor();
    const what = page.locator('section[aria-labelledby="now-title"]');
    await expect(what.locator('.next-step').textContent()).resolves.toMatch(/\w+/);
    expect(await what.locator('.row-reasons li').count()).toBeGreaterThan(0);
    const scorings = page.locator('section[aria-labelledby="timeline-title"] tbody tr');
    expect(await scorings.count()).toBe(2);
    await expect(scorings.first().textContent()).resolves.toContain('Newly high risk');
    await shot('manager-customer-desktop');

    await page.setViewportSize(PHONE);
    await expectNoSidewaysScroll();
    await shot('manager-customer-phone');
    // Back to the results on a phone: the changes panel and the table fit.
    await page.getByRole('link', { name: 'customers-november.csv' }).first().click();
    await page.locator('section.changes').waitFor();
    await page.getByText(/^Customers 1-50 of/).waitFor();
    await expectNoSidewaysScroll();
    await shot('manager-results-phone');
    await page.setViewportSize(DESKTOP);
  });

  it('shows a hostile customer id as text, and a customer nobody scored as a clear message', async () => {
    await page.goto(`${serve.url}/customers/${encodeURIComponent(HOSTILE_ID)}`);
    await page.getByRole('heading', { name: `Customer ${HOSTILE_ID}` }).waitFor();
    await page.locator('.next-step').waitFor();
    expect(await page.evaluate('window.hacked')).toBeUndefined();
    expect(await page.locator('img[src="x"]').count()).toBe(0);

    await page.goto(`${serve.url}/customers/NOBODY-1`);
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'No completed prediction of yours has scored a customer with id "NOBODY-1"',
    );
    // The 404 is the only console complaint Chromium makes.
    const unexpected = problems.filter((p) => !p.includes('404'));
    expect(unexpected).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
