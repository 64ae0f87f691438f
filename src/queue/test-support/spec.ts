import type { JobQueue, QueueSettings } from '../port.js';

/**
 * How a child process opens the same queue as the test that spawned it. Serialisable, so that the
 * multi-process cases of the contract suite run unchanged against every adapter.
 */
export type QueueSpec =
  | {
      kind: 'sqlite';
      file: string;
      name: string;
      settings: Partial<QueueSettings>;
      pollIntervalMs?: number;
    }
  | {
      kind: 'sqs';
      name: string;
      queueUrl: string;
      deadLetterQueueUrl: string;
      /** The SQS-compatible server the test started. */
      endpoint: string;
      region: string;
      credentials: { accessKeyId: string; secretAccessKey: string };
      settings: Partial<QueueSettings>;
    }
  | {
      kind: 'postgres';
      /** Carries the test's schema in its search_path (see createTestSchema). */
      connectionString: string;
      name: string;
      settings: Partial<QueueSettings>;
      pollIntervalMs?: number;
    };

/** Imports only the adapter in use, so a SQLite child does not load the AWS SDK or pg. */
export async function openQueueFromSpec(spec: QueueSpec): Promise<JobQueue> {
  switch (spec.kind) {
    case 'sqlite':
      return new (await import('../sqlite.js')).SqliteJobQueue(spec);
    case 'sqs':
      return new (await import('../sqs.js')).SqsJobQueue(spec);
    case 'postgres':
      return new (await import('../postgres.js')).PostgresJobQueue(spec);
  }
}
