import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorised,
  postPrediction,
  type RunningService,
  startService,
  upload,
  waitForStatus,
} from './support/service.js';
import { telcoCsv as telco } from './support/telco.js';

let service: RunningService;
let alice: string;
let bob: string;
let uploadId: string;
let predictionId: string;

beforeAll(async () => {
  service = await startService({ UPLOAD_MAX_BYTES: String(2 * 1024 * 1024) });
  alice = await service.token('auth0|alice');
  bob = await service.token('bob');
});
afterAll(async () => {
  await service.stop();
});

describe('the service end to end', () => {
  it('uploads the Telco CSV, scores it, and serves 7,043 scored rows', async () => {
    const uploaded = await upload(service.url, alice, telco, 'Telco export (1).csv');
    expect(uploaded.status).toBe(201);
    const body = (await uploaded.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      filename: 'Telco export (1).csv',
      rowCount: 7043,
      bytes: telco.length,
    });
    expect(body.sha256).toMatch(/^[0-9a-f]{64}$/);
    uploadId = body.id as string;
    expect(uploaded.headers.get('location')).toBe(`/v1/uploads/${uploadId}`);

    const created = await postPrediction(service.url, alice, uploadId);
    expect(created.status).toBe(202);
    const prediction = (await created.json()) as Record<string, unknown>;
    expect(prediction).toMatchObject({ status: 'queued', modelId: 'telco-v1', uploadId });
    predictionId = prediction.id as string;

    const done = await waitForStatus(service.url, alice, predictionId, ['completed', 'failed']);
    expect(done).toMatchObject({
      status: 'completed',
      rowsScored: 7043,
      rowsFailed: 0,
      attempts: 1,
      error: null,
    });
    const summary = done.summary as { tiers: { high: number; medium: number; low: number } };
    expect(summary.tiers.high + summary.tiers.medium + summary.tiers.low).toBe(7043);

    const results = await fetch(
      `${service.url}/v1/predictions/${predictionId}/results.csv`,
      authorised(alice),
    );
    expect(results.status).toBe(200);
    expect(results.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(results.headers.get('content-disposition')).toContain(
      "UTF-8''Telco%20export%20%281%29-scored.csv",
    );
    const lines = (await results.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(7044);
    expect(lines[0]).toMatch(
      /^customerID,.*,Churn,churn_probability,risk_tier,top_reasons,protective_factors,score_error,recommended_action$/,
    );
  });

  it('lists predictions with cursor pages and a status filter', async () => {
    const list = await fetch(
      `${service.url}/v1/predictions?limit=1&status=completed`,
      authorised(alice),
    );
    const page = (await list.json()) as {
      predictions: Array<{ id: string }>;
      nextCursor: string | null;
    };
    expect(page.predictions.map((p) => p.id)).toEqual([predictionId]);
    expect(page.nextCursor).toBeNull();
    const none = await fetch(`${service.url}/v1/predictions?status=failed`, authorised(alice));
    expect(((await none.json()) as { predictions: unknown[] }).predictions).toEqual([]);
    const bad = await fetch(`${service.url}/v1/predictions?cursor=nonsense`, authorised(alice));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_cursor');
  });

  it('pages scored rows as JSON: sorted by risk, filtered by tier and customer id', async () => {
    type Page = {
      rows: Array<{
        row: number;
        customerId: string;
        churnProbability: number;
        riskTier: string;
        topReasons: string[];
        values: Record<string, string>;
      }>;
      total: number;
      nextCursor: string | null;
    };
    const get = async (query: string) => {
      const response = await fetch(
        `${service.url}/v1/predictions/${predictionId}/rows?${query}`,
        authorised(alice),
      );
      expect(response.status, query).toBe(200);
      return (await response.json()) as Page;
    };
    const prediction = (await (
      await fetch(`${service.url}/v1/predictions/${predictionId}`, authorised(alice))
    ).json()) as {
      summary: { tiers: { high: number } };
    };
    const top = await get('limit=20');
    expect(top.total).toBe(7043);
    const probabilities = top.rows.map((r) => r.churnProbability);
    expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a));
    expect(top.rows[0]?.topReasons).toHaveLength(3);
    // The riskiest customer's reasons all raise its risk (read back from the new results file).
    for (const reason of top.rows[0]?.topReasons ?? []) {
      expect(reason).toMatch(/: (slightly |strongly )?raises risk \(\+\d\.\d\d\)$/);
    }
    expect(top.rows[0]?.values.customerID).toBe(top.rows[0]?.customerId);

    const high = await get('tier=high&limit=500');
    expect(high.total).toBe(prediction.summary.tiers.high);
    expect(high.rows.every((r) => r.riskTier === 'high')).toBe(true);
    const second = await get(`tier=high&limit=500&cursor=${high.nextCursor}`);
    expect(second.rows[0]?.churnProbability).toBeLessThanOrEqual(
      high.rows.at(-1)?.churnProbability ?? 1,
    );
    expect(new Set([...high.rows, ...second.rows].map((r) => r.row)).size).toBe(
      high.rows.length + second.rows.length,
    );

    const inOrder = await get('sort=row&limit=2');
    expect(inOrder.rows.map((r) => [r.row, r.customerId])).toEqual([
      [1, '7590-VHVEG'],
      [2, '5575-GNVDE'],
    ]);
    const one = await get('customerId=5575-gn');
    expect(one.total).toBe(1);
    expect(one.rows[0]?.customerId).toBe('5575-GNVDE');
    // The rows index removes the depth cap: past the last row is an empty last page.
    const deep = await get(`limit=500&cursor=${Buffer.from('o:9900').toString('base64url')}`);
    expect(deep).toEqual({ rows: [], total: 7043, nextCursor: null });
  });

  it("answers 404 to another user for everything of alice's, exactly as for ids that do not exist", async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const path of [
      `/v1/uploads/${uploadId}`,
      `/v1/predictions/${predictionId}`,
      `/v1/predictions/${predictionId}/results.csv`,
      `/v1/predictions/${missing}`,
    ]) {
      const response = await fetch(`${service.url}${path}`, authorised(bob));
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    const steal = await postPrediction(service.url, bob, uploadId);
    expect(steal.status).toBe(404);
    expect(
      (
        await fetch(
          `${service.url}/v1/predictions/${predictionId}`,
          authorised(bob, { method: 'DELETE' }),
        )
      ).status,
    ).toBe(404);
    const bobsList = await fetch(`${service.url}/v1/predictions`, authorised(bob));
    expect(((await bobsList.json()) as { predictions: unknown[] }).predictions).toEqual([]);
  });

  it('answers 401 with a JSON error and a challenge for missing, malformed, forged and expired tokens', async () => {
    const expired = await service.token('alice', 60, new Date(Date.now() - 3600_000));
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({
        sub: 'alice',
        iss: 'churnline-local',
        aud: 'churnline',
        exp: 9_999_999_999,
      }),
    ).toString('base64url')}.`;
    for (const header of [
      undefined,
      'Bearer',
      'Bearer not.a.jwt',
      `Bearer ${unsigned}`,
      `Bearer ${expired}`,
      `Basic ${alice}`,
    ]) {
      const response = await fetch(
        `${service.url}/v1/predictions`,
        header ? { headers: { authorization: header } } : {},
      );
      expect(response.status, String(header)).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="churnline"/);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'unauthorized',
      );
    }
  });

  it('takes a .csv file whatever CSV type the browser declares for it', async () => {
    const carol = await service.token('carol');
    for (const type of ['text/x-csv', 'application/x-csv', 'text/comma-separated-values']) {
      const response = await upload(service.url, carol, telco, 'customers.csv', type);
      expect(response.status, type).toBe(201);
    }
  });

  it('publishes its upload limit so clients can check a file before sending it', async () => {
    const response = await fetch(`${service.url}/v1/limits`, authorised(bob));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ uploadMaxBytes: 2 * 1024 ** 2 });
  });

  it('refuses oversize (413), binary (415), empty and header-only (422) uploads and stores nothing', async () => {
    const before = await service.app.blobs.list('users/bob/');
    const big = Buffer.concat([telco, telco, telco]);
    const tooBig = await upload(service.url, bob, big);
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { error: { message: string } }).error.message).toMatch(
      /2 MiB limit/,
    );
    const zip = await upload(
      service.url,
      bob,
      Buffer.from('PK\u0003\u0004rest of a zip'),
      'customers.csv',
      'application/octet-stream',
    );
    expect(zip.status).toBe(415);
    expect(((await zip.json()) as { error: { message: string } }).error.message).toMatch(
      /ZIP archive/,
    );
    expect((await upload(service.url, bob, '', 'empty.csv')).status).toBe(422);
    expect((await upload(service.url, bob, 'customerID,tenure\n', 'header.csv')).status).toBe(422);
    expect(
      (await upload(service.url, bob, Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0xff, 0xfe, 0x0a])))
        .status,
    ).toBe(415);
    expect(await service.app.blobs.list('users/bob/')).toEqual(before);
    const list = await fetch(`${service.url}/v1/uploads`, authorised(bob));
    expect(((await list.json()) as { uploads: unknown[] }).uploads).toEqual([]);
  });

  it('validates requests with a clear 400 or 422', async () => {
    const post = (body: unknown) =>
      fetch(
        `${service.url}/v1/predictions`,
        authorised(alice, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      );
    const noUpload = await post({});
    expect(noUpload.status).toBe(400);
    expect(((await noUpload.json()) as { error: { message: string } }).error.message).toMatch(
      /uploadId/,
    );
    const badModel = await post({ uploadId, modelId: 'gpt-5' });
    expect(badModel.status).toBe(422);
    expect(((await badModel.json()) as { error: { message: string } }).error.message).toMatch(
      /Available: telco-v1/,
    );
    expect(
      (await fetch(`${service.url}/v1/predictions/not-a-uuid`, authorised(alice))).status,
    ).toBe(400);
  });

  it('serves health, readiness, metrics, the model list and the OpenAPI document', async () => {
    const health = (await (await fetch(`${service.url}/healthz`)).json()) as Record<
      string,
      unknown
    >;
    expect(health.status).toBe('ok');
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/churnline_jobs_total\{outcome="completed"\} 1/);
    expect(metrics).toMatch(/churnline_rows_scored_total 7043/);
    expect(metrics).toContain('churnline_queue_messages{queue="dead_letter",state="visible"}');
    const models = (await (await fetch(`${service.url}/v1/models`, authorised(alice))).json()) as {
      models: Array<{ id: string; metrics: { rocAuc: number } }>;
    };
    expect(models.models[0]?.id).toBe('telco-v1');
    expect(models.models[0]?.metrics.rocAuc).toBeGreaterThan(0.8);
    const openapi = (await (await fetch(`${service.url}/docs/json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/v1/uploads',
        '/v1/predictions',
        '/v1/predictions/{id}',
        '/v1/predictions/{id}/results.csv',
      ]),
    );
  });

  it('deletes a prediction and its results; the id is then unknown', async () => {
    const response = await fetch(
      `${service.url}/v1/predictions/${predictionId}`,
      authorised(alice, { method: 'DELETE' }),
    );
    expect(response.status).toBe(204);
    expect(
      (await fetch(`${service.url}/v1/predictions/${predictionId}`, authorised(alice))).status,
    ).toBe(404);
    expect(await service.app.blobs.list('users/auth0%7Calice/results/')).toEqual([]);
  });
});

describe('requests the framework refuses before any route', () => {
  it('answer in the API shape: a broken percent-escape in the path', async () => {
    const response = await fetch(`${service.url}/v1/predictions/%E0%A4%A`, authorised(alice));
    expect(response.status).toBe(400);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.json()).toEqual({
      error: {
        code: 'bad_url',
        message:
          'The path is not a valid URL: a percent sign must start an escape of two hex digits (%25 for "%" itself).',
      },
    });
  });

  it("answer a multipart body the parser cannot read as the client's mistake, storing nothing", async () => {
    const before = (await (await fetch(`${service.url}/v1/uploads`, authorised(alice))).json()) as {
      uploads: unknown[];
    };
    const part = (boundary: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n`;
    const cases: Array<[string, string, string, string]> = [
      ['no boundary', 'multipart/form-data', 'abc', 'bad_multipart'],
      ['cut short', 'multipart/form-data; boundary=XX', part('XX'), 'bad_multipart'],
      [
        'boundary too long',
        `multipart/form-data; boundary=${'x'.repeat(300)}`,
        'x',
        'bad_multipart',
      ],
      [
        'too many fields',
        'multipart/form-data; boundary=XX',
        `${Array.from({ length: 14 }, (_, i) => `--XX\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nx\r\n`).join('')}--XX--\r\n`,
        'too_many_parts',
      ],
    ];
    for (const [name, type, body, code] of cases) {
      const response = await fetch(
        `${service.url}/v1/uploads`,
        authorised(alice, { method: 'POST', headers: { 'content-type': type }, body }),
      );
      expect(response.status, name).toBe(400);
      const answer = (await response.json()) as { error: { code: string; message: string } };
      expect(answer.error.code, name).toBe(code);
      expect(answer.error.message, name).toContain('multipart/form-data field named "file"');
    }
    const after = (await (await fetch(`${service.url}/v1/uploads`, authorised(alice))).json()) as {
      uploads: unknown[];
    };
    expect(after.uploads).toHaveLength(before.uploads.length);
  });

  it('refuse an upload carrying two files, storing neither', async () => {
    const before = (await (await fetch(`${service.url}/v1/uploads`, authorised(alice))).json()) as {
      uploads: unknown[];
    };
    const form = new FormData();
    form.append('file', new Blob(['a,b\n1,2\n'], { type: 'text/csv' }), 'one.csv');
    form.append('file', new Blob(['a,b\n3,4\n'], { type: 'text/csv' }), 'two.csv');
    const response = await fetch(
      `${service.url}/v1/uploads`,
      authorised(alice, { method: 'POST', body: form }),
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'one_file_per_upload',
    );
    const after = (await (await fetch(`${service.url}/v1/uploads`, authorised(alice))).json()) as {
      uploads: unknown[];
    };
    expect(after.uploads).toHaveLength(before.uploads.length);
  });
});

describe('headers on every answer', () => {
  it("are never sniffed nor framed, and a user's data is never cached", async () => {
    const answers: Array<[string, Response, boolean]> = [
      ['health', await fetch(`${service.url}/healthz`), false],
      ['unknown route', await fetch(`${service.url}/v1/nothing-here`), false],
      ['unauthenticated', await fetch(`${service.url}/v1/predictions`), false],
      ['list', await fetch(`${service.url}/v1/predictions`, authorised(alice)), true],
      [
        'error',
        await fetch(
          `${service.url}/v1/predictions/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`,
          authorised(alice),
        ),
        true,
      ],
      [
        'csv',
        await fetch(`${service.url}/v1/predictions/${predictionId}/results.csv`, authorised(alice)),
        true,
      ],
      ['openapi', await fetch(`${service.url}/docs/json`), false],
    ];
    for (const [name, response, authenticated] of answers) {
      expect(response.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), name).toBe('DENY');
      if (authenticated) expect(response.headers.get('cache-control'), name).toBe('no-store');
      await response.arrayBuffer();
    }
  });
});
