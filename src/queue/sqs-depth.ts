/**
 * Queue depth from GetQueueAttributes. SQS has no attribute for the age of the oldest message:
 * that is the CloudWatch metric ApproximateAgeOfOldestMessage, read through an injected reader so
 * that the CloudWatch client is loaded only where it is configured.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueDepth } from './port.js';
import { sqsErrorToQueueError } from './sqs-errors.js';

/**
 * Seconds since the oldest message in the queue was sent, or null when the source has no data
 * point (CloudWatch publishes the metric once a minute, for active queues only).
 */
export type OldestMessageAgeReader = (queue: {
  readonly name: string;
  readonly url: string;
}) => Promise<number | null>;

/** Where the age comes from, and what to release with the queue (the CloudWatch client). */
export interface OldestMessageAgeSource {
  readonly read: OldestMessageAgeReader;
  close?(): void;
}

export const OLDEST_AGE_UNCONFIGURED =
  'Amazon SQS has no queue attribute for the age of the oldest message; it is the CloudWatch metric ApproximateAgeOfOldestMessage, and no CloudWatch reader is configured.';
const OLDEST_AGE_NO_DATAPOINT =
  'CloudWatch has no ApproximateAgeOfOldestMessage data point of the last 5 minutes for this queue (it publishes about once a minute, a minute or two late).';

export async function queueDepth(options: {
  client: SQSClient;
  url: string;
  name: string;
  oldestMessageAge: OldestMessageAgeReader | undefined;
}): Promise<QueueDepth> {
  let attributes: Partial<Record<string, string>>;
  try {
    const output = await options.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: options.url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    attributes = output.Attributes ?? {};
  } catch (error) {
    throw sqsErrorToQueueError(error, 'GetQueueAttributes');
  }
  const count = (name: string) => Number(attributes[name] ?? 0) || 0;
  const visible = count('ApproximateNumberOfMessages');
  const inFlight = count('ApproximateNumberOfMessagesNotVisible');
  const delayed = count('ApproximateNumberOfMessagesDelayed');
  const counts = { visible, inFlight, delayed };
  if (visible + inFlight + delayed === 0) return { ...counts, oldestAgeSeconds: null };
  if (!options.oldestMessageAge) {
    return { ...counts, oldestAgeSeconds: null, oldestAgeUnknownReason: OLDEST_AGE_UNCONFIGURED };
  }
  let age: number | null;
  try {
    age = await options.oldestMessageAge({ name: options.name, url: options.url });
  } catch (error) {
    // The depth is still worth reporting; the monitor shows why the age is missing.
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ...counts,
      oldestAgeSeconds: null,
      oldestAgeUnknownReason: `Reading ApproximateAgeOfOldestMessage from CloudWatch failed: ${reason}`,
    };
  }
  return age === null
    ? { ...counts, oldestAgeSeconds: null, oldestAgeUnknownReason: OLDEST_AGE_NO_DATAPOINT }
    : { ...counts, oldestAgeSeconds: Math.max(0, Math.floor(age)) };
}
