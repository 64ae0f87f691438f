import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LocalAws } from '../../src/aws/test-support/local-aws.js';

/** A queue and its dead-letter queue on the local SQS server, with a RedrivePolicy as infra/ makes. */
export async function createQueues(
  aws: LocalAws,
  options: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
): Promise<{ queueUrl: string; deadLetterQueueUrl: string }> {
  const sqs = new SQSClient({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: aws.credentials,
  });
  try {
    const name = `predictions-${randomUUID().slice(0, 8)}`;
    const deadLetterQueueUrl = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `${name}-dlq`,
          // 14 days, as QUEUE_DLQ_RETENTION_S says by default (else every start warns).
          Attributes: { MessageRetentionPeriod: '1209600' },
        }),
      )
    ).QueueUrl as string;
    const arn = (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: deadLetterQueueUrl,
          AttributeNames: ['QueueArn'],
        }),
      )
    ).Attributes?.QueueArn;
    const queueUrl = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            VisibilityTimeout: String(options.visibilityTimeoutSeconds),
            MaximumMessageSize: '262144',
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: arn,
              maxReceiveCount: options.maxReceiveCount,
            }),
          },
        }),
      )
    ).QueueUrl as string;
    return { queueUrl, deadLetterQueueUrl };
  } finally {
    sqs.destroy();
  }
}

function s3Client(aws: LocalAws): S3Client {
  return new S3Client({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: aws.credentials,
    forcePathStyle: true,
  });
}

export async function createBucket(aws: LocalAws): Promise<string> {
  const s3 = s3Client(aws);
  try {
    const bucket = `churnline-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  } finally {
    s3.destroy();
  }
}

/** Every key in the bucket (test buckets stay small: one page of up to 1,000). */
export async function bucketKeys(aws: LocalAws, bucket: string): Promise<string[]> {
  const s3 = s3Client(aws);
  try {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (page.Contents ?? []).map((object) => object.Key as string);
  } finally {
    s3.destroy();
  }
}

/** The environment that points the service at these resources. */
export function scaleOutEnv(
  aws: LocalAws,
  databaseUrl: string,
  queues: { queueUrl: string; deadLetterQueueUrl: string },
  bucket: string,
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    QUEUE: 'sqs',
    SQS_QUEUE_URL: queues.queueUrl,
    SQS_DLQ_URL: queues.deadLetterQueueUrl,
    BLOBS: 's3',
    S3_BUCKET: bucket,
    S3_PREFIX: 'churnline/',
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: aws.region,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    QUEUE_WAIT_TIME_S: '1',
  };
}
