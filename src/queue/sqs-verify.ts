/**
 * Checks of the SQS configuration: queue URLs when the adapter is built, and the configured
 * settings against the queues as they exist. The adapter relies on those matching:
 * maxReceiveCount is the receive count it reports for dead letters, maxMessageBytes is checked
 * before sending, and the dead-letter queue it reads must be the one the source queue's
 * RedrivePolicy writes to. A mismatch is a deployment error to report at start.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { credentialProblem } from '../aws/errors.js';
import { QueueError } from './errors.js';
import type { QueueSettings, SettingMismatch } from './port.js';
import { sqsErrorToQueueError } from './sqs-errors.js';

const DENIED_CODES = new Set(['AccessDenied', 'AccessDeniedException', 'InvalidSecurity']);

interface ConfiguredQueue {
  readonly url: string;
  /** The variable that names it, for the message. */
  readonly variable: 'SQS_QUEUE_URL' | 'SQS_DLQ_URL';
}

/**
 * The queue's attributes, or a QueueError that names the variable and the fix: a queue that does
 * not exist, credentials that are unusable or lack sqs:GetQueueAttributes, an unreachable SQS.
 */
async function attributesOf(
  client: SQSClient,
  queue: ConfiguredQueue,
): Promise<Record<string, string>> {
  try {
    const output = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['All'] }),
    );
    return output.Attributes ?? {};
  } catch (error) {
    const mapped = sqsErrorToQueueError(error, 'GetQueueAttributes');
    const where = `${queue.variable} (${queue.url})`;
    const text =
      mapped.code === 'QueueDoesNotExist'
        ? `${queue.variable} names no queue: ${queue.url} does not exist in this account and region. Check ${queue.variable} and AWS_REGION, or create the queues (the CDK app in infra/ does).`
        : (credentialProblem(error, 'SQS') ??
          (DENIED_CODES.has(mapped.code)
            ? `The AWS credentials in use may not read ${where}: sqs:GetQueueAttributes is denied (${mapped.code}). Give the worker role sqs:GetQueueAttributes on both queues (README, "Scaling out").`
            : `Could not read the attributes of ${where}: ${mapped.message}`));
    throw new QueueError(mapped.code, text, mapped.retryable, { cause: error });
  }
}

/** The shell command that sets one attribute of a queue. */
function setAttribute(url: string, name: string, value: string): string {
  // Single quotes: the JSON goes to the shell as it is (ARNs and JSON hold no single quote).
  return `aws sqs set-queue-attributes --queue-url ${url} --attributes '${JSON.stringify({ [name]: value })}'`;
}

/**
 * Each way the queues differ from the settings, with its severity and fix; empty when all
 * match. Only what breaks the service's guarantees is fatal: a missing or foreign RedrivePolicy
 * (dead letters go nowhere, or where no worker reads them) and a dead-letter retention shorter
 * than the queue's (SQS counts it from the original send, so old jobs vanish as they arrive).
 * The visibility timeout is a warning: every receive and heartbeat states the configured one.
 */
export async function findSettingMismatches(options: {
  client: SQSClient;
  queueUrl: string;
  deadLetterQueueUrl: string;
  settings: QueueSettings;
}): Promise<SettingMismatch[]> {
  const { client, settings, queueUrl } = options;
  const [main, dead] = await Promise.all([
    attributesOf(client, { url: queueUrl, variable: 'SQS_QUEUE_URL' }),
    attributesOf(client, { url: options.deadLetterQueueUrl, variable: 'SQS_DLQ_URL' }),
  ]);
  const found: SettingMismatch[] = [];
  const compare = (
    queue: { name: string; url: string },
    attribute: string,
    actual: string | undefined,
    expected: number,
    variable: string,
    why: string,
  ) => {
    if (Number(actual) === expected) return;
    found.push({
      severity: 'warning',
      problem: `${queue.name} ${attribute} is ${actual ?? 'unset'}; ${variable} says ${expected}: ${why}.`,
      fix: `Set ${variable}=${actual ?? '?'} to match the queue, or change the queue: ${setAttribute(queue.url, attribute, String(expected))}`,
    });
  };
  const source = { name: 'the queue', url: queueUrl };
  const deadLetters = { name: 'the dead-letter queue', url: options.deadLetterQueueUrl };
  compare(
    source,
    'VisibilityTimeout',
    main.VisibilityTimeout,
    settings.visibilityTimeoutSeconds,
    'QUEUE_VISIBILITY_TIMEOUT_S',
    "workers ask for the configured timeout on every receive, but other consumers (the console, a redrive) get the queue's",
  );
  compare(
    source,
    'MessageRetentionPeriod',
    main.MessageRetentionPeriod,
    settings.messageRetentionSeconds,
    'QUEUE_RETENTION_S',
    'jobs expire at a different age than configured',
  );
  compare(
    source,
    'MaximumMessageSize',
    main.MaximumMessageSize,
    settings.maxMessageBytes,
    'QUEUE_MAX_MESSAGE_BYTES',
    'sends are checked against the configured limit, and SQS enforces its own',
  );
  compare(
    deadLetters,
    'MessageRetentionPeriod',
    dead.MessageRetentionPeriod,
    settings.deadLetterRetentionSeconds,
    'QUEUE_DLQ_RETENTION_S',
    'dead letters expire at a different age than configured',
  );
  if (Number(dead.MessageRetentionPeriod) < Number(main.MessageRetentionPeriod)) {
    found.push({
      severity: 'fatal',
      problem: `the dead-letter queue keeps messages ${dead.MessageRetentionPeriod} s, less than the queue's ${main.MessageRetentionPeriod} s: SQS counts from the original send, so a job dead-lettered late expires as it arrives and its prediction is never failed.`,
      fix: setAttribute(
        options.deadLetterQueueUrl,
        'MessageRetentionPeriod',
        String(settings.deadLetterRetentionSeconds),
      ),
    });
  }
  found.push(...redriveMismatches(main, dead, settings, options));
  return found;
}

function redriveMismatches(
  main: Record<string, string>,
  dead: Record<string, string>,
  settings: QueueSettings,
  urls: { queueUrl: string; deadLetterQueueUrl: string },
): SettingMismatch[] {
  const wanted = JSON.stringify({
    deadLetterTargetArn: dead.QueueArn,
    maxReceiveCount: settings.maxReceiveCount,
  });
  const setPolicy = setAttribute(urls.queueUrl, 'RedrivePolicy', wanted);
  let policy: { deadLetterTargetArn?: string; maxReceiveCount?: number | string } = {};
  try {
    policy = JSON.parse(main.RedrivePolicy ?? '{}') as typeof policy;
  } catch {
    return [
      {
        severity: 'fatal',
        problem: 'the queue RedrivePolicy is not valid JSON.',
        fix: setPolicy,
      },
    ];
  }
  if (!policy.deadLetterTargetArn) {
    return [
      {
        severity: 'fatal',
        problem: `the queue has no RedrivePolicy: a job that keeps failing is received for ever and never dead-lettered, so its prediction is never failed.`,
        fix: setPolicy,
      },
    ];
  }
  if (policy.deadLetterTargetArn !== dead.QueueArn) {
    return [
      {
        severity: 'fatal',
        problem: `the queue dead-letters to ${policy.deadLetterTargetArn}, but SQS_DLQ_URL is ${urls.deadLetterQueueUrl} (${dead.QueueArn}): workers read the wrong dead-letter queue and never fail the predictions of dead letters.`,
        fix: `Set SQS_DLQ_URL to the URL of ${policy.deadLetterTargetArn}, or change the queue: ${setPolicy}`,
      },
    ];
  }
  if (Number(policy.maxReceiveCount) === settings.maxReceiveCount) return [];
  return [
    {
      severity: 'warning',
      problem: `the queue RedrivePolicy maxReceiveCount is ${policy.maxReceiveCount}; QUEUE_MAX_RECEIVE_COUNT says ${settings.maxReceiveCount}: workers judge the last attempt by the setting, the queue dead-letters by its own.`,
      fix: `Set QUEUE_MAX_RECEIVE_COUNT=${policy.maxReceiveCount} to match the queue, or change the queue: ${setPolicy}`,
    },
  ];
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
