/**
 * The Webhooks page in Chromium: a user adds an endpoint (a URL the API refuses first, saying
 * why), sees its secret once, sends a test that a real local receiver gets signed with that
 * secret, reads the delivery log, rotates the secret, switches the endpoint off and deletes it.
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
import {
  startWebhookReceiver,
  verifiesWith,
  type WebhookReceiver,
} from '../support/webhook-receiver.js';

describe.skipIf(!browserAvailable())('the Webhooks page in Chromium', () => {
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let receiver: WebhookReceiver;
  let foreign: string[];
  const problems: string[] = [];

  beforeAll(async () => {
    await buildDashboard();
    [serve, browser, receiver] = await Promise.all([
      startServe({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_ALLOW_HTTP: 'true' }),
      launchChromium(),
      startWebhookReceiver(),
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
    await receiver?.close();
  });

  it('adds an endpoint, shows its secret once, and delivers a signed test event', async () => {
    await page.goto(serve.link);
    await page.getByRole('heading', { name: 'Predictions', level: 1 }).waitFor();
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Webhooks' })
      .click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByText('No webhooks yet.').waitFor();

    await page.getByLabel('URL').fill('ftp://files.example.com/hook');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page
      .getByRole('alert')
      .getByText(/ftp: URLs are not supported/)
      .waitFor();

    await page.getByLabel('URL').fill(`${receiver.url}/from-the-dashboard`);
    await page.getByLabel(/A prediction failed/).check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secretPanel = page.getByRole('region', { name: /its signing secret/ });
    const secret = (await secretPanel.locator('code').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    await secretPanel.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByText('prediction.completed, prediction.failed').waitFor();

    await page.getByRole('button', { name: 'Send a test' }).click();
    const arrived = await receiver.next((r) => r.body.includes('"webhook.test"'));
    expect(verifiesWith(secret, arrived)).toBe(true);
    const log = page.locator('table.deliveries tbody tr');
    await log.filter({ hasText: 'delivered' }).waitFor();
    await log.getByText(String(arrived.headers['webhook-id'])).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-webhooks.png'), fullPage: true });

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = page.getByRole('region', { name: 'The new secret' });
    await rotated.getByText(/keeps signing beside it for 24 hours/).waitFor();
    expect(await rotated.locator('code').textContent()).not.toBe(secret);
    await rotated.getByRole('button', { name: 'I have stored it' }).click();

    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByText(/^Disabled · Standard/).waitFor();
    expect(await page.getByRole('button', { name: 'Send a test' }).isDisabled()).toBe(true);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No webhooks yet.').waitFor();
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  }, 60_000);
});
