/**
 * Checks of the SQS configuration: queue URLs when the adapter is built, and the configured
 * settings against the queues as they exist. The adapter relies on those matching:
 * maxReceiveCount is the receive count it reports for dead letters, maxMessageBytes is checked
 * before sending, and the dead-letter queue it reads must be the one the source queue's
 * RedrivePolicy writes to. A mismatch is a deployment error to report at start.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { QueueError } from './errors.js';
import type { QueueSettings } from './port.js';
import { sqsErrorToQueueError } from './sqs-errors.js';

async function attributesOf(client: SQSClient, url: string): Promise<Record<string, string>> {
  try {
    const output = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );
    return output.Attributes ?? {};
  } catch (error) {
    throw sqsErrorToQueueError(error, 'GetQueueAttributes');
  }
}

/** One line per setting that differs from the queues, naming both values; empty when all match. */
export async function findSettingMismatches(options: {
  client: SQSClient;
  queueUrl: string;
  deadLetterQueueUrl: string;
  settings: QueueSettings;
}): Promise<string[]> {
  const { client, settings } = options;
  const [main, dead] = await Promise.all([
    attributesOf(client, options.queueUrl),
    attributesOf(client, options.deadLetterQueueUrl),
  ]);
  const problems: string[] = [];
  const compare = (queue: string, attribute: string, actual: unknown, expected: number) => {
    if (Number(actual) !== expected) {
      problems.push(`${queue} ${attribute} is ${actual ?? 'unset'}; the settings say ${expected}.`);
    }
  };
  compare(
    'the queue',
    'VisibilityTimeout',
    main.VisibilityTimeout,
    settings.visibilityTimeoutSeconds,
  );
  compare(
    'the queue',
    'MessageRetentionPeriod',
    main.MessageRetentionPeriod,
    settings.messageRetentionSeconds,
  );
  compare('the queue', 'MaximumMessageSize', main.MaximumMessageSize, settings.maxMessageBytes);
  compare(
    'the dead-letter queue',
    'MessageRetentionPeriod',
    dead.MessageRetentionPeriod,
    settings.deadLetterRetentionSeconds,
  );

  let policy: { deadLetterTargetArn?: string; maxReceiveCount?: number | string } = {};
  try {
    policy = JSON.parse(main.RedrivePolicy ?? '{}') as typeof policy;
  } catch {
    problems.push('the queue RedrivePolicy is not valid JSON.');
  }
  if (!policy.deadLetterTargetArn) {
    problems.push(
      'the queue has no RedrivePolicy: nothing is dead-lettered after maxReceiveCount receives.',
    );
  } else if (policy.deadLetterTargetArn !== dead.QueueArn) {
    problems.push(
      `the queue dead-letters to ${policy.deadLetterTargetArn}, but the configured dead-letter queue is ${dead.QueueArn}.`,
    );
  }
  if (policy.deadLetterTargetArn) {
    compare(
      'the queue',
      'RedrivePolicy maxReceiveCount',
      policy.maxReceiveCount,
      settings.maxReceiveCount,
    );
  }
  return problems;
}

/** A queue URL from the configuration, refused with the option's name when it is not a URL. */
export function requireQueueUrl(option: string, value: string): string {
  try {
    // Validated, not normalised: some compatible servers match queue URLs as exact strings.
    new URL(value);
    return value;
  } catch {
    throw new QueueError(
      'InvalidParameterValue',
      `${option} must be an SQS queue URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/predictions; got ${JSON.stringify(value)}.`,
      false,
    );
  }
}
