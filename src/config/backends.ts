import { describeTarget } from '../db/connect-errors.js';
import type { Config } from './index.js';

/**
 * Each backend as the operator configured it, with the variables that did it: how health,
 * readiness and the start-up banner name what is (not) working. Never a secret.
 */
export function describeBackends(config: Config): {
  database: string;
  queue: string;
  blobs: string;
} {
  const database = config.database;
  const pg =
    database.kind === 'postgres'
      ? (() => {
          const t = describeTarget(database.url);
          return `PostgreSQL ${t.database} at ${t.host}:${t.port} (DATABASE_URL)`;
        })()
      : undefined;
  const queue = config.queue;
  const blobs = config.blobs;
  return {
    database: pg ?? `SQLite database ${database.kind === 'sqlite' ? database.file : ''}`,
    queue:
      queue.kind === 'sqs'
        ? `Amazon SQS queue ${queue.queueUrl} (SQS_QUEUE_URL, SQS_DLQ_URL)`
        : queue.kind === 'postgres'
          ? 'PostgreSQL job queue (QUEUE=postgres, DATABASE_URL)'
          : `SQLite job queue ${queue.file}`,
    blobs:
      blobs.kind === 's3'
        ? `Amazon S3 bucket ${blobs.bucket}${blobs.prefix ? ` under ${blobs.prefix}` : ''} (S3_BUCKET)`
        : `local files in ${blobs.root} (CHURNLINE_DATA_DIR)`,
  };
}
