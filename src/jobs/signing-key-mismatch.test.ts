import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../blobs/fs.js';
import { type Db, openSqliteDatabase } from '../db/connect.js';
import { getModelForJob } from '../db/models.js';
import { getPredictionForJob } from '../db/predictions.js';
import { nowIso, type Upload } from '../db/schema.js';
import { insertUpload } from '../db/uploads.js';
import { resultKey, uploadKey } from '../ids.js';
import { Alarms } from '../monitor/alarms.js';
import { Metrics } from '../monitor/metrics.js';
import { SqliteJobQueue } from '../queue/sqlite.js';
import { failDeadLetteredPredictions } from './dead-letter-reconciler.js';
import { createJobHandler } from './job-handler.js';
import { encodeJobMessage, type SigningKeyring } from './message.js';
import type { Scorer } from './scoring-pool.js';
import { parseSigningKeys, signingKeyFingerprint, summariseSigningKeys } from './signing-keys.js';
import { submitPrediction, submitTraining } from './submit.js';
import type { JobOutcome } from './worker.js';

const secret = () => randomBytes(32).toString('base64');
/** The API's keys, and a worker's that share none of them. */
const apiKeys = parseSigningKeys(`api1:${secret()}`);
const workerKeys = parseSigningKeys(`wrk1:${secret()},old0:${secret()}`);
const log = pino({ level: 'silent' });
const noScoring: Scorer = {
  score: () => Promise.reject(new Error('a job that does not verify must never be scored')),
  scoreChunk: () => Promise.reject(new Error('a job that does not verify must never be scored')),
  assemble: () => Promise.reject(new Error('a job that does not verify must never be assembled')),
  train: () => Promise.reject(new Error('a job that does not verify must never be trained')),
  close: async () => {},
};

let dir: string;
let db: Db;
let blobs: FsBlobStore;
let queue: SqliteJobQueue;
let alarms: Alarms;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'churnline-keys-'));
  db = await openSqliteDatabase(path.join(dir, 'app.db'));
  blobs = new FsBlobStore(path.join(dir, 'blobs'));
  queue = new SqliteJobQueue({
    file: path.join(dir, 'queue.db'),
    settings: { receiveWaitTimeSeconds: 0 },
  });
  alarms = new Alarms({ deadLetterDepth: 5, oldestMessageAgeSeconds: 1800 }, log);
});
afterEach(async () => {
  await queue.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function upload(userId = 'alice'): Promise<Upload> {
  const id = randomUUID();
  const row: Upload = {
    id,
    user_id: userId,
    filename: 'c.csv',
    object_key: uploadKey(userId, id),
    bytes: 1,
    sha256: 'x',
    row_count: 1,
    created_at: nowIso(),
    deleted_at: null,
    state: 'stored',
    splits: null,
  };
  await insertUpload(db, row);
  return row;
}

/** The body the API wrote to the outbox for this job id. */
async function outboxBody(jobId: string): Promise<string> {
  const row = await db
    .selectFrom('outbox')
    .select('body')
    .where('job_id', '=', jobId)
    .executeTakeFirstOrThrow();
  return row.body;
}

function deliver(keys: SigningKeyring, body: string, isLastAttempt: boolean): Promise<JobOutcome> {
  const handler = createJobHandler({
    db,
    blobs,
    scorer: noScoring,
    signingKeys: keys,
    metrics: new Metrics(),
    log,
    alarms,
  });
  const now = new Date();
  return handler(
    {
      messageId: 'm-1',
      receiptHandle: 'r-1',
      body,
      attributes: {},
      receiveCount: isLastAttempt ? 3 : 1,
      sentAt: now,
      firstReceivedAt: now,
    },
    { signal: new AbortController().signal, isLastAttempt },
  );
}

const alarm = () => alarms.current().find((a) => a.name === 'unknown_signing_key');

describe('a job signed with a key the worker does not hold', () => {
  it('raises the alarm, is given back while attempts remain, and fails its prediction as a configuration problem on the last', async () => {
    const prediction = await submitPrediction(db, apiKeys, {
      userId: 'alice',
      upload: await upload(),
      modelId: 'telco-v1',
    });
    // What a worker that had the key stored before it died goes with the failure.
    await blobs.put(resultKey('alice', prediction.id), 'results');
    const body = await outboxBody(prediction.id);

    const first = await deliver(workerKeys, body, false);
    expect(first.kind).toBe('retry');
    expect((await getPredictionForJob(db, prediction.id))?.status).toBe('queued');
    expect(alarm()).toMatchObject({ active: true });
    expect(alarm()?.message).toBe(
      'Jobs signed with key id api1 reach a worker that does not have that key id (it holds wrk1, old0): an API process of this deployment signs with it. Give every API and worker process the same JOB_SIGNING_KEYS.',
    );

    expect(await deliver(workerKeys, body, true)).toEqual({
      kind: 'dead-letter',
      reason: 'message is signed with unknown key id api1',
    });
    expect(await getPredictionForJob(db, prediction.id)).toMatchObject({
      status: 'failed',
      error_code: 'configuration_problem',
      error_message:
        'Configuration problem: this job was signed with key id api1, which this worker does not have. Give every API and worker process the same JOB_SIGNING_KEYS.',
    });
    expect(await blobs.list('users/')).toEqual([]);
  });

  it('names a different secret under the same key id', async () => {
    const prediction = await submitPrediction(db, apiKeys, {
      userId: 'alice',
      upload: await upload(),
      modelId: 'telco-v1',
    });
    const sameIdOtherSecret = parseSigningKeys(`api1:${secret()}`);
    await deliver(sameIdOtherSecret, await outboxBody(prediction.id), true);
    expect(await getPredictionForJob(db, prediction.id)).toMatchObject({
      error_code: 'configuration_problem',
      error_message:
        'Configuration problem: this job was signed with key id api1, but this worker holds a different secret under that key id. Give every API and worker process the same JOB_SIGNING_KEYS.',
    });
  });

  it('fails a training job the same way', async () => {
    const model = await submitTraining(db, apiKeys, {
      userId: 'alice',
      upload: await upload(),
      name: 'churn',
      label: 'Churned?',
      positiveValue: null,
      asOf: nowIso(),
    });
    await deliver(workerKeys, await outboxBody(model.id), true);
    expect(await getModelForJob(db, model.id)).toMatchObject({
      status: 'failed',
      error_code: 'configuration_problem',
    });
  });

  it('fails nothing for a message the outbox does not vouch for: a forger naming real ids only raises the alarm', async () => {
    const alicesUpload = await upload();
    const prediction = await submitPrediction(db, apiKeys, {
      userId: 'alice',
      upload: alicesUpload,
      modelId: 'telco-v1',
    });
    const genuine = await outboxBody(prediction.id);
    const job = JSON.parse((JSON.parse(genuine) as { job: string }).job) as Record<string, string>;
    // Every id right, signed with a key of the forger's own; and the genuine body with a new kid.
    const forged = encodeJobMessage(
      { ...job, publishedAt: nowIso() } as never,
      parseSigningKeys(`evil:${secret()}`),
    );
    const relabelled = genuine.replace('"kid":"api1"', '"kid":"evil"');
    for (const body of [forged, relabelled]) {
      expect(await deliver(workerKeys, body, true)).toEqual({
        kind: 'dead-letter',
        reason: 'message is signed with unknown key id evil',
      });
    }
    expect((await getPredictionForJob(db, prediction.id))?.status).toBe('queued');
    expect(alarm()?.message).toMatch(
      /^Jobs signed with key id evil reach a worker .* no API process of this deployment wrote this message/,
    );
  });

  it('keeps the alarm while such jobs arrive and clears it once they stop', async () => {
    const held = new Alarms(
      { deadLetterDepth: 5, oldestMessageAgeSeconds: 1800 },
      log,
      undefined,
      1000,
    );
    const start = new Date('2026-01-01T00:00:00Z');
    await held.report('unknown_signing_key', 'x', start);
    await held.report('unknown_signing_key', 'x', new Date(start.getTime() + 500));
    const still = await held.evaluate({ outboxPending: 0 }, new Date(start.getTime() + 1400));
    expect(still.find((a) => a.name === 'unknown_signing_key')).toMatchObject({
      active: true,
      value: 2,
      since: start.toISOString(),
    });
    const later = await held.evaluate({ outboxPending: 0 }, new Date(start.getTime() + 1600));
    expect(later.find((a) => a.name === 'unknown_signing_key')?.active).toBe(false);
  });
});

describe('the dead-letter pass', () => {
  it('fails a genuine job another worker refused for its key as a configuration problem, not a temporary one', async () => {
    const prediction = await submitPrediction(db, apiKeys, {
      userId: 'alice',
      upload: await upload(),
      modelId: 'telco-v1',
    });
    await queue.send({ body: await outboxBody(prediction.id) });
    const [message] = await queue.receive();
    await queue.moveToDeadLetter(
      message?.receiptHandle as string,
      'message is signed with unknown key id api1',
    );
    expect(await failDeadLetteredPredictions({ queue, db, blobs, signingKeys: apiKeys, log })).toBe(
      1,
    );
    expect(await getPredictionForJob(db, prediction.id)).toMatchObject({
      status: 'failed',
      error_code: 'configuration_problem',
      error_message:
        'Configuration problem: this job was signed with key id api1, which a worker does not have. Give every API and worker process the same JOB_SIGNING_KEYS.',
    });
  });
});

describe('the published key ids', () => {
  it('name the signing key, every key verified and a fingerprint, never a secret', () => {
    const summary = summariseSigningKeys(workerKeys);
    expect(summary).toEqual({
      signsWith: 'wrk1',
      fingerprint: signingKeyFingerprint(workerKeys.active),
      verifies: ['wrk1', 'old0'],
    });
    expect(summary.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(JSON.stringify(summary)).not.toContain(workerKeys.active.secret.toString('base64'));
  });
});
