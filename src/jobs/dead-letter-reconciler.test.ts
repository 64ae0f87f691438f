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
import { getDeliveryForJob, insertEndpoint } from '../db/webhooks.js';
import { resultKey, rowsIndexKey, uploadKey } from '../ids.js';
import { SqliteJobQueue } from '../queue/sqlite.js';
import { queueWebhookEvent } from '../webhooks/deliveries.js';
import { failDeadLetteredPredictions } from './dead-letter-reconciler.js';
import { encodeJobMessage } from './message.js';
import { OutboxRelay } from './outbox-relay.js';
import { parseSigningKeys } from './signing-keys.js';
import { submitPrediction, submitTraining } from './submit.js';

const keys = parseSigningKeys(`t:${randomBytes(32).toString('base64')}`);
const log = pino({ level: 'silent' });
let dir: string;
let db: Db;
let queue: SqliteJobQueue;
let blobs: FsBlobStore;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'churnline-reconcile-'));
  blobs = new FsBlobStore(path.join(dir, 'blobs'));
  db = await openSqliteDatabase(path.join(dir, 'app.db'));
  queue = new SqliteJobQueue({
    file: path.join(dir, 'queue.db'),
    settings: { receiveWaitTimeSeconds: 0, maxReceiveCount: 3 },
  });
});
afterEach(async () => {
  await queue.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function upload(userId: string): Promise<Upload> {
  const id = randomUUID();
  const row = {
    id,
    user_id: userId,
    filename: 'c.csv',
    object_key: uploadKey(userId, id),
    bytes: 1,
    sha256: 'x',
    row_count: 1,
    created_at: nowIso(),
    deleted_at: null,
    state: 'stored' as const,
    splits: null,
  };
  await insertUpload(db, row);
  return row;
}

/** Receives and abandons every message until the queue dead-letters them (workers that died). */
async function exhaustAttempts(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    for (const message of await queue.receive({ maxMessages: 10 }))
      await queue.changeVisibility(message.receiptHandle, 0);
  }
}

describe('failDeadLetteredPredictions', () => {
  it('fails a prediction whose job was dead-lettered without a handler ever finishing it, and removes what its attempts stored', async () => {
    const prediction = await submitPrediction(db, keys, {
      userId: 'alice',
      upload: await upload('alice'),
      modelId: 'telco-v1',
    });
    // An attempt that stored its results and died before recording them.
    await blobs.put(resultKey('alice', prediction.id), 'results');
    await blobs.put(rowsIndexKey('alice', prediction.id), 'index');
    await new OutboxRelay({ db, queue, log }).relayAll();
    await exhaustAttempts();
    expect((await queue.stats()).deadLetter.visible).toBe(1);
    expect((await getPredictionForJob(db, prediction.id))?.status).toBe('queued');

    expect(await failDeadLetteredPredictions({ queue, db, blobs, signingKeys: keys, log })).toBe(1);
    expect(await getPredictionForJob(db, prediction.id)).toMatchObject({
      status: 'failed',
      error_code: 'retries_exhausted',
    });
    expect(await blobs.list('users/')).toEqual([]);
    expect(await failDeadLetteredPredictions({ queue, db, blobs, signingKeys: keys, log })).toBe(0);
  });

  it('fails a model whose training job was dead-lettered (a worker killed mid-training), leaving no model file', async () => {
    const model = await submitTraining(db, keys, {
      userId: 'alice',
      upload: await upload('alice'),
      name: 'churn',
      label: 'Churned?',
      positiveValue: null,
      asOf: nowIso(),
    });
    await new OutboxRelay({ db, queue, log }).relayAll();
    await exhaustAttempts();
    expect((await getModelForJob(db, model.id))?.status).toBe('training');
    expect(await failDeadLetteredPredictions({ queue, db, blobs, signingKeys: keys, log })).toBe(1);
    expect(await getModelForJob(db, model.id)).toMatchObject({
      status: 'failed',
      error_code: 'retries_exhausted',
      object_key: null,
    });
    expect(await blobs.list('users/')).toEqual([]);
  });

  it('leaves predictions alone when the dead letter is forged or names another owner', async () => {
    const alicesUpload = await upload('alice');
    const prediction = await submitPrediction(db, keys, {
      userId: 'alice',
      upload: alicesUpload,
      modelId: 'telco-v1',
    });
    const job = {
      predictionId: prediction.id,
      userId: 'mallory',
      uploadId: alicesUpload.id,
      objectKey: uploadKey('mallory', alicesUpload.id),
      modelId: 'telco-v1',
      publishedAt: nowIso(),
    };
    await queue.send({ body: encodeJobMessage(job, keys) });
    await queue.send({
      body: encodeJobMessage(
        { ...job, userId: 'alice', objectKey: alicesUpload.object_key },
        parseSigningKeys(`t:${randomBytes(32).toString('base64')}`),
      ),
    });
    await exhaustAttempts();
    expect((await queue.stats()).deadLetter.visible).toBe(2);
    await blobs.put(resultKey('alice', prediction.id), 'results');
    expect(await failDeadLetteredPredictions({ queue, db, blobs, signingKeys: keys, log })).toBe(0);
    expect((await getPredictionForJob(db, prediction.id))?.status).toBe('queued');
    expect(await blobs.list('users/')).toEqual([resultKey('alice', prediction.id)]);
  });
});

describe('a dead-lettered webhook attempt', () => {
  it('counts as a failed attempt, and the delivery goes on with the next one on schedule', async () => {
    const endpoint = {
      id: randomUUID(),
      user_id: 'alice',
      url: 'https://hooks.example.com/x',
      events: '["prediction.completed"]',
      format: 'standard' as const,
      secret: 'whsec_AAAA',
      previous_secret: null,
      previous_secret_expires_at: null,
      disabled_at: null,
      created_at: nowIso(),
      updated_at: nowIso(),
      deleted_at: null,
    };
    await insertEndpoint(db, endpoint);
    const [id] = await queueWebhookEvent(
      db,
      keys,
      [endpoint],
      { type: 'webhook.test', timestamp: nowIso(), data: {} },
      'webhook.test:1',
    );
    await new OutboxRelay({ db, queue, log }).relayAll();
    await exhaustAttempts();
    expect((await queue.stats()).deadLetter.visible).toBe(1);
    await failDeadLetteredPredictions({ queue, db, blobs, signingKeys: keys, log });
    await failDeadLetteredPredictions({ queue, db, blobs, signingKeys: keys, log }); // idempotent
    const delivery = (await getDeliveryForJob(db, id!))?.delivery;
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1 });
    expect(delivery?.last_error).toMatch(/did not finish on our side/);
    const scheduled = await db
      .selectFrom('outbox')
      .selectAll()
      .where('job_id', '=', id!)
      .where('sent_at', 'is', null)
      .execute();
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]?.not_before).toBe(delivery?.next_attempt_at);
  });
});
