import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../blobs/fs.js';
import { type Db, openSqliteDatabase } from '../db/connect.js';
import { failPrediction, getPredictionForJob } from '../db/predictions.js';
import { nowIso, type Prediction, type Upload } from '../db/schema.js';
import { insertUpload } from '../db/uploads.js';
import { resultObjectKeys, uploadKey } from '../ids.js';
import type { ScoreSummary } from '../model/score-stream.js';
import { Metrics } from '../monitor/metrics.js';
import { createJobHandler } from './job-handler.js';
import { encodeJobMessage } from './message.js';
import type { Scorer, ScoreTask } from './scoring-pool.js';
import { parseSigningKeys } from './signing-keys.js';
import { submitPrediction } from './submit.js';

const keys = parseSigningKeys(`t:${randomBytes(32).toString('base64')}`);
const log = pino({ level: 'silent' });
let dir: string;
let db: Db;
let blobs: FsBlobStore;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'churnline-handler-'));
  db = await openSqliteDatabase(path.join(dir, 'app.db'));
  blobs = new FsBlobStore(path.join(dir, 'blobs'));
});
afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function queuedPrediction(): Promise<{ prediction: Prediction; body: string }> {
  const id = randomUUID();
  const upload: Upload = {
    id,
    user_id: 'alice',
    filename: 'c.csv',
    object_key: uploadKey('alice', id),
    bytes: 1,
    sha256: 'x',
    row_count: 1,
    created_at: nowIso(),
    deleted_at: null,
    state: 'stored',
    splits: null,
  };
  await insertUpload(db, upload);
  const prediction = await submitPrediction(db, keys, {
    userId: 'alice',
    upload,
    modelId: 'telco-v1',
  });
  const body = encodeJobMessage(
    {
      predictionId: prediction.id,
      userId: 'alice',
      uploadId: upload.id,
      objectKey: upload.object_key,
      modelId: 'telco-v1',
      publishedAt: nowIso(),
    },
    keys,
  );
  return { prediction, body };
}

/** A scorer that stores both result objects, as the scoring threads do, then runs `meanwhile`. */
function storingScorer(meanwhile: (task: ScoreTask) => Promise<void>): Scorer {
  return {
    async score(task) {
      await blobs.put(task.resultKey, 'results');
      await blobs.put(task.resultKey.replace(/\.csv$/, '.rows-index'), 'index');
      await meanwhile(task);
      const summary = { rows: 1, scored: 1, failed: 0 } as ScoreSummary;
      return { summary, changes: null, history: [], historyMs: 0, storedBytes: 1234 };
    },
    scoreChunk: () => Promise.reject(new Error('this test scores in one job')),
    assemble: () => Promise.reject(new Error('this test scores in one job')),
    train: () => Promise.reject(new Error('this test only scores')),
    close: async () => {},
  };
}

function handle(scorer: Scorer, body: string) {
  const handler = createJobHandler({
    db,
    blobs,
    scorer,
    signingKeys: keys,
    metrics: new Metrics(),
    log,
  });
  const now = new Date();
  return handler(
    {
      messageId: 'm-1',
      receiptHandle: 'r-1',
      body,
      attributes: {},
      receiveCount: 1,
      sentAt: now,
      firstReceivedAt: now,
    },
    { signal: new AbortController().signal, isLastAttempt: false },
  );
}

describe('the prediction handler', () => {
  it('keeps the results of the prediction it completes', async () => {
    const { prediction, body } = await queuedPrediction();
    expect(
      await handle(
        storingScorer(async () => {}),
        body,
      ),
    ).toEqual({ kind: 'ack' });
    expect(await getPredictionForJob(db, prediction.id)).toMatchObject({ status: 'completed' });
    expect(await blobs.list('users/')).toEqual(resultObjectKeys('alice', prediction.id).sort());
  });

  it('removes what it stored when the prediction was failed meanwhile (dead-letter pass, another delivery)', async () => {
    const { prediction, body } = await queuedPrediction();
    const scorer = storingScorer(async () => {
      await failPrediction(db, prediction.id, { code: 'retries_exhausted', message: 'gave up' });
    });
    expect(await handle(scorer, body)).toEqual({ kind: 'ack' });
    expect(await getPredictionForJob(db, prediction.id)).toMatchObject({ status: 'failed' });
    expect(await blobs.list('users/')).toEqual([]);
  });
});
