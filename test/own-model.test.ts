/**
 * A team's own model, entirely through the API: upload a labelled export, train on it as a job,
 * read the model card, check the fit, score with it, make it the default, delete it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModelForJob } from '../src/db/models.js';
import { modelKey } from '../src/ids.js';
import {
  authorised,
  callJson,
  type RunningService,
  startService,
  uploadCsv,
  waitForStatus,
} from './support/service.js';
import { saasText as saas } from './support/telco.js';

let service: RunningService;
let alice: string;
let bob: string;

beforeAll(async () => {
  service = await startService();
  alice = await service.token('alice');
  bob = await service.token('bob');
});
afterAll(async () => {
  await service.stop();
});

const call = (token: string, method: string, path: string, body?: unknown) =>
  callJson(service, token, method, path, body);

function uploaded(token: string, csv: string): Promise<{ id: string; createdAt: string }> {
  return uploadCsv(service, token, csv, 'accounts.csv');
}

/** Progress reports seen while waiting, for the test to judge. */
const progressSeen: Array<{ stage: string; done: number; total: number }> = [];

// The model view as JSON (see modelCardSchema); tests read it field by field.
async function waitForModel(token: string, id: string) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const { body } = await call(token, 'GET', `/v1/models/${id}`);
    if (body.progress) progressSeen.push(body.progress);
    if (body.status !== 'training') return body;
    if (Date.now() > deadline) throw new Error('the model is still training');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('training a model on your own export', () => {
  let modelId: string;
  let uploadId: string;

  it('trains as a job and shows the model card', async () => {
    const file = await uploaded(alice, saas);
    uploadId = file.id;
    const created = await call(alice, 'POST', '/v1/models', {
      uploadId,
      label: 'Churned?',
      name: 'SaaS churn',
      tiers: { kind: 'top-share', high: 0.1, medium: 0.2 },
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({
      name: 'SaaS churn',
      source: 'trained',
      status: 'training',
      metrics: null,
    });
    modelId = created.body.id;

    // Not usable while it trains.
    const early = await call(alice, 'POST', '/v1/predictions', { uploadId, modelId });
    if (early.status !== 202) {
      expect(early.status).toBe(409);
      expect(early.body.error.code).toBe('model_not_ready');
    }

    const model = await waitForModel(alice, modelId);
    expect(progressSeen.length).toBeGreaterThan(0);
    for (const progress of progressSeen) {
      expect(['reading the file', 'choosing features', 'cross-validating']).toContain(
        progress.stage,
      );
      expect(progress.done).toBeLessThanOrEqual(progress.total);
    }
    expect(model.progress).toBeNull();
    expect(model).toMatchObject({
      status: 'ready',
      rows: 5000,
      churners: 1034,
      uploadId,
      error: null,
    });
    expect(model.metrics.rocAuc).toBeGreaterThan(0.82);
    expect(model.requiredColumns).toContain('Last Login');
    const { card } = model;
    expect(card.label).toEqual({ column: 'Churned?', churnedValues: ['yes'], rule: 'yes/no' });
    expect(card.asOf).toBe(file.createdAt);
    expect(card.baseRate).toBeCloseTo(0.2068, 4);
    expect(card.inputs).toContainEqual({ column: 'Signup Date', reads: 'date' });
    expect(card.skippedColumns.map((entry: { column: string }) => entry.column)).toEqual([
      'Account ID',
      'Company',
    ]);
    expect(
      card.importance.reduce((sum: number, entry: { share: number }) => sum + entry.share, 0),
    ).toBeCloseTo(1, 9);
    expect(card.tiers.map((tier: { tier: string }) => tier.tier)).toEqual([
      'high',
      'medium',
      'low',
    ]);
    // The team asked for the top 10% as high and the next 20% as medium.
    expect(card.tierRule).toBe('high: the top 10% of customers by risk; medium: the next 20%');
    expect(card.tiers[0].share).toBeCloseTo(0.1, 1);
    expect(card.tiers[1].share).toBeCloseTo(0.2, 1);
    expect(card.calibration.length).toBeGreaterThan(3);

    const list = await call(alice, 'GET', '/v1/models');
    expect(list.body.models.map((m: { id: string }) => m.id)).toEqual(['telco-v1', modelId]);
    expect(list.body.models[0].isDefault).toBe(true);
  }, 120_000);

  it('fits the file it was trained on and scores it', async () => {
    const fit = await call(alice, 'GET', `/v1/uploads/${uploadId}/mapping?modelId=${modelId}`);
    expect(fit.status).toBe(200);
    expect(fit.body.verdict).toBe('good');
    const created = await call(alice, 'POST', '/v1/predictions', { uploadId, modelId });
    expect(created.status).toBe(202);
    expect(created.body.modelId).toBe(modelId);
    const done = await waitForStatus(service.url, alice, created.body.id, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed', rowsScored: 5000, rowsFailed: 0 });
    const template = await fetch(
      `${service.url}/v1/models/${modelId}/template.csv`,
      authorised(alice),
    );
    expect((await template.text()).split('\n')[0]).toContain('Last Login');
  });

  it('becomes the default model when asked, and stays private to its owner', async () => {
    expect((await call(alice, 'PUT', '/v1/settings', { defaultModelId: modelId })).body).toEqual({
      defaultModelId: modelId,
      tableColumns: [],
    });
    const created = await call(alice, 'POST', '/v1/predictions', { uploadId });
    expect(created.body.modelId).toBe(modelId);
    // The fit report, too, checks against the default model when none is named.
    const fit = await call(alice, 'GET', `/v1/uploads/${uploadId}/mapping`);
    expect(fit.body).toMatchObject({ modelId, verdict: 'good' });

    expect((await call(bob, 'GET', `/v1/models/${modelId}`)).status).toBe(404);
    expect((await call(bob, 'DELETE', `/v1/models/${modelId}`)).status).toBe(404);
    const bobs = await uploaded(bob, saas);
    const refused = await call(bob, 'POST', '/v1/predictions', { uploadId: bobs.id, modelId });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('unknown_model');
    expect((await call(bob, 'PUT', '/v1/settings', { defaultModelId: modelId })).status).toBe(422);
  });

  it('keeps the columns a user shows in the customers table, checked, beside the default model', async () => {
    const shown = ['Plan', 'MRR ($)', '<b>Owner</b>'];
    const saved = await call(alice, 'PUT', '/v1/settings', { tableColumns: shown });
    expect(saved.body).toEqual({ defaultModelId: modelId, tableColumns: shown });
    expect((await call(alice, 'GET', '/v1/settings')).body.tableColumns).toEqual(shown);
    expect((await call(bob, 'GET', '/v1/settings')).body).toEqual({
      defaultModelId: null,
      tableColumns: [],
    });
    for (const [body, status, code] of [
      [{ tableColumns: ['Plan', 'Plan'] }, 422, 'column_listed_twice'],
      [{ tableColumns: Array.from({ length: 9 }, (_, i) => `c${i}`) }, 400, 'invalid_request'],
      [{ tableColumns: [''] }, 400, 'invalid_request'],
      [{ tableColumns: ['Plan'], defaultModelId: 'no-such-model' }, 422, 'unknown_model'],
    ] as const) {
      const refused = await call(alice, 'PUT', '/v1/settings', body);
      expect(refused.status, JSON.stringify(body)).toBe(status);
      expect(refused.body.error.code).toBe(code);
    }
    // Nothing of a refused change was stored.
    expect((await call(alice, 'GET', '/v1/settings')).body).toEqual({
      defaultModelId: modelId,
      tableColumns: shown,
    });
    await call(alice, 'PUT', '/v1/settings', { tableColumns: [] });
  });

  it('refuses what can be known before training, with what to fix, and stores nothing', async () => {
    const before = (await call(alice, 'GET', '/v1/models')).body.models;
    const cases: Array<[Record<string, unknown>, number, string, RegExp]> = [
      [
        { label: 'Cancelled' },
        422,
        'unknown_label',
        /^Your file has no column "Cancelled"\. Its columns: "Account ID", "Company", "Plan"/,
      ],
      [
        { label: 'Plan' },
        422,
        'bad_label',
        /^The label column "Plan" has the values .*; say which one means churned/,
      ],
      [
        { label: 'Churned?', positiveValue: 'Gone' },
        422,
        'bad_label',
        /never holds "Gone"; its values are "yes" \(1,034\), "no" \(3,966\)\. Give one of them/,
      ],
      [{ label: 'Churned?', asOf: '31/12/2026' }, 422, 'bad_as_of', /^asOf: .*YYYY-MM-DD/],
      [
        { label: 'Churned?', tiers: { kind: 'top-share', high: 0.5, medium: 0.6 } },
        422,
        'bad_tiers',
        /^tiers: the high and medium shares must add up to less than 1/,
      ],
      [{ label: 'Churned?', name: '' }, 400, 'invalid_request', /name/],
    ];
    for (const [fields, status, code, message] of cases) {
      const response = await call(alice, 'POST', '/v1/models', { uploadId, name: 'x', ...fields });
      expect(response.status, code).toBe(status);
      expect(response.body.error.code).toBe(code);
      expect(response.body.error.message).toMatch(message);
    }
    expect(
      (await call(bob, 'POST', '/v1/models', { uploadId, label: 'Churned?', name: 'x' })).status,
    ).toBe(404);
    expect((await call(alice, 'GET', '/v1/models')).body.models).toEqual(before);
  });

  it('takes a file sorted by its label, and leaves no model file when deleted while training', async () => {
    // More than the first 5,000 rows say "No": the first rows cannot judge the label.
    const [header = '', ...lines] = saas.trimEnd().split('\n');
    const stayed = lines.filter((line) => line.endsWith(',No'));
    const churned = lines.filter((line) => line.endsWith(',Yes'));
    const sorted = [header, ...stayed, ...stayed.slice(0, 1200), ...churned].join('\n');
    const file = await uploaded(alice, `${sorted}\n`);
    const created = await call(alice, 'POST', '/v1/models', {
      uploadId: file.id,
      label: 'Churned?',
      name: 'sorted',
    });
    expect(created.status).toBe(202);
    const deadline = Date.now() + 60_000;
    // Deleted once a worker is training it (its first progress report).
    for (;;) {
      const { body } = await call(alice, 'GET', `/v1/models/${created.body.id}`);
      expect(body.status).toBe('training');
      if (body.progress) break;
      if (Date.now() > deadline) throw new Error('the training never started');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await call(alice, 'DELETE', `/v1/models/${created.body.id}`)).status).toBe(204);
    // Once its job is done, whatever it wrote is gone, and the model was never made ready.
    for (;;) {
      const stats = await service.app.queue.stats();
      if (stats.visible === 0 && stats.inFlight === 0) break;
      if (Date.now() > deadline) throw new Error('the training job never finished');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await service.app.blobs.head(modelKey('alice', created.body.id))).toBeNull();
    expect(await getModelForJob(service.app.db, created.body.id)).toMatchObject({
      status: 'training',
      object_key: null,
      attempts: 1,
    });
  }, 90_000);

  it('deletes a trained model, and never a shipped one', async () => {
    expect((await call(alice, 'DELETE', '/v1/models/telco-v1')).status).toBe(409);
    expect((await call(alice, 'DELETE', `/v1/models/${modelId}`)).status).toBe(204);
    expect((await call(alice, 'GET', `/v1/models/${modelId}`)).status).toBe(404);
    expect((await call(alice, 'GET', '/v1/settings')).body).toEqual({
      defaultModelId: null,
      tableColumns: [],
    });
    expect(
      (await call(alice, 'GET', '/v1/models')).body.models.map((m: { id: string }) => m.id),
    ).toEqual(['telco-v1']);
  });
});
