/**
 * Per-user quotas and the rate limit over HTTP (issue 16 item 2), on SQLite and PostgreSQL: each
 * limit refuses in the API's error shape with the limit, its value and the use; nothing is stored
 * by a refused request and nothing stored before is lost; concurrent requests cannot both pass a
 * cap. Limits are set per service; every test uses users of its own.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setQuotaOverrides } from '../src/db/quotas.js';
import { createTestSchema, type TestSchema } from '../src/db/test-support/postgres.js';
import {
  authorised,
  callJson,
  postPrediction,
  type RunningService,
  startService,
  upload,
  uploadCsv,
  waitForStatus,
} from './support/service.js';
import { storedState } from './support/stored-state.js';
import { telcoText } from './support/telco.js';

const KIB = 1024;
const STORED_LIMIT = 300 * KIB;

/** A Telco-shaped CSV of about `bytes` bytes. */
function csvOf(bytes: number): string {
  const lines = telcoText.split('\n');
  let out = `${lines[0]}\n`;
  for (let i = 1; out.length < bytes; i++) out += `${lines[1 + (i % 7000)]}\n`;
  return out;
}

interface QuotaBody {
  error: {
    code: string;
    message: string;
    quota?: {
      name: string;
      limit: number;
      used: number | null;
      requested?: number;
      resetsAt?: string;
    };
  };
}

/** Uploads `content` as a chunked multipart body: no Content-Length, so its size is unknown. */
async function uploadChunked(url: string, token: string, content: string): Promise<Response> {
  const boundary = `----churnline${randomUUID()}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const bytes = Buffer.from(head + content + tail);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < bytes.length; at += 16 * KIB) {
        controller.enqueue(bytes.subarray(at, at + 16 * KIB));
      }
      controller.close();
    },
  });
  return fetch(`${url}/v1/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
    body,
    duplex: 'half',
  } as RequestInit);
}

describe.each(['sqlite', 'postgres'] as const)('quotas on %s', (engine) => {
  let schemas: TestSchema[] = [];
  let api: RunningService;
  let full: RunningService;

  async function engineEnv(): Promise<Record<string, string>> {
    if (engine === 'sqlite') return {};
    const schema = await createTestSchema();
    schemas.push(schema);
    return { DATABASE_URL: schema.url, QUEUE: 'postgres' };
  }

  beforeAll(async () => {
    const limits = {
      QUOTA_STORED_BYTES: String(STORED_LIMIT),
      QUOTA_UPLOADS_PER_DAY: '4',
      QUOTA_ACTIVE_JOBS: '2',
      RATE_LIMIT_PER_SECOND: '0',
    };
    // API only: predictions stay queued, so the active-jobs cap holds still.
    api = await startService({ ...(await engineEnv()), ...limits }, ['api']);
    // With a worker: results are written and counted.
    full = await startService({ ...(await engineEnv()), ...limits, QUOTA_ACTIVE_JOBS: '0' });
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), full?.stop()]);
    await Promise.all(schemas.map((schema) => schema.drop()));
    schemas = [];
  });

  const user = async (service: RunningService) => service.token(`u-${randomUUID()}`);

  it('refuses an upload over the stored bytes before reading it: 409, the limit, nothing stored', async () => {
    const token = await user(api);
    await uploadCsv(api, token, csvOf(200 * KIB));
    const before = await storedState(api);
    const refused = await upload(api.url, token, csvOf(150 * KIB));
    expect(refused.status).toBe(409);
    expect(refused.headers.get('connection')).toBe('close');
    const body = (await refused.json()) as QuotaBody;
    expect(body.error.code).toBe('stored_bytes_quota');
    expect(body.error.message).toMatch(
      /^Your account stores 200 KiB of its 300 KiB \(uploads 200 KiB, results 0 bytes\): this upload \(150 KiB\) does not fit in what is left\. Nothing was stored\. Delete predictions or uploads you no longer need/,
    );
    expect(body.error.quota).toMatchObject({ name: 'stored_bytes', limit: STORED_LIMIT });
    expect(body.error.quota?.used).toBeGreaterThanOrEqual(200 * KIB);
    expect(body.error.quota?.requested).toBeGreaterThan(150 * KIB);
    expect(await storedState(api)).toEqual(before);
  });

  it('cuts off a chunked upload at what is left of the stored bytes, and keeps nothing of it', async () => {
    const token = await user(api);
    await uploadCsv(api, token, csvOf(200 * KIB));
    const before = await storedState(api);
    const refused = await uploadChunked(api.url, token, csvOf(150 * KIB));
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as QuotaBody;
    expect(body.error).toMatchObject({
      code: 'stored_bytes_quota',
      quota: { name: 'stored_bytes', limit: STORED_LIMIT },
    });
    expect(body.error.message).toMatch(
      /^Your account stores 200 KiB of its 300 KiB \(uploads 200 KiB, results 0 bytes\): this upload went past the 100 KiB that were left and was stopped there\. Nothing was stored\./,
    );
    expect(await storedState(api)).toEqual(before);
    // One that fits is accepted the same way.
    expect((await uploadChunked(api.url, token, csvOf(50 * KIB))).status).toBe(201);
  });

  it('lets two concurrent uploads that fit only one at a time store exactly one', async () => {
    const token = await user(api);
    const answers = await Promise.all([
      upload(api.url, token, csvOf(200 * KIB)),
      upload(api.url, token, csvOf(200 * KIB)),
      uploadChunked(api.url, token, csvOf(200 * KIB)),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
    const usage = await callJson(api, token, 'GET', '/v1/usage');
    expect(usage.body.storedBytes.used).toBeLessThanOrEqual(STORED_LIMIT);
    const listed = await callJson(api, token, 'GET', '/v1/uploads');
    expect(listed.body.uploads).toHaveLength(1);
  });

  it('gives the space back when an upload is deleted, and refuses to delete one a job reads', async () => {
    const token = await user(api);
    const first = await uploadCsv(api, token, csvOf(200 * KIB));
    expect((await upload(api.url, token, csvOf(150 * KIB))).status).toBe(409);
    const queued = await postPrediction(api.url, token, first.id);
    expect(queued.status).toBe(202);
    const inUse = await callJson(api, token, 'DELETE', `/v1/uploads/${first.id}`);
    expect(inUse).toEqual({
      status: 409,
      body: {
        error: {
          code: 'upload_in_use',
          message:
            '1 prediction or training queued or running reads this upload. Delete it once it has finished.',
        },
      },
    });
    const { id: predictionId } = (await queued.json()) as { id: string };
    expect((await callJson(api, token, 'DELETE', `/v1/predictions/${predictionId}`)).status).toBe(
      204,
    );
    expect((await callJson(api, token, 'DELETE', `/v1/uploads/${first.id}`)).status).toBe(204);
    expect((await callJson(api, token, 'GET', `/v1/uploads/${first.id}`)).status).toBe(404);
    expect((await callJson(api, token, 'DELETE', `/v1/uploads/${first.id}`)).status).toBe(404);
    expect(await api.app.blobs.list(`users/`)).not.toContain(`users/${first.id}`);
    expect((await postPrediction(api.url, token, first.id)).status).toBe(404);
    expect((await upload(api.url, token, csvOf(150 * KIB))).status).toBe(201);
  });

  it('refuses uploads beyond the day with 429 and Retry-After until 00:00 UTC; deleting gives none back', async () => {
    const token = await user(api);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await uploadCsv(api, token, csvOf(2 * KIB))).id);
    expect((await callJson(api, token, 'DELETE', `/v1/uploads/${ids[0]}`)).status).toBe(204);
    const before = await storedState(api);
    const asked = new Date();
    const refused = await upload(api.url, token, csvOf(2 * KIB));
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as QuotaBody;
    const midnight = new Date(
      Date.UTC(asked.getUTCFullYear(), asked.getUTCMonth(), asked.getUTCDate() + 1),
    ).toISOString();
    expect(body.error).toMatchObject({
      code: 'uploads_per_day_quota',
      quota: { name: 'uploads_per_day', limit: 4, used: 4, resetsAt: midnight },
    });
    expect(body.error.message).toContain(
      `You have made 4 uploads today, the most this account may make in a day (UTC). Uploads are accepted again from ${midnight}`,
    );
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(
      Math.ceil((Date.parse(midnight) - asked.getTime()) / 1000),
    );
    expect(await storedState(api)).toEqual(before);
    const usage = await callJson(api, token, 'GET', '/v1/usage');
    expect(usage.body.uploadsToday).toEqual({ used: 4, limit: 4, resetsAt: midnight });
  });

  it('caps queued plus running jobs: 429 with Retry-After, predictions and trainings alike', async () => {
    const token = await user(api);
    const { id } = await uploadCsv(api, token, csvOf(20 * KIB));
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => postPrediction(api.url, token, id)),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([202, 202, 429, 429, 429]);
    const refused = answers.find((a) => a.status === 429) as Response;
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(await refused.json()).toEqual({
      error: {
        code: 'active_jobs_quota',
        message:
          'You have 2 predictions and trainings queued or running, the most this account may have at once. Wait for some to finish, or cancel predictions you no longer need (POST /v1/predictions/{id}/cancel), then submit this again (nothing was queued).',
        quota: { name: 'active_jobs', limit: 2, used: 2 },
      },
    });
    const before = await storedState(api);
    const training = await callJson(api, token, 'POST', '/v1/models', {
      uploadId: id,
      label: 'Churn',
      name: 'mine',
    });
    expect(training.status).toBe(429);
    expect(training.body.error.code).toBe('active_jobs_quota');
    expect(await storedState(api)).toEqual(before);
    const listed = await callJson(api, token, 'GET', '/v1/predictions');
    expect(listed.body.predictions).toHaveLength(2);
    const usage = await callJson(api, token, 'GET', '/v1/usage');
    expect(usage.body.activeJobs).toEqual({ used: 2, limit: 2, predictions: 2, trainings: 0 });
    // Deleting a queued prediction frees its place.
    const first = listed.body.predictions[0].id as string;
    expect((await callJson(api, token, 'DELETE', `/v1/predictions/${first}`)).status).toBe(204);
    expect((await postPrediction(api.url, token, id)).status).toBe(202);
  });

  it("applies a user's own limits over the defaults, 0 meaning unlimited", async () => {
    const roomy = `u-${randomUUID()}`;
    const tight = `u-${randomUUID()}`;
    await setQuotaOverrides(api.app.db, roomy, { storedBytes: 0, uploadsPerDay: 10 });
    await setQuotaOverrides(api.app.db, tight, { activeJobs: 1 });
    const roomyToken = await api.token(roomy);
    const tightToken = await api.token(tight);
    // 400 KiB is over the default 300 KiB, and this user has no storage limit.
    await uploadCsv(api, roomyToken, csvOf(400 * KIB));
    const roomyUsage = (await callJson(api, roomyToken, 'GET', '/v1/usage')).body;
    expect(roomyUsage.storedBytes.limit).toBeNull();
    expect(roomyUsage.uploadsToday.limit).toBe(10);
    expect(roomyUsage.activeJobs.limit).toBe(2);

    const { id } = await uploadCsv(api, tightToken, csvOf(20 * KIB));
    expect((await postPrediction(api.url, tightToken, id)).status).toBe(202);
    const refused = await postPrediction(api.url, tightToken, id);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as QuotaBody).error.quota).toEqual({
      name: 'active_jobs',
      limit: 1,
      used: 1,
    });
  });

  it('counts results in the stored bytes, and refuses predictions while the account is full', async () => {
    const token = await user(full);
    const { id } = await uploadCsv(full, token, csvOf(100 * KIB));
    const created = (await (await postPrediction(full.url, token, id)).json()) as { id: string };
    await waitForStatus(full.url, token, created.id, ['completed']);
    const userId = (await callJson(full, token, 'GET', '/v1/usage')).body;
    const keys = (await full.app.blobs.list('users/')).filter((key) => key.includes(created.id));
    expect(keys).toHaveLength(2); // the results and their rows index
    const sizes = await Promise.all(
      keys.map(async (key) => (await full.app.blobs.head(key))?.bytes),
    );
    const resultBytes = sizes.reduce((a: number, b) => a + (b ?? 0), 0);
    expect(userId.storedBytes).toEqual({
      used: expect.any(Number),
      limit: STORED_LIMIT,
      uploads: expect.any(Number),
      results: resultBytes,
    });
    expect(userId.storedBytes.used).toBe(userId.storedBytes.uploads + resultBytes);
    // 100 KiB in and its results (wider rows) take the account past 300 KiB.
    expect(userId.storedBytes.used).toBeGreaterThan(STORED_LIMIT);
    const refused = await postPrediction(full.url, token, id);
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as QuotaBody;
    expect(body.error.code).toBe('stored_bytes_quota');
    expect(body.error.message).toContain(
      'a prediction or training stores its results, so none is accepted while the account is full',
    );
    // Deleting the prediction frees its results; the completed one's results were readable till then.
    expect((await callJson(full, token, 'DELETE', `/v1/predictions/${created.id}`)).status).toBe(
      204,
    );
    const after = await callJson(full, token, 'GET', '/v1/usage');
    expect(after.body.storedBytes.results).toBe(0);
    expect((await postPrediction(full.url, token, id)).status).toBe(202);
  });
});

describe('the rate limit', () => {
  let service: RunningService;
  beforeAll(async () => {
    // One request back every 1,000 s: the bucket never refills within a test.
    service = await startService({ RATE_LIMIT_PER_SECOND: '0.001', RATE_LIMIT_BURST: '3' }, [
      'api',
    ]);
  });
  afterAll(async () => service?.stop());

  it('answers 429 with Retry-After and RateLimit headers past the burst, per user', async () => {
    const alice = await service.token('rate-alice');
    const bob = await service.token('rate-bob');
    const seen: Array<[number, string | null]> = [];
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`${service.url}/v1/uploads`, authorised(alice));
      seen.push([answer.status, answer.headers.get('ratelimit')]);
      expect(answer.headers.get('ratelimit-policy')).toBe('"per-user";q=3;w=3000');
    }
    expect(seen.map(([status, left]) => [status, left?.split(';')[1]])).toEqual([
      [200, 'r=2'],
      [200, 'r=1'],
      [200, 'r=0'],
    ]);
    const before = await storedState(service);
    const refused = await upload(service.url, alice, csvOf(8 * KIB));
    expect(refused.status).toBe(429);
    // The body was never read: the connection closes rather than drain it.
    expect(refused.headers.get('connection')).toBe('close');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(900);
    expect(retryAfter).toBeLessThanOrEqual(1000);
    expect(refused.headers.get('ratelimit')).toMatch(/^"per-user";r=0;t=\d+$/);
    expect(await refused.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: `Too many requests: this account may make 0.001 requests a second, in bursts of up to 3. Wait ${retryAfter} s (the Retry-After header) and send it again; spread out polling loops.`,
        quota: { name: 'requests_per_second', limit: 0.001, used: null },
      },
    });
    expect(await storedState(service)).toEqual(before);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('churnline_quota_refusals_total{limit="requests_per_second"} 1');
    // Another user has a bucket of their own; an unauthenticated request is refused as before.
    expect((await fetch(`${service.url}/v1/uploads`, authorised(bob))).status).toBe(200);
    expect((await fetch(`${service.url}/v1/uploads`)).status).toBe(401);
    // Health and the dashboard are not rate limited.
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });

  it("follows a user's own rate: none at all for this one", async () => {
    await setQuotaOverrides(service.app.db, 'rate-dave', { ratePerSecond: 0 });
    const token = await service.token('rate-dave');
    for (let i = 0; i < 5; i++) {
      const answer = await fetch(`${service.url}/v1/uploads`, authorised(token));
      expect(answer.status).toBe(200);
      expect(answer.headers.get('ratelimit')).toBeNull();
    }
    expect((await callJson(service, token, 'GET', '/v1/usage')).body.rateLimit).toBeNull();
  });

  it('shows the rate limit in the usage', async () => {
    const token = await service.token('rate-carol');
    const usage = await callJson(service, token, 'GET', '/v1/usage');
    expect(usage.status).toBe(200);
    expect(usage.body.rateLimit).toEqual({ perSecond: 0.001, burst: 3, remaining: 2 });
  });
});

describe('two API processes on one PostgreSQL', () => {
  let schema: TestSchema;
  let first: RunningService;
  let second: RunningService;
  beforeAll(async () => {
    schema = await createTestSchema();
    const env = {
      DATABASE_URL: schema.url,
      QUEUE: 'postgres',
      QUOTA_STORED_BYTES: String(STORED_LIMIT),
      QUOTA_ACTIVE_JOBS: '2',
      RATE_LIMIT_PER_SECOND: '0.001',
      RATE_LIMIT_BURST: '30',
    };
    // One data directory: the same local signing key for tokens, the same files (as S3 would be).
    first = await startService(env, ['api']);
    second = await startService({ ...first.env, ...env }, ['api'], first.dataDir);
  });
  afterAll(async () => {
    await second?.app.close();
    await first?.stop();
    await schema?.drop();
  });

  it('hold the active-jobs cap and the stored bytes between them', async () => {
    const token = await first.token(`u-${randomUUID()}`);
    const { id } = await uploadCsv(first, token, csvOf(20 * KIB));
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => postPrediction((i % 2 ? second : first).url, token, id)),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([202, 202, 429, 429, 429, 429]);
    const uploads = await Promise.all([
      upload(first.url, token, csvOf(200 * KIB)),
      upload(second.url, token, csvOf(200 * KIB)),
    ]);
    expect(uploads.map((a) => a.status).sort()).toEqual([201, 409]);
  });

  it('keep a rate limit each: a user may reach one burst per process', async () => {
    const token = await first.token(`u-${randomUUID()}`);
    const burst = async (service: RunningService) => {
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) {
        statuses.push((await fetch(`${service.url}/v1/uploads`, authorised(token))).status);
      }
      return statuses;
    };
    const expected = [...Array.from({ length: 30 }, () => 200), 429];
    expect(await burst(first)).toEqual(expected);
    expect(await burst(second)).toEqual(expected);
  });
});
