/**
 * The two setups every fault runs on: embedded (SQLite queue and database, local files; the API
 * here and workers in child processes sharing its data directory) and scale-out (PostgreSQL, SQS
 * and S3 with fauxqs standing in for AWS). Each run gets fresh state: a data directory, or a
 * schema, queues and a bucket.
 */
import path from 'node:path';
import type { Role } from '../../src/app.js';
import type { LocalAws } from '../../src/aws/test-support/local-aws.js';
import { createTestSchema } from '../../src/db/test-support/postgres.js';
import { fsLeftovers, type InvariantTargets } from './invariants.js';
import { createBucket, createQueues, scaleOutEnv } from './local-aws-resources.js';
import { type RunningService, startService } from './service.js';

export type SetupName = 'embedded' | 'scale-out';
export const SETUPS: readonly SetupName[] = ['embedded', 'scale-out'];

export interface FaultSetup {
  readonly api: RunningService;
  /** The environment of every process of the run, workers included. */
  readonly env: Record<string, string>;
  readonly targets: Omit<InvariantTargets, 'deadLetters' | 'timeoutMs'>;
  /** Scale-out: the run's PostgreSQL schema, for a client that bypasses the run's connections. */
  readonly schema?: string;
  stop(): Promise<void>;
}

export interface SetupOptions {
  /** Also needs `aws` for scale-out. */
  readonly aws?: LocalAws;
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
  /** Extra environment (after the setup's own), e.g. a proxy's endpoint. */
  readonly env?: Record<string, string>;
  /** Rewrites the PostgreSQL URL (e.g. through a proxy) before anything connects. */
  readonly databaseUrl?: (url: string) => string;
  readonly roles?: Role[];
}

export async function startSetup(name: SetupName, options: SetupOptions = {}): Promise<FaultSetup> {
  const visibility = options.visibilityTimeoutSeconds ?? 2;
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const common = {
    QUEUE_VISIBILITY_TIMEOUT_S: String(visibility),
    QUEUE_MAX_RECEIVE_COUNT: String(maxReceiveCount),
    QUEUE_WAIT_TIME_S: '1',
    WORKER_CONCURRENCY: '1',
    SHUTDOWN_DEADLINE_S: '10',
  };
  const cleanups: Array<() => Promise<void>> = [];
  let env: Record<string, string> = { ...common };
  let schemaName: string | undefined;
  if (name === 'scale-out') {
    const aws = options.aws;
    if (!aws) throw new Error('the scale-out setup needs a LocalAws');
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    schemaName = schema.schema;
    const queues = await createQueues(aws, {
      visibilityTimeoutSeconds: visibility,
      maxReceiveCount,
    });
    const bucket = await createBucket(aws);
    const url = options.databaseUrl ? options.databaseUrl(schema.url) : schema.url;
    env = { ...scaleOutEnv(aws, url, queues, bucket), ...common };
  }
  env = { ...env, ...options.env };
  const api = await startService(env, options.roles ?? ['api']);
  const blobRoot = path.join(api.dataDir, 'blobs');
  return {
    api,
    env: api.env,
    targets: {
      db: api.app.db,
      blobs: api.app.blobs,
      queue: api.app.queue,
      ...(name === 'embedded' ? { leftovers: fsLeftovers(blobRoot) } : {}),
    },
    ...(schemaName ? { schema: schemaName } : {}),
    async stop() {
      await api.stop();
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
