/** The service's three setups, for tests that run on each: what to set, and what to undo after. */
import { startLocalAws } from '../../src/aws/test-support/local-aws.js';
import { createTestSchema } from '../../src/db/test-support/postgres.js';
import { createBucket, createQueues, scaleOutEnv } from './local-aws-resources.js';

export type Setup = 'embedded' | 'postgres' | 'sqs and s3';

export const SETUPS: Setup[] = ['embedded', 'postgres', 'sqs and s3'];

export async function setUpBackends(
  setup: Setup,
  queueSettings: { visibilityTimeoutSeconds: number } = { visibilityTimeoutSeconds: 30 },
): Promise<{ env: Record<string, string>; undo: () => Promise<void> }> {
  if (setup === 'embedded') return { env: {}, undo: async () => {} };
  const schema = await createTestSchema();
  if (setup === 'postgres') {
    return { env: { DATABASE_URL: schema.url, QUEUE: 'postgres' }, undo: () => schema.drop() };
  }
  const aws = await startLocalAws();
  // The SDK reads credentials from the process's environment (its standard chain).
  const saved = { ...process.env };
  process.env.AWS_ACCESS_KEY_ID = aws.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = aws.credentials.secretAccessKey;
  const queues = await createQueues(aws, { ...queueSettings, maxReceiveCount: 3 });
  const bucket = await createBucket(aws);
  return {
    env: scaleOutEnv(aws, schema.url, queues, bucket),
    undo: async () => {
      process.env = saved;
      await aws.stop();
      await schema.drop();
    },
  };
}
