/**
 * Webhooks end to end (issue #15 item 4): a real service and a real local receiver (private
 * targets and http allowed, as the operator of a closed network would). Events arrive signed as
 * the Standard Webhooks specification says, checked here with the specification's algorithm;
 * failed attempts are retried with the same webhook-id; hostile URLs get clear 400s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema } from '../src/db/test-support/postgres.js';
import {
  callJson,
  type RunningService,
  startService,
  submitCsv,
  waitForStatus,
} from './support/service.js';
import { telcoCsv, telcoNextMonth, telcoText } from './support/telco.js';
import {
  type ReceivedWebhook,
  startWebhookReceiver,
  verifiesWith,
  type WebhookReceiver,
} from './support/webhook-receiver.js';

let service: RunningService;
let strict: RunningService;
let receiver: WebhookReceiver;
let alice: string;
let bob: string;
let dave: string;

beforeAll(async () => {
  [service, strict, receiver] = await Promise.all([
    startService({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_ALLOW_HTTP: 'true' }),
    startService(),
    startWebhookReceiver(),
  ]);
  alice = await service.token('alice');
  bob = await service.token('bob');
  dave = await service.token('dave');
});
afterAll(async () => {
  await Promise.all([service?.stop(), strict?.stop(), receiver?.close()]);
});

const call = (token: string, method: string, path: string, body?: unknown) =>
  callJson(service, token, method, path, body);

/** What the receiver got: a standard event or a Slack message. */
interface Delivered {
  type?: string;
  text?: string;
  blocks?: { text: { text: string } }[];
  data?: { predictionId?: string; [key: string]: unknown };
}

const json = (hook: ReceivedWebhook) => JSON.parse(hook.body) as Delivered;

async function register(
  token: string,
  path: string,
  events = ['prediction.completed', 'prediction.failed'],
  format?: 'standard' | 'slack',
) {
  const created = await call(token, 'POST', '/v1/webhooks', {
    url: `${receiver.url}${path}`,
    events,
    ...(format ? { format } : {}),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { id: string; secret: string; url: string };
}

describe('webhooks', () => {
  it('are registered per user, and show their secret only once', async () => {
    const hook = await register(alice, '/registered');
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(hook).toMatchObject({
      format: 'standard',
      enabled: true,
      previousSecretExpiresAt: null,
    });
    const listed = await call(alice, 'GET', '/v1/webhooks');
    expect(listed.status).toBe(200);
    expect(listed.body.webhooks.map((w: { id: string }) => w.id)).toContain(hook.id);
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');
    expect(
      JSON.stringify((await call(alice, 'GET', `/v1/webhooks/${hook.id}`)).body),
    ).not.toContain('whsec_');
    for (const [method, path] of [
      ['GET', `/v1/webhooks/${hook.id}`],
      ['GET', `/v1/webhooks/${hook.id}/deliveries`],
      ['POST', `/v1/webhooks/${hook.id}/rotate-secret`],
      ['POST', `/v1/webhooks/${hook.id}/test`],
      ['DELETE', `/v1/webhooks/${hook.id}`],
    ] as const) {
      const answer = await call(bob, method, path);
      expect(answer, `${method} ${path}`).toMatchObject({
        status: 404,
        body: { error: { code: 'not_found' } },
      });
    }
    expect((await call(bob, 'PATCH', `/v1/webhooks/${hook.id}`, { enabled: false })).status).toBe(
      404,
    );
    expect((await call(alice, 'DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect((await call(alice, 'GET', `/v1/webhooks/${hook.id}`)).status).toBe(404);
  });

  it('announce a completed prediction at once, signed as Standard Webhooks says', async () => {
    const hook = await register(alice, '/completed');
    const { predictionId } = await submitCsv(service, alice, telcoCsv);
    const arrived = await receiver.next(
      (r) => r.headers['webhook-id'] !== undefined && json(r).data?.predictionId === predictionId,
      30_000,
    );
    const prediction = await waitForStatus(service.url, alice, predictionId, ['completed']);
    const latencyMs = arrived.at - Date.parse(String(prediction.completedAt));
    // The goal (a median within 1 s) is measured by npm run bench:webhooks; here: the first
    // attempt, not a retry (the first retry waits 5 s).
    expect(latencyMs).toBeLessThan(5000);
    expect(verifiesWith(hook.secret, arrived)).toBe(true);
    expect(arrived.headers['content-type']).toBe('application/json');
    expect(arrived.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    const summary = prediction.summary as { tiers: { high: number; medium: number; low: number } };
    expect(json(arrived)).toEqual({
      type: 'prediction.completed',
      timestamp: prediction.completedAt,
      data: {
        predictionId,
        modelId: 'telco-v1',
        uploadId: prediction.uploadId,
        filename: 'customers.csv',
        rowsScored: 7043,
        rowsFailed: 0,
        tiers: summary.tiers,
        links: {
          self: `/v1/predictions/${predictionId}`,
          results: `/v1/predictions/${predictionId}/results.csv`,
        },
      },
    });
    const log = await call(alice, 'GET', `/v1/webhooks/${hook.id}/deliveries`);
    expect(log.status).toBe(200);
    expect(log.body.deliveries).toEqual([
      expect.objectContaining({
        id: arrived.headers['webhook-id'],
        eventType: 'prediction.completed',
        status: 'delivered',
        attempts: 1,
        responseStatus: 200,
        error: null,
        nextAttemptAt: null,
      }),
    ]);
    await call(alice, 'DELETE', `/v1/webhooks/${hook.id}`);
  });

  it('say when customers have become high risk since the previous prediction', async () => {
    const hook = await register(dave, '/newly-high', ['customers.newly_high_risk']);
    const first = await submitCsv(service, dave, telcoCsv);
    await waitForStatus(service.url, dave, first.predictionId, ['completed']);
    const tiers = new Map<string, string>();
    for (let offset = 0; ; offset += 500) {
      const page = await callJson(
        service,
        dave,
        'GET',
        `/v1/predictions/${first.predictionId}/rows?sort=row&limit=500&offset=${offset}`,
      );
      for (const row of page.body.rows) tiers.set(row.customerId, row.riskTier);
      if (tiers.size >= page.body.total) break;
    }
    const month = telcoNextMonth((id) => tiers.get(id), { risky: 10, dropped: 0, added: [] });
    const second = await submitCsv(service, dave, month.csv);
    const arrived = await receiver.next(
      (r) =>
        json(r).type === 'customers.newly_high_risk' &&
        json(r).data?.predictionId === second.predictionId,
      30_000,
    );
    expect(verifiesWith(hook.secret, arrived)).toBe(true);
    const done = await waitForStatus(service.url, dave, second.predictionId, ['completed']);
    const changes = (done.summary as { changes: { newlyHighRisk: number } }).changes;
    expect(changes.newlyHighRisk).toBeGreaterThan(0);
    expect(json(arrived)).toMatchObject({
      type: 'customers.newly_high_risk',
      data: {
        newlyHighRisk: changes.newlyHighRisk,
        previousPredictionId: first.predictionId,
        links: { changes: `/v1/predictions/${second.predictionId}/changes` },
      },
    });
    // The first prediction had nothing to compare with: no such event for it.
    const firsts = receiver.received.filter(
      (r) =>
        json(r).type === 'customers.newly_high_risk' &&
        json(r).data?.predictionId === first.predictionId,
    );
    expect(firsts).toEqual([]);
  });

  it('announce a failed prediction', async () => {
    const hook = await register(alice, '/failed', ['prediction.failed']);
    const [header, ...rows] = telcoText.split('\n');
    // Every row has a field too many: the file passes the column check and fails scoring.
    const ragged = `${header}\n${rows
      .slice(0, 3)
      .map((r) => `${r},x`)
      .join('\n')}\n`;
    const { predictionId } = await submitCsv(service, alice, ragged);
    const arrived = await receiver.next((r) => json(r).data?.predictionId === predictionId, 30_000);
    expect(verifiesWith(hook.secret, arrived)).toBe(true);
    expect(json(arrived)).toMatchObject({
      type: 'prediction.failed',
      data: {
        predictionId,
        error: { code: 'invalid_csv' },
        links: { self: `/v1/predictions/${predictionId}` },
      },
    });
    await call(alice, 'DELETE', `/v1/webhooks/${hook.id}`);
  });

  it('retry a failed attempt with the same webhook-id, and sign with both secrets after a rotation', async () => {
    const hook = await register(alice, '/flaky');
    let calls = 0;
    receiver.respond = (r) =>
      r.headers['webhook-id'] && r.body.includes('webhook.test') && calls++ === 0 ? 500 : 200;
    const from = receiver.received.length;
    const sent = await call(alice, 'POST', `/v1/webhooks/${hook.id}/test`);
    expect(sent.status).toBe(202);
    const id = sent.body.deliveryId as string;
    const first = await receiver.next((r) => r.headers['webhook-id'] === id, 10_000, from);
    const pending = await call(alice, 'GET', `/v1/webhooks/${hook.id}/deliveries`);
    expect(pending.body.deliveries[0]).toMatchObject({
      id,
      status: 'pending',
      attempts: 1,
      responseStatus: 500,
      error: 'HTTP 500: ok',
    });
    const second = await receiver.next(
      (r) => r.headers['webhook-id'] === id && r !== first,
      15_000,
      from,
    );
    expect(second.body).toBe(first.body);
    expect(second.at - first.at).toBeGreaterThanOrEqual(4500); // the first retry waits 5 s
    expect(verifiesWith(hook.secret, second)).toBe(true);
    receiver.respond = () => 200;

    const rotated = await call(alice, 'POST', `/v1/webhooks/${hook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(hook.secret);
    const test = await call(alice, 'POST', `/v1/webhooks/${hook.id}/test`);
    const signedTwice = await receiver.next(
      (r) => r.headers['webhook-id'] === test.body.deliveryId,
    );
    expect(String(signedTwice.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifiesWith(rotated.body.secret, signedTwice)).toBe(true);
    expect(verifiesWith(hook.secret, signedTwice)).toBe(true);
    await call(alice, 'DELETE', `/v1/webhooks/${hook.id}`);
  }, 40_000);

  it('deliver to a receiver that was down once it is back, with the same webhook-id', async () => {
    const hook = await register(alice, '/down');
    await receiver.close();
    const sent = await call(alice, 'POST', `/v1/webhooks/${hook.id}/test`);
    const id = sent.body.deliveryId as string;
    const log = async () =>
      (await call(alice, 'GET', `/v1/webhooks/${hook.id}/deliveries`)).body.deliveries[0];
    const deadline = Date.now() + 15_000;
    while ((await log()).attempts < 2 && Date.now() < deadline) await sleep(100);
    const waiting = await log();
    expect(waiting).toMatchObject({ id, status: 'pending', attempts: 2, responseStatus: null });
    expect(waiting.error).toMatch(/could not connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    // The third attempt is due 5 minutes later; the receiver is back and the time has come.
    expect(Date.parse(waiting.nextAttemptAt) - Date.now()).toBeGreaterThan(4 * 60_000);
    await receiver.reopen();
    const from = receiver.received.length;
    await service.app.db
      .updateTable('outbox')
      .set({ not_before: new Date().toISOString() })
      .where('job_id', '=', id)
      .where('sent_at', 'is', null)
      .execute();
    const arrived = await receiver.next((r) => r.headers['webhook-id'] === id, 10_000, from);
    expect(verifiesWith(hook.secret, arrived)).toBe(true);
    await waitFor(async () => (await log()).status === 'delivered');
    expect(await log()).toMatchObject({
      id,
      status: 'delivered',
      attempts: 3,
      responseStatus: 200,
    });
    await call(alice, 'DELETE', `/v1/webhooks/${hook.id}`);
  }, 40_000);

  it('speak Slack: a sentence, not JSON', async () => {
    const hook = await register(alice, '/slack', ['prediction.completed'], 'slack');
    const { predictionId } = await submitCsv(service, alice, telcoCsv);
    const arrived = await receiver.next((r) => r.body.startsWith('{"text":"Prediction of'), 30_000);
    const done = await waitForStatus(service.url, alice, predictionId, ['completed']);
    const high = (done.summary as { tiers: { high: number } }).tiers.high.toLocaleString('en-US');
    expect(json(arrived).text).toBe(
      `Prediction of customers.csv completed: 7,043 customers, ${high} high risk`,
    );
    expect(json(arrived).blocks?.[0]?.text.text).toBe(json(arrived).text);
    expect(verifiesWith(hook.secret, arrived)).toBe(true);
    await call(alice, 'DELETE', `/v1/webhooks/${hook.id}`);
  });

  it('send nothing while disabled, and refuse a test then', async () => {
    const hook = await register(alice, '/disabled');
    const patched = await call(alice, 'PATCH', `/v1/webhooks/${hook.id}`, { enabled: false });
    expect(patched).toMatchObject({ status: 200, body: { enabled: false } });
    expect(await call(alice, 'POST', `/v1/webhooks/${hook.id}/test`)).toMatchObject({
      status: 409,
      body: { error: { code: 'webhook_disabled' } },
    });
    expect(await call(alice, 'PATCH', `/v1/webhooks/${hook.id}`, {})).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } },
    });
    await call(alice, 'DELETE', `/v1/webhooks/${hook.id}`);
  });

  it('stop at 20 endpoints per user', async () => {
    const carol = await service.token('carol');
    for (let i = 0; i < 20; i++) await register(carol, `/many/${i}`);
    expect(
      await call(carol, 'POST', '/v1/webhooks', {
        url: `${receiver.url}/one-more`,
        events: ['prediction.failed'],
      }),
    ).toMatchObject({ status: 409, body: { error: { code: 'webhook_limit' } } });
  });
});

describe('hostile webhook URLs', () => {
  it.each([
    ['http://127.0.0.1/hook', 'invalid_webhook_url', /must use https:\/\//],
    ['https://127.0.0.1/hook', 'unsafe_webhook_target', /host 127\.0\.0\.1 is a loopback address/],
    ['https://[::1]/hook', 'unsafe_webhook_target', /host ::1 is a loopback address/],
    ['https://169.254.169.254/latest/meta-data/', 'unsafe_webhook_target', /link-local/],
    ['https://0x7f.1/hook', 'unsafe_webhook_target', /host 127\.0\.0\.1 is a loopback/],
    ['https://2130706433/hook', 'unsafe_webhook_target', /host 127\.0\.0\.1 is a loopback/],
    ['https://[::ffff:169.254.169.254]/', 'unsafe_webhook_target', /link-local/],
    ['https://10.0.0.8/hook', 'unsafe_webhook_target', /private address/],
    ['https://100.64.1.1/hook', 'unsafe_webhook_target', /carrier-grade NAT/],
    ['https://[fd00::1]/hook', 'unsafe_webhook_target', /unique-local/],
    ['https://localhost/hook', 'unsafe_webhook_target', /names this machine/],
    ['https://user:secret@93.184.215.14/hook', 'invalid_webhook_url', /user name or password/],
    ['ftp://93.184.215.14/hook', 'invalid_webhook_url', /ftp: URLs are not supported/],
    ['file:///etc/passwd', 'invalid_webhook_url', /file: URLs are not supported/],
    ['gopher://93.184.215.14:70/', 'invalid_webhook_url', /gopher: URLs are not supported/],
    ['https://93.184.215.14:25/', 'invalid_webhook_url', /port 25 is refused/],
    ['https://no-such-host.invalid/hook', 'unresolvable_webhook_host', /does not resolve/],
    ['/relative/path', 'invalid_webhook_url', /not a valid absolute URL/],
  ])('refuses %s with a 400 that says why', async (url, code, message) => {
    const token = await strict.token('mallory');
    const answer = await callJson(strict, token, 'POST', '/v1/webhooks', {
      url,
      events: ['prediction.completed'],
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe(code);
    expect(answer.body.error.message).toMatch(message);
  });

  it('refuses bad events and formats in the same error shape', async () => {
    const token = await strict.token('mallory');
    const post = (body: unknown) => callJson(strict, token, 'POST', '/v1/webhooks', body);
    const url = 'https://93.184.215.14/hook';
    for (const body of [
      { url, events: [] },
      { url, events: ['prediction.exploded'] },
      { url, events: ['prediction.failed', 'prediction.failed'] },
      { url, events: ['prediction.failed'], format: 'teams' },
      { url, events: ['prediction.failed'], secret: 'whsec_mine' },
    ]) {
      const answer = await post(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe('invalid_request');
    }
    // A public address is fine (nothing is sent until an event happens).
    expect((await post({ url, events: ['prediction.failed'] })).status).toBe(201);
  });

  it('refuses a URL changed to a private address', async () => {
    const token = await strict.token('mallory');
    const made = await callJson(strict, token, 'POST', '/v1/webhooks', {
      url: 'https://93.184.215.14/hook',
      events: ['prediction.completed'],
    });
    const changed = await callJson(strict, token, 'PATCH', `/v1/webhooks/${made.body.id}`, {
      url: 'https://192.168.0.1/admin',
    });
    expect(changed).toMatchObject({
      status: 400,
      body: { error: { code: 'unsafe_webhook_target' } },
    });
  });
});

describe('webhooks on PostgreSQL (database and queue)', () => {
  it('announce a prediction and retry with the same webhook-id', async () => {
    const schema = await createTestSchema();
    const pg = await startService({
      DATABASE_URL: schema.url,
      QUEUE: 'postgres',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_ALLOW_HTTP: 'true',
    });
    try {
      const token = await pg.token('alice');
      const created = await callJson(pg, token, 'POST', '/v1/webhooks', {
        url: `${receiver.url}/postgres`,
        events: ['prediction.completed'],
      });
      expect(created.status).toBe(201);
      const { predictionId } = await submitCsv(pg, token, telcoCsv);
      const arrived = await receiver.next(
        (r) => json(r).data?.predictionId === predictionId,
        30_000,
      );
      expect(verifiesWith(created.body.secret, arrived)).toBe(true);

      const from = receiver.received.length;
      let calls = 0;
      receiver.respond = (r) => (r.body.includes('webhook.test') && calls++ === 0 ? 503 : 200);
      const test = await callJson(pg, token, 'POST', `/v1/webhooks/${created.body.id}/test`);
      const id = test.body.deliveryId as string;
      const first = await receiver.next((r) => r.headers['webhook-id'] === id, 10_000, from);
      const again = await receiver.next(
        (r) => r.headers['webhook-id'] === id && r !== first,
        15_000,
        from,
      );
      expect(again.body).toBe(first.body);
      await waitFor(async () => {
        const log = await callJson(pg, token, 'GET', `/v1/webhooks/${created.body.id}/deliveries`);
        return log.body.deliveries[0]?.status === 'delivered';
      });
    } finally {
      receiver.respond = () => 200;
      await pg.stop();
      await schema.drop();
    }
  }, 60_000);
});

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(50);
  }
}
