/**
 * `churnline setup` for QUEUE=sqs: creates the dead-letter queue and the queue that SQS_DLQ_URL
 * and SQS_QUEUE_URL name, with the attributes the settings describe, as the CDK app in infra/
 * does. A queue that exists is left as it is and compared with the settings instead: changing a
 * live queue's attributes is the operator's decision (each difference comes with its command).
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { credentialProblem } from '../aws/errors.js';
import { QueueError } from './errors.js';
import type { QueueSettings, SettingMismatch } from './port.js';
import { sqsErrorToQueueError } from './sqs-errors.js';
import { findSettingMismatches } from './sqs-verify.js';

export interface SqsProvisionResult {
  /** One line per queue: created, or found. */
  readonly done: string[];
  /** How the queues differ from the settings (empty when they match). */
  readonly mismatches: SettingMismatch[];
}

interface Wanted {
  readonly url: string;
  readonly variable: 'SQS_QUEUE_URL' | 'SQS_DLQ_URL';
  readonly attributes: () => Promise<Record<string, string>>;
}

/** `https://sqs.eu-west-1.amazonaws.com/123456789012/predictions` -> account and name. */
function partsOf(url: string, variable: string): { path: string; name: string } {
  const { pathname } = new URL(url);
  const segments = pathname.split('/').filter(Boolean);
  const name = segments.at(-1);
  if (segments.length !== 2 || !name) {
    throw new QueueError(
      'InvalidQueueUrl',
      `${variable} (${url}) is not a queue URL: it should end in /<account id>/<queue name>, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/predictions.`,
      false,
    );
  }
  return { path: `/${segments.join('/')}`, name };
}

function explain(error: unknown, action: string, what: Wanted): QueueError {
  const mapped = sqsErrorToQueueError(error, action);
  return new QueueError(
    mapped.code,
    credentialProblem(error, 'SQS') ??
      `Could not ${action} for ${what.variable} (${what.url}): ${mapped.message}`,
    mapped.retryable,
    { cause: error },
  );
}

/** Creates the queue if there is none by that name; true when it did. */
async function ensureQueue(client: SQSClient, wanted: Wanted): Promise<boolean> {
  const { path, name } = partsOf(wanted.url, wanted.variable);
  let existing: string | undefined;
  try {
    existing = (await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    if (sqsErrorToQueueError(error, 'GetQueueUrl').code !== 'QueueDoesNotExist') {
      throw explain(error, 'look the queue up', wanted);
    }
  }
  let created = false;
  if (existing === undefined) {
    try {
      const output = await client.send(
        new CreateQueueCommand({ QueueName: name, Attributes: await wanted.attributes() }),
      );
      existing = output.QueueUrl;
      created = true;
    } catch (error) {
      throw explain(error, 'create the queue', wanted);
    }
  }
  // The account in the URL must be the one the credentials reach, or the service would send to
  // a queue nobody created.
  const actual = existing === undefined ? undefined : new URL(existing).pathname;
  if (actual !== path) {
    throw new QueueError(
      'QueueUrlMismatch',
      `${wanted.variable} is ${wanted.url}, but the queue ${name} these credentials reach is ${existing}: set ${wanted.variable}=${existing}, or use the credentials of the account in the URL.`,
      false,
    );
  }
  return created;
}

export async function provisionSqsQueues(options: {
  client: SQSClient;
  queueUrl: string;
  deadLetterQueueUrl: string;
  settings: QueueSettings;
}): Promise<SqsProvisionResult> {
  const { client, queueUrl, deadLetterQueueUrl, settings } = options;
  const done: string[] = [];
  const dead: Wanted = {
    url: deadLetterQueueUrl,
    variable: 'SQS_DLQ_URL',
    attributes: async () => ({
      MessageRetentionPeriod: String(settings.deadLetterRetentionSeconds),
      MaximumMessageSize: String(settings.maxMessageBytes),
    }),
  };
  done.push(
    `${(await ensureQueue(client, dead)) ? 'created' : 'found'} the dead-letter queue ${deadLetterQueueUrl}`,
  );
  const main: Wanted = {
    url: queueUrl,
    variable: 'SQS_QUEUE_URL',
    attributes: async () => {
      const arn = await client.send(
        new GetQueueAttributesCommand({
          QueueUrl: deadLetterQueueUrl,
          AttributeNames: ['QueueArn'],
        }),
      );
      return {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        ReceiveMessageWaitTimeSeconds: String(settings.receiveWaitTimeSeconds),
        MessageRetentionPeriod: String(settings.messageRetentionSeconds),
        MaximumMessageSize: String(settings.maxMessageBytes),
        DelaySeconds: String(settings.delaySeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: arn.Attributes?.QueueArn,
          maxReceiveCount: settings.maxReceiveCount,
        }),
      };
    },
  };
  done.push(`${(await ensureQueue(client, main)) ? 'created' : 'found'} the queue ${queueUrl}`);
  const mismatches = await findSettingMismatches({
    client,
    queueUrl,
    deadLetterQueueUrl,
    settings,
  });
  return { done, mismatches };
}
