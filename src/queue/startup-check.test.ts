import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../aws/test-support/local-aws.js';
import { StartupError } from '../config/startup-error.js';
import { freeLoopbackPort } from '../db/test-support/embedded-postgres.js';
import { SqsJobQueue, type SqsQueueOptions } from './sqs.js';
import { checkQueueSettings } from './startup-check.js';

let aws: LocalAws;
let admin: SQSClient;
beforeAll(async () => {
  aws = await startLocalAws();
  admin = new SQSClient({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: aws.credentials,
  });
});
afterAll(async () => {
  admin.destroy();
  await aws.stop();
});

/** A queue and its DLQ as infra/ makes them, with `attributes` of the source queue changed. */
async function createQueues(
  attributes: Record<string, string | undefined> = {},
): Promise<{ queueUrl: string; deadLetterQueueUrl: string }> {
  const name = `q-${randomUUID().slice(0, 8)}`;
  const dead = await admin.send(
    new CreateQueueCommand({
      QueueName: `${name}-dlq`,
      Attributes: { MessageRetentionPeriod: '1209600' },
    }),
  );
  const arn = await admin.send(
    new GetQueueAttributesCommand({ QueueUrl: dead.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const all: Record<string, string | undefined> = {
    VisibilityTimeout: '300',
    MessageRetentionPeriod: '345600',
    MaximumMessageSize: '262144',
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: arn.Attributes?.QueueArn,
      maxReceiveCount: 3,
    }),
    ...attributes,
  };
  const main = await admin.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: Object.fromEntries(
        Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined),
      ),
    }),
  );
  return { queueUrl: main.QueueUrl as string, deadLetterQueueUrl: dead.QueueUrl as string };
}

/** Runs the start-up check; answers what it threw (or undefined) and the warnings it logged. */
async function check(
  queues: { queueUrl: string; deadLetterQueueUrl: string },
  options: Partial<SqsQueueOptions> = {},
): Promise<{ error: unknown; warnings: string[] }> {
  const warnings: string[] = [];
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) },
  );
  const queue = new SqsJobQueue({
    ...queues,
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: aws.credentials,
    maxAttempts: 1,
    ...options,
  });
  try {
    const error = await checkQueueSettings(queue, log).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error, warnings };
  } finally {
    await queue.close();
  }
}

describe('the queue settings at start', () => {
  it('pass quietly when the queues are as configured', async () => {
    expect(await check(await createQueues())).toEqual({ error: undefined, warnings: [] });
  });

  it('warn about a different visibility timeout, naming the attribute, both values and the fix', async () => {
    const queues = await createQueues({ VisibilityTimeout: '30' });
    const { error, warnings } = await check(queues);
    expect(error).toBeUndefined();
    expect(warnings).toEqual([
      `queue settings differ: the queue VisibilityTimeout is 30; QUEUE_VISIBILITY_TIMEOUT_S says 300: workers ask for the configured timeout on every receive, but other consumers (the console, a redrive) get the queue's. Fix: Set QUEUE_VISIBILITY_TIMEOUT_S=30 to match the queue, or change the queue: aws sqs set-queue-attributes --queue-url ${queues.queueUrl} --attributes '{"VisibilityTimeout":"300"}'`,
    ]);
  });

  it('refuse to start without a RedrivePolicy, with the command that sets one', async () => {
    const queues = await createQueues({ RedrivePolicy: undefined });
    const { error } = await check(queues);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).exitCode).toBe(2);
    const dlqArn = `arn:aws:sqs:us-east-1:000000000000:${queues.deadLetterQueueUrl.split('/').pop()}`;
    expect((error as Error).message).toBe(
      `The SQS queues cannot be used as they are:\n  the queue has no RedrivePolicy: a job that keeps failing is received for ever and never dead-lettered, so its prediction is never failed. Fix: aws sqs set-queue-attributes --queue-url ${queues.queueUrl} --attributes '{"RedrivePolicy":"{\\"deadLetterTargetArn\\":\\"${dlqArn}\\",\\"maxReceiveCount\\":3}"}'`,
    );
  });

  it('refuse to start when a queue does not exist, naming its variable', async () => {
    const queues = await createQueues();
    const missing = `${aws.endpoint}/000000000000/no-such-queue`;
    const main = await check({ ...queues, queueUrl: missing });
    expect((main.error as Error).message).toBe(
      `SQS_QUEUE_URL names no queue: ${missing} does not exist in this account and region. Check SQS_QUEUE_URL and AWS_REGION, or create the queues (the CDK app in infra/ does).`,
    );
    const dead = await check({ ...queues, deadLetterQueueUrl: missing });
    expect((dead.error as Error).message).toMatch(/^SQS_DLQ_URL names no queue: /);
  });

  it('refuse to start when no AWS credentials can be found, saying where they come from', async () => {
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) {
      if (name.startsWith('AWS_') && name !== 'AWS_REGION') delete process.env[name];
    }
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    try {
      const queues = await createQueues();
      const { credentials: _, ...withoutCredentials } = {
        endpoint: aws.endpoint,
        region: aws.region,
        credentials: undefined,
      };
      const queue = new SqsJobQueue({ ...queues, ...withoutCredentials, maxAttempts: 1 });
      const error = await checkQueueSettings(queue, pino({ level: 'silent' })).then(
        () => undefined,
        (e: unknown) => e,
      );
      await queue.close();
      expect(error).toBeInstanceOf(StartupError);
      expect((error as Error).message).toMatch(
        /^AWS credentials are unusable for SQS \(CredentialsProviderError: .+\)\. They come from the SDK's standard chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the task or instance role; fix or provide them\.$/,
      );
    } finally {
      process.env = saved;
    }
  });

  it('start anyway, with a warning, when SQS does not answer (it may come back)', async () => {
    const port = await freeLoopbackPort();
    const gone = `http://127.0.0.1:${port}`;
    const { error, warnings } = await check(
      { queueUrl: `${gone}/000000000000/q`, deadLetterQueueUrl: `${gone}/000000000000/q-dlq` },
      { endpoint: gone },
    );
    expect(error).toBeUndefined();
    expect(warnings[0]).toMatch(
      /^could not compare the queue with the settings at start \(Could not read the attributes of SQS_(QUEUE|DLQ)_URL/,
    );
  });
});
