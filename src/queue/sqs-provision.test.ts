import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../aws/test-support/local-aws.js';
import { QueueError } from './errors.js';
import { DEFAULT_QUEUE_SETTINGS } from './port.js';
import { provisionSqsQueues } from './sqs-provision.js';

let aws: LocalAws;
let client: SQSClient;
beforeAll(async () => {
  aws = await startLocalAws();
  client = new SQSClient({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: aws.credentials,
  });
});
afterAll(async () => {
  client?.destroy();
  await aws?.stop();
});

/** The emulator's URL of a queue named `name` (as an operator writes SQS_QUEUE_URL). */
const urlOf = (name: string, account = '000000000000') =>
  `http://sqs.${aws.region}.localhost:${new URL(aws.endpoint).port}/${account}/${name}`;

async function attributes(url: string): Promise<Record<string, string>> {
  const output = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
  );
  return output.Attributes ?? {};
}

describe('provisionSqsQueues (churnline setup, QUEUE=sqs)', () => {
  it('creates both queues with the settings, then finds them matching', async () => {
    const name = `p-${randomUUID().slice(0, 8)}`;
    const wanted = {
      client,
      queueUrl: urlOf(name),
      deadLetterQueueUrl: urlOf(`${name}-dlq`),
      settings: { ...DEFAULT_QUEUE_SETTINGS, maxReceiveCount: 4, visibilityTimeoutSeconds: 120 },
    };
    const first = await provisionSqsQueues(wanted);
    expect(first.done).toEqual([
      `created the dead-letter queue ${wanted.deadLetterQueueUrl}`,
      `created the queue ${wanted.queueUrl}`,
    ]);
    expect(first.mismatches).toEqual([]);
    const main = await attributes(wanted.queueUrl);
    const dead = await attributes(wanted.deadLetterQueueUrl);
    expect(main).toMatchObject({
      VisibilityTimeout: '120',
      MessageRetentionPeriod: '345600',
      MaximumMessageSize: '262144',
      ReceiveMessageWaitTimeSeconds: '20',
    });
    expect(JSON.parse(main.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dead.QueueArn,
      maxReceiveCount: 4,
    });
    expect(dead.MessageRetentionPeriod).toBe('1209600');

    const second = await provisionSqsQueues(wanted);
    expect(second.done).toEqual([
      `found the dead-letter queue ${wanted.deadLetterQueueUrl}`,
      `found the queue ${wanted.queueUrl}`,
    ]);
    expect(second.mismatches).toEqual([]);
  });

  it('leaves a queue that exists as it is and lists how it differs, with the fix', async () => {
    const name = `p-${randomUUID().slice(0, 8)}`;
    // Made by hand: no RedrivePolicy, another visibility timeout.
    await client.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '30' } }),
    );
    const result = await provisionSqsQueues({
      client,
      queueUrl: urlOf(name),
      deadLetterQueueUrl: urlOf(`${name}-dlq`),
      settings: DEFAULT_QUEUE_SETTINGS,
    });
    expect(result.done[1]).toBe(`found the queue ${urlOf(name)}`);
    expect((await attributes(urlOf(name))).VisibilityTimeout).toBe('30');
    const problems = result.mismatches.map((m) => `${m.severity}: ${m.problem} ${m.fix}`);
    expect(problems.join('\n')).toMatch(
      /warning: the queue VisibilityTimeout is 30; QUEUE_VISIBILITY_TIMEOUT_S says 300/,
    );
    expect(result.mismatches.some((m) => m.severity === 'fatal')).toBe(true);
  });

  it('refuses a URL of another account than the credentials reach, and a URL that is no queue URL', async () => {
    const name = `p-${randomUUID().slice(0, 8)}`;
    const other = provisionSqsQueues({
      client,
      queueUrl: urlOf(name, '123456789012'),
      deadLetterQueueUrl: urlOf(`${name}-dlq`, '123456789012'),
      settings: DEFAULT_QUEUE_SETTINGS,
    });
    await expect(other).rejects.toThrow(QueueError);
    await expect(other).rejects.toThrow(
      /SQS_DLQ_URL is .*123456789012.*, but the queue .* these credentials reach is .*000000000000.*: set SQS_DLQ_URL=/,
    );
    await expect(
      provisionSqsQueues({
        client,
        queueUrl: urlOf(name),
        deadLetterQueueUrl: `http://sqs.${aws.region}.localhost/just-a-name`,
        settings: DEFAULT_QUEUE_SETTINGS,
      }),
    ).rejects.toThrow(
      /SQS_DLQ_URL .* is not a queue URL: it should end in \/<account id>\/<queue name>/,
    );
  });
});
