import type { Command } from 'commander';
import { requireAwsRegion } from '../../aws/region.js';
import { awsOptions } from '../../blobs/open.js';
import { BlobError } from '../../blobs/port.js';
import { parseConfig } from '../../config/index.js';
import { StartupError } from '../../config/startup-error.js';
import { QueueError } from '../../queue/errors.js';
import { DEFAULT_QUEUE_SETTINGS } from '../../queue/port.js';
import { resolveSettings } from '../../queue/validation.js';
import { UsageError } from '../errors.js';

/**
 * `churnline setup`: makes the shared backends the configuration names ready before the first
 * process starts, with an administrator's credentials: the database's tables (the migrations
 * every process runs at start), the SQS queue and its dead-letter queue with the attributes the
 * QUEUE_* settings describe, and the S3 bucket. Running it again changes nothing and reports
 * what differs from the settings.
 */
export function registerSetupCommand(program: Command): void {
  program
    .command('setup')
    .description(
      'Create what the configuration needs: the database tables, the SQS queue and dead-letter queue (QUEUE=sqs), the S3 bucket (BLOBS=s3). Safe to run again.',
    )
    .action(async () => {
      // Loaded here, as the other commands do: app.js pulls in the whole service, which made
      // every command (`churnline score` too) start ~0.3 s slower and ~30 MB bigger.
      const { openDatabase, openQueue } = await import('../../app.js');
      const config = parseConfig(process.env);
      const say = (what: string, line: string) =>
        process.stdout.write(`${what.padEnd(9)}${line}\n`);

      const db = await openDatabase(config);
      await db.destroy();
      say(
        'database',
        config.database.kind === 'postgres'
          ? `tables ready in ${redactUrl(config.database.url)}`
          : `tables ready in ${config.database.file}`,
      );

      const queue = config.queue;
      if (queue.kind === 'sqs') {
        await requireAwsRegion(queue.aws.region, 'SQS (QUEUE=sqs)');
        const [{ SQSClient }, { provisionSqsQueues }, { sdkClientConfig }] = await Promise.all([
          import('@aws-sdk/client-sqs'),
          import('../../queue/sqs-provision.js'),
          import('../../aws/client-options.js'),
        ]);
        const client = new SQSClient(sdkClientConfig(awsOptions(queue.aws), 30_000));
        try {
          const result = await provisionSqsQueues({
            client,
            queueUrl: queue.queueUrl,
            deadLetterQueueUrl: queue.deadLetterQueueUrl,
            settings: resolveSettings(queue.settings, DEFAULT_QUEUE_SETTINGS),
          }).catch(asSetupError);
          for (const line of result.done) say('queue', line);
          for (const mismatch of result.mismatches) {
            say('queue', `${mismatch.severity}: ${mismatch.problem} Fix: ${mismatch.fix}`);
          }
          if (result.mismatches.some((m) => m.severity === 'fatal')) {
            throw new UsageError(
              'The SQS queues exist but cannot be used as they are: run the fixes above, then setup again.',
            );
          }
        } finally {
          client.destroy();
        }
      } else {
        // Its table is made on first use: one read makes it now, with these credentials.
        const opened = await openQueue(config);
        try {
          await opened.stats();
        } finally {
          await opened.close();
        }
        say(
          'queue',
          `table ready in ${queue.kind === 'sqlite' ? queue.file : 'the PostgreSQL database'}`,
        );
      }

      const blobs = config.blobs;
      if (blobs.kind === 's3') {
        await requireAwsRegion(blobs.aws.region, 'S3 (BLOBS=s3)');
        const [{ S3Client }, { provisionBucket }] = await Promise.all([
          import('@aws-sdk/client-s3'),
          import('../../blobs/s3-provision.js'),
        ]);
        const client = new S3Client({
          ...awsOptions(blobs.aws),
          forcePathStyle: blobs.forcePathStyle,
        });
        try {
          const region = await client.config.region();
          say(
            'files',
            await provisionBucket({ client, bucket: blobs.bucket, region }).catch(asSetupError),
          );
        } finally {
          client.destroy();
        }
      } else {
        say('files', `BLOBS=fs: files live in ${blobs.root}`);
      }
    });
}

/** Problems only the operator can fix exit 2 with their one line; others exit 1 with it. */
function asSetupError(error: unknown): never {
  if ((error instanceof QueueError || error instanceof BlobError) && !error.retryable) {
    throw new UsageError(error.message);
  }
  if (error instanceof QueueError || error instanceof BlobError) {
    throw new StartupError(error.message, 1);
  }
  throw error;
}

/** The URL without its password, for output. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
