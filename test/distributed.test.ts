/**
 * Many machines, simulated: one API process and three worker processes on PostgreSQL + SQS + S3
 * (fauxqs for SQS and S3). While 200 predictions run, a random worker is killed with SIGKILL every
 * few seconds and restarted. Every prediction must end completed with exactly one result object,
 * and the dead-letter queue must stay empty.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../src/aws/test-support/local-aws.js';
import { createTestSchema, type TestSchema } from '../src/db/test-support/postgres.js';
import {
  bucketKeys,
  createBucket,
  createQueues,
  scaleOutEnv,
} from './support/local-aws-resources.js';
import {
  authorised,
  postPrediction,
  type RunningService,
  startService,
  startWorkerProcess,
  upload,
} from './support/service.js';
import { telcoText as telco } from './support/telco.js';

const PREDICTIONS = 200;
const WORKERS = 3;
const rowCount = telco.trimEnd().split('\n').length - 1;

let aws: LocalAws;
let db: TestSchema;
let api: RunningService;
const savedEnv = { ...process.env };
const workers: ChildProcess[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
  db = await createTestSchema();
});
afterAll(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  await api?.stop();
  await db?.drop();
  await aws?.stop();
  process.env = savedEnv;
});

describe('distributed', () => {
  it('completes every prediction exactly once while workers are killed at random', async () => {
    // A short visibility timeout so a killed worker's jobs come back within seconds. A kill every
    // few seconds is far harsher than production, and SQS also counts receives whose response
    // died with the worker, so the receive limit is raised: this test is about loss and
    // duplication; the dead-letter policy itself is covered by the queue contract suite.
    const queues = await createQueues(aws, { visibilityTimeoutSeconds: 3, maxReceiveCount: 10 });
    const bucket = await createBucket(aws);
    const env = {
      ...scaleOutEnv(aws, db.url, queues, bucket),
      QUEUE_VISIBILITY_TIMEOUT_S: '3',
      QUEUE_MAX_RECEIVE_COUNT: '10',
      // One user queues all 200 at once and polls them all: a stress test of the workers, not of
      // the job quota or the rate limit.
      QUOTA_ACTIVE_JOBS: '0',
      RATE_LIMIT_PER_SECOND: '0',
    };
    api = await startService(env, ['api']);
    const token = await api.token('alice');
    const uploaded = await upload(api.url, token, telco);
    const { id: uploadId } = (await uploaded.json()) as { id: string };
    const ids: string[] = [];
    for (let i = 0; i < PREDICTIONS; i++) {
      const created = await postPrediction(api.url, token, uploadId);
      expect(created.status).toBe(202);
      ids.push(((await created.json()) as { id: string }).id);
    }

    // The backlog is all there before the workers start, so the kills land while jobs run.
    for (let i = 0; i < WORKERS; i++) workers.push(startWorkerProcess(api.env));
    let kills = 0;
    let nextKill = Date.now() + 2000;
    const deadline = Date.now() + 150_000;
    const pending = new Set(ids);
    while (pending.size > 0 && Date.now() < deadline) {
      if (Date.now() >= nextKill && kills < 12) {
        const victim = Math.floor(Math.random() * WORKERS);
        workers[victim]?.kill('SIGKILL');
        workers[victim] = startWorkerProcess(api.env);
        kills++;
        nextKill = Date.now() + 1000 + Math.random() * 2000;
      }
      const page = await fetch(
        `${api.url}/v1/predictions?limit=100&status=completed`,
        authorised(token),
      );
      expect(page.status).toBe(200);
      for (const id of [...pending]) {
        const response = await fetch(`${api.url}/v1/predictions/${id}`, authorised(token));
        const { status } = (await response.json()) as { status: string };
        if (status === 'completed' || status === 'failed') pending.delete(id);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (pending.size > 0) {
      const stuck = await Promise.all(
        [...pending].map(async (id) =>
          (await fetch(`${api.url}/v1/predictions/${id}`, authorised(token))).json(),
        ),
      );
      console.log('stuck', JSON.stringify(stuck), JSON.stringify(await api.app.queue.stats()));
    }
    expect(pending.size).toBe(0);
    expect(kills).toBeGreaterThan(0);

    for (const id of ids) {
      const prediction = (await (
        await fetch(`${api.url}/v1/predictions/${id}`, authorised(token))
      ).json()) as {
        status: string;
        rowsScored: number;
      };
      expect(prediction, id).toMatchObject({ status: 'completed', rowsScored: rowCount });
    }
    const results = (await bucketKeys(aws, bucket)).filter((key) =>
      key.startsWith('churnline/users/alice/results/'),
    );
    // Exactly one result per prediction, with its rows index.
    expect(results.sort()).toEqual(
      ids
        .flatMap((id) => [
          `churnline/users/alice/results/${id}.csv`,
          `churnline/users/alice/results/${id}.rows-index`,
        ])
        .sort(),
    );
    const stats = await api.app.queue.stats();
    expect(stats.deadLetter.visible).toBe(0);
    console.log(`distributed: ${PREDICTIONS} predictions, ${WORKERS} workers, ${kills} SIGKILLs`);
  }, 240_000);
});
