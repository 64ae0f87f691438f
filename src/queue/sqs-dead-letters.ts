/**
 * The dead-letter side of the SQS adapter: sending a rejected message there with its reason,
 * listing without consuming, and moving messages back to the source queue.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { classifyAwsError } from '../aws/errors.js';
import { invalidParameter, QueueError } from './errors.js';
import { type DeadLetter, QUEUE_LIMITS, type QueueSettings, RECEIVE_LIMIT_REASON } from './port.js';
import { sqsErrorToQueueError } from './sqs-errors.js';
import {
  deadLetterAttributes,
  readAttributes,
  SYSTEM_ATTRIBUTES,
  systemNumber,
  toSqsAttributes,
} from './sqs-messages.js';
import type { HeldMessage } from './sqs-receipts.js';

/** Messages being moved stay hidden this long; if a move fails they come back after it. */
const MOVE_VISIBILITY_SECONDS = 30;
/**
 * A short receive on SQS samples only some servers and may answer empty while messages exist;
 * a one-second long poll asks all of them before we conclude the dead-letter queue is drained.
 */
const DRAIN_WAIT_SECONDS = 1;
/** Error codes of servers that do not implement StartMessageMoveTask (fauxqs, ElasticMQ, …). */
const UNSUPPORTED_CODES = new Set([
  'InvalidAction',
  'UnsupportedOperation',
  'AWS.SimpleQueueService.UnsupportedOperation',
  'UnknownOperationException',
  'NotImplemented',
]);

interface DeadLetterOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly settings: QueueSettings;
  readonly moveTaskPollIntervalMs: number;
  /** Aborted when the queue closes: ends a wait for a move task. */
  readonly signal: AbortSignal;
}

export class SqsDeadLetters {
  private moveTaskUnsupported = false;
  private readonly arns = new Map<string, string>();

  constructor(private readonly options: DeadLetterOptions) {}

  private async call<T>(action: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw sqsErrorToQueueError(error, action);
    }
  }

  async sendDeadLetter(held: HeldMessage, reason: string): Promise<void> {
    const { client, deadLetterQueueUrl } = this.options;
    await this.call('SendMessage (to the dead-letter queue)', () =>
      client.send(
        new SendMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MessageBody: held.body,
          MessageAttributes: deadLetterAttributes(held.attributes, {
            reason,
            messageId: held.messageId,
            sentAt: held.sentAt,
            receiveCount: held.receiveCount,
          }),
        }),
      ),
    );
  }

  private receiveDeadLetters(max: number, visibilitySeconds: number, waitSeconds: number) {
    const { client, deadLetterQueueUrl } = this.options;
    return this.call('ReceiveMessage (from the dead-letter queue)', async () => {
      const output = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MaxNumberOfMessages: Math.min(max, QUEUE_LIMITS.maxReceiveMessages),
          VisibilityTimeout: visibilitySeconds,
          WaitTimeSeconds: waitSeconds,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: [...SYSTEM_ATTRIBUTES],
        }),
      );
      return output.Messages ?? [];
    });
  }

  /** Up to `max` dead letters, oldest first (of those one pass of receives could see). */
  async list(max: number): Promise<DeadLetter[]> {
    if (!Number.isInteger(max) || max < 0) {
      throw invalidParameter(`max must be a whole number, zero or more; got ${max}.`);
    }
    const found = new Map<string, DeadLetter>();
    // With VisibilityTimeout 0 a receive may hand out the same messages again: stop once two
    // receives in a row bring nothing new.
    let roundsWithoutNew = 0;
    while (found.size < max && roundsWithoutNew < 2) {
      const wait = found.size === 0 ? DRAIN_WAIT_SECONDS : 0;
      const messages = await this.receiveDeadLetters(max - found.size, 0, wait);
      let fresh = 0;
      for (const message of messages) {
        const dead = this.toDeadLetter(message);
        if (!found.has(dead.messageId)) {
          found.set(dead.messageId, dead);
          fresh++;
        }
      }
      roundsWithoutNew = fresh === 0 ? roundsWithoutNew + 1 : 0;
      if (messages.length === 0) break;
    }
    return [...found.values()]
      .sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime())
      .slice(0, max);
  }

  private toDeadLetter(message: Message): DeadLetter {
    const { attributes, envelope } = readAttributes(message);
    if (envelope) {
      return {
        messageId: envelope.messageId,
        body: message.Body ?? '',
        attributes,
        receiveCount: envelope.receiveCount,
        sentAt: new Date(envelope.sentAt),
        reason: envelope.reason,
      };
    }
    // Moved by the RedrivePolicy: SQS keeps the id and the send time, and the message was
    // received exactly maxReceiveCount times in the source queue (the count SQS shows here
    // also includes receives from the dead-letter queue, listings among them).
    return {
      messageId: message.MessageId ?? '',
      body: message.Body ?? '',
      attributes,
      receiveCount: this.options.settings.maxReceiveCount,
      sentAt: new Date(systemNumber(message, 'SentTimestamp', Date.now())),
      reason: RECEIVE_LIMIT_REASON,
    };
  }

  /**
   * All (max undefined): one StartMessageMoveTask where the server has it, else the loop.
   * A bounded max always uses the loop: a move task's only knob is a rate
   * (MaxNumberOfMessagesPerSecond), it cannot stop after a count.
   */
  async redrive(max: number | undefined): Promise<number> {
    if (max !== undefined && (!Number.isInteger(max) || max < 0)) {
      throw invalidParameter(`max must be a whole number, zero or more; got ${max}.`);
    }
    if (max === undefined && !this.moveTaskUnsupported) {
      const moved = await this.moveWithTask();
      if (moved !== null) return moved;
    }
    return this.moveByCopying(max ?? Number.POSITIVE_INFINITY);
  }

  /** Messages moved by a server-side move task, or null when the server has no move tasks. */
  private async moveWithTask(): Promise<number | null> {
    const { client } = this.options;
    const sourceArn = await this.queueArn(this.options.deadLetterQueueUrl);
    const destinationArn = await this.queueArn(this.options.queueUrl);
    let taskHandle: string | undefined;
    try {
      // The destination is named: without it SQS moves each message back to the queue it was
      // dead-lettered from, which it knows only for messages its RedrivePolicy moved, and the
      // task fails (CouldNotDetermineMessageSource) on those moveToDeadLetter sent.
      const started = await client.send(
        new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }),
      );
      taskHandle = started.TaskHandle;
    } catch (error) {
      const failure = classifyAwsError(error);
      if (UNSUPPORTED_CODES.has(failure.code) || failure.httpStatus === 501) {
        this.moveTaskUnsupported = true;
        return null;
      }
      throw sqsErrorToQueueError(error, 'StartMessageMoveTask');
    }
    for (;;) {
      const listed = await this.call('ListMessageMoveTasks', () =>
        client.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 })),
      );
      const task = (listed.Results ?? []).find((t) => !taskHandle || t.TaskHandle === taskHandle);
      const status = task?.Status;
      if (task && status !== 'RUNNING' && status !== 'CANCELLING') {
        if (status === 'FAILED') {
          throw new QueueError(
            'MoveTaskFailed',
            `The dead-letter move task failed: ${task.FailureReason ?? 'no reason given'}.`,
            true,
          );
        }
        return task.ApproximateNumberOfMessagesMoved ?? 0;
      }
      await sleep(this.options.moveTaskPollIntervalMs, this.options.signal);
    }
  }

  private async queueArn(url: string): Promise<string> {
    const known = this.arns.get(url);
    if (known) return known;
    const output = await this.call('GetQueueAttributes', () =>
      this.options.client.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
      ),
    );
    const arn = output.Attributes?.QueueArn;
    if (!arn) throw new QueueError('QueueDoesNotExist', `The queue ${url} has no ARN.`, false);
    this.arns.set(url, arn);
    return arn;
  }

  /**
   * Receive from the dead-letter queue, send to the source queue (a new message: new id, receive
   * count 0), delete from the dead-letter queue. A crash between send and delete leaves a copy in
   * both; handlers are idempotent, so that is safe.
   */
  private async moveByCopying(max: number): Promise<number> {
    const { client, queueUrl, deadLetterQueueUrl } = this.options;
    let moved = 0;
    while (moved < max) {
      const messages = await this.receiveDeadLetters(
        Math.min(max - moved, QUEUE_LIMITS.maxReceiveMessages),
        MOVE_VISIBILITY_SECONDS,
        DRAIN_WAIT_SECONDS,
      );
      if (messages.length === 0) break;
      const entries = messages.map((message, index) => ({ id: `m${index}`, message }));
      const sent = await this.call('SendMessageBatch (redrive)', () =>
        client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: entries.map(({ id, message }) => ({
              Id: id,
              MessageBody: message.Body ?? '',
              MessageAttributes: toSqsAttributes(readAttributes(message).attributes),
            })),
          }),
        ),
      );
      const sentIds = new Set((sent.Successful ?? []).map((ok) => ok.Id));
      const toDelete = entries.filter(({ id }) => sentIds.has(id));
      if (toDelete.length > 0) {
        await this.call('DeleteMessageBatch (redrive)', () =>
          client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: deadLetterQueueUrl,
              Entries: toDelete.map(({ id, message }) => ({
                Id: id,
                ReceiptHandle: message.ReceiptHandle ?? '',
              })),
            }),
          ),
        );
      }
      moved += toDelete.length;
      const refused = sent.Failed ?? [];
      if (refused.length > 0) {
        throw new QueueError(
          'RedriveIncomplete',
          `Moved ${moved} dead letters, then the source queue refused ${refused.length}: ${refused.map((f) => `${f.Code}: ${f.Message}`).join('; ')}. They stay in the dead-letter queue (visible again in ${MOVE_VISIBILITY_SECONDS} s).`,
          refused.every((f) => !f.SenderFault),
        );
      }
    }
    return moved;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(
        new QueueError('QueueClosed', 'The queue closed while waiting for a move task.', false),
      );
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(
        new QueueError('QueueClosed', 'The queue closed while waiting for a move task.', false),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
