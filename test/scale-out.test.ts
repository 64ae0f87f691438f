import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  type RunningService,
  startService,
  submitCsv,
  waitForStatus,
} from './support/service.js';
import { telcoCsv as telco } from './support/telco.js';

const cleanups: Array<() => Promise<void>> = [];
let aws: LocalAws;
const savedEnv = { ...process.env };

beforeAll(async () => {
  aws = await startLocalAws();
  // The service takes credentials from the SDK's standard chain, as on AWS; here, the environment.
  process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  process.env = savedEnv;
  await aws.stop();
});

async function schema(): Promise<TestSchema> {
  const created = await createTestSchema();
  cleanups.push(() => created.drop());
  return created;
}

async function start(env: Record<string, string>): Promise<RunningService> {
  const service = await startService(env);
  cleanups.push(() => service.stop());
  return service;
}

/** Upload the Telco CSV, score it, download it; another user sees none of it. */
async function scoreTelco(service: RunningService): Promise<string> {
  const alice = await service.token('alice');
  const { predictionId: id } = await submitCsv(service, alice, telco);
  expect(
    await waitForStatus(service.url, alice, id, ['completed', 'failed'], 60_000),
  ).toMatchObject({
    status: 'completed',
    rowsScored: 7043,
  });
  const results = await fetch(`${service.url}/v1/predictions/${id}/results.csv`, authorised(alice));
  expect((await results.text()).trimEnd().split('\n')).toHaveLength(7044);
  const bob = await service.token('bob');
  expect((await fetch(`${service.url}/v1/predictions/${id}`, authorised(bob))).status).toBe(404);
  return id;
}

describe('scale-out configuration', () => {
  it('runs on PostgreSQL alone: database and job queue', async () => {
    const db = await schema();
    const service = await start({ DATABASE_URL: db.url, QUEUE: 'postgres' });
    await scoreTelco(service);
    expect(await service.app.queue.stats()).toMatchObject({
      visible: 0,
      inFlight: 0,
      deadLetter: { visible: 0 },
    });
  });

  it('runs on PostgreSQL, SQS and S3', async () => {
    const db = await schema();
    const queues = await createQueues(aws, { visibilityTimeoutSeconds: 300, maxReceiveCount: 3 });
    const bucket = await createBucket(aws);
    const service = await start(scaleOutEnv(aws, db.url, queues, bucket));
    const id = await scoreTelco(service);
    const keys = await bucketKeys(aws, bucket);
    // The upload, the results and their rows index.
    expect(keys).toEqual(
      expect.arrayContaining([
        `churnline/users/alice/results/${id}.csv`,
        `churnline/users/alice/results/${id}.rows-index`,
      ]),
    );
    expect(keys).toHaveLength(3);
  });
});
