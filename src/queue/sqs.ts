/**
 * JobQueue on Amazon SQS (standard queue whose RedrivePolicy names the dead-letter queue). The
 * queues themselves are made by infra/; this adapter only uses them. The AWS SDK is imported here
 * and nowhere else, and the composition root imports this module only when QUEUE=sqs.
 *
 * IAM actions used: send/sendBatch sqs:SendMessage; receive, delete, changeVisibility (and their
 * batches) sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility; moveToDeadLetter also
 * sqs:SendMessage on the DLQ; stats sqs:GetQueueAttributes on both queues; listDeadLetters
 * sqs:ReceiveMessage on the DLQ; redriveDeadLetters sqs:StartMessageMoveTask,
 * ListMessageMoveTasks, ReceiveMessage, DeleteMessage on the DLQ, SendMessage on the source
 * queue and GetQueueAttributes on both; findSettingMismatches GetQueueAttributes on both.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type AwsClientOptions, sdkClientConfig } from '../aws/client-options.js';
import { invalidParameter, QueueError, receiptHandleInvalid } from './errors.js';
import {
  type BatchResult,
  DEFAULT_QUEUE_SETTINGS,
  type DeadLetter,
  type JobQueue,
  QUEUE_LIMITS,
  type QueueCapabilities,
  type QueueSettings,
  type QueueStats,
  type ReceivedMessage,
  type ReceiveOptions,
  type SendBatchEntry,
  type SendMessageInput,
  type SentMessage,
  type SettingMismatch,
} from './port.js';
import { idsOnly, runBatch } from './sqs-batches.js';
import { SqsDeadLetters } from './sqs-dead-letters.js';
import { type OldestMessageAgeSource, queueDepth } from './sqs-depth.js';
import { sqsErrorToQueueError } from './sqs-errors.js';
import {
  assertNoReservedAttribute,
  SYSTEM_ATTRIBUTES,
  toReceivedMessage,
  toSqsAttributes,
} from './sqs-messages.js';
import { ReceiptBook } from './sqs-receipts.js';
import { findSettingMismatches, requireQueueUrl } from './sqs-verify.js';
import {
  checkBatch,
  checkBatchSize,
  checkSend,
  checkVisibility,
  resolveReceive,
  resolveSettings,
} from './validation.js';

export type { OldestMessageAgeReader, OldestMessageAgeSource } from './sqs-depth.js';

export interface SqsQueueOptions extends AwsClientOptions {
  /** The source queue, e.g. `https://sqs.eu-west-1.amazonaws.com/123456789012/predictions`. */
  readonly queueUrl: string;
  /** The queue its RedrivePolicy dead-letters to. */
  readonly deadLetterQueueUrl: string;
  /** For logs and metrics; default: the last segment of queueUrl. */
  readonly name?: string;
  /**
   * Must describe the queues as infra/ made them: the visibility and wait are request defaults,
   * maxMessageBytes is checked before sending, and maxReceiveCount (the RedrivePolicy's) is the
   * receive count reported for messages the policy dead-lettered.
   */
  readonly settings?: Partial<QueueSettings>;
  /**
   * Age of the oldest message, e.g. from the CloudWatch metric ApproximateAgeOfOldestMessage.
   * Absent: stats() reports the age as unknown, with the reason.
   */
  readonly oldestMessageAge?: OldestMessageAgeSource;
  /** How often redriveDeadLetters checks a StartMessageMoveTask for completion. */
  readonly moveTaskPollIntervalMs?: number;
}

const CAPABILITIES: QueueCapabilities = Object.freeze({
  // SQS accepts a delete with a superseded handle and does not delete (documented behaviour).
  rejectsStaleReceiptHandles: false,
  // A waiting receive is a long poll held by the SQS server; there is nothing to wake here.
  inProcessWakeup: false,
  // The ApproximateNumberOf* attributes are eventually consistent, about a minute behind at worst.
  exactStats: false,
  // Sends carry MessageGroupId, which makes a standard queue a fair queue: when one group builds
  // up a backlog, SQS delivers other groups' messages first, statistically rather than by a
  // fixed order (and fauxqs 1.9.2, the emulator of the tests, accepts the field and ignores it).
  fairGroupOrder: false,
  // SQS has no cap per message group; the configuration refuses one with QUEUE=sqs.
  groupInFlightCap: false,
});

/** Long polls are at most 20 s: a request silent for longer than this has failed. */
const REQUEST_TIMEOUT_MS = (QUEUE_LIMITS.maxWaitSeconds + 10) * 1000;
/** The lease moveToDeadLetter takes while it copies the message, so nobody else receives it. */
const DEAD_LETTERING_LEASE_SECONDS = 60;

export class SqsJobQueue implements JobQueue {
  readonly capabilities = CAPABILITIES;
  readonly name: string;
  readonly settings: QueueSettings;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  private readonly client: SQSClient;
  private readonly receipts = new ReceiptBook();
  private readonly deadLetters: SqsDeadLetters;
  private readonly oldestMessageAge: OldestMessageAgeSource | undefined;
  private readonly closing = new AbortController();
  private readonly handingBack = new Set<Promise<void>>();
  private closed = false;

  constructor(options: SqsQueueOptions) {
    this.queueUrl = requireQueueUrl('queueUrl', options.queueUrl);
    this.deadLetterQueueUrl = requireQueueUrl('deadLetterQueueUrl', options.deadLetterQueueUrl);
    this.name = options.name ?? new URL(this.queueUrl).pathname.split('/').pop() ?? 'queue';
    this.settings = resolveSettings(options.settings, DEFAULT_QUEUE_SETTINGS);
    if (this.settings.maxInFlightPerGroup !== 0) {
      throw invalidParameter(
        'maxInFlightPerGroup must be 0 on SQS: a fair queue has no cap per message group.',
      );
    }
    this.oldestMessageAge = options.oldestMessageAge;
    this.client = new SQSClient(sdkClientConfig(options, REQUEST_TIMEOUT_MS));
    this.deadLetters = new SqsDeadLetters({
      client: this.client,
      queueUrl: this.queueUrl,
      deadLetterQueueUrl: this.deadLetterQueueUrl,
      settings: this.settings,
      moveTaskPollIntervalMs: options.moveTaskPollIntervalMs ?? 1000,
      signal: this.closing.signal,
    });
  }

  async send(input: SendMessageInput): Promise<SentMessage> {
    this.assertOpen();
    const delaySeconds = checkSend(input, this.settings);
    assertNoReservedAttribute(input.attributes);
    const output = await this.call('SendMessage', () =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: input.body,
          DelaySeconds: delaySeconds,
          MessageAttributes: toSqsAttributes(input.attributes),
          MessageGroupId: input.groupId,
        }),
      ),
    );
    return { messageId: output.MessageId ?? '' };
  }

  async sendBatch(entries: readonly SendBatchEntry[]): Promise<BatchResult<SentMessage>> {
    this.assertOpen();
    checkBatch(entries);
    checkBatchSize(entries, this.settings);
    const outcome = await runBatch(
      entries,
      (entry) => {
        const delaySeconds = checkSend(entry, this.settings);
        assertNoReservedAttribute(entry.attributes);
        return delaySeconds;
      },
      (valid) =>
        this.call('SendMessageBatch', () =>
          this.client.send(
            new SendMessageBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: valid.map(({ entry, checked }) => ({
                Id: entry.id,
                MessageBody: entry.body,
                DelaySeconds: checked,
                MessageAttributes: toSqsAttributes(entry.attributes),
                MessageGroupId: entry.groupId,
              })),
            }),
          ),
        ),
    );
    return {
      successful: outcome.successful.map(({ entry, result }) => ({
        id: entry.id,
        messageId: result.MessageId ?? '',
      })),
      failed: outcome.failed,
    };
  }

  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    this.assertOpen();
    const { maxMessages, waitSeconds, visibilitySeconds } = resolveReceive(options, this.settings);
    if (options.signal?.aborted) return [];
    const requestedAt = Date.now();
    // Only close() cuts the request. SQS goes on holding a long poll whose client has gone and
    // hands it the next message, which then stays invisible for the whole visibility timeout (a
    // job sent just after a worker stopped waited 300 s). So a caller's abort returns at once,
    // and the poll is left to end: whatever it receives is given back at once.
    const request = this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: visibilitySeconds,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: [...SYSTEM_ATTRIBUTES],
      }),
      { abortSignal: this.closing.signal },
    );
    const abandoned = options.signal ? untilAborted(options.signal) : undefined;
    let messages: Message[];
    try {
      const output = await (abandoned ? Promise.race([request, abandoned.promise]) : request);
      if (output === ABANDONED) {
        this.handBack(request);
        return [];
      }
      messages = output.Messages ?? [];
    } catch (error) {
      if (this.closing.signal.aborted) return [];
      throw sqsErrorToQueueError(error, 'ReceiveMessage');
    } finally {
      abandoned?.dispose();
    }
    // The lease started no earlier than our request: counting from there errs on the safe side.
    const leaseEndsAt = requestedAt + visibilitySeconds * 1000;
    return messages.map((message) => {
      const received = toReceivedMessage(message);
      const { messageId, body, attributes, receiveCount } = received;
      const sentAt = received.sentAt.getTime();
      this.receipts.hold(received.receiptHandle, {
        messageId,
        body,
        attributes,
        receiveCount,
        sentAt,
        leaseEndsAt,
      });
      return received;
    });
  }

  async delete(receiptHandle: string): Promise<void> {
    this.assertOpen();
    this.assertUnsettled(receiptHandle);
    await this.call('DeleteMessage', () =>
      this.client.send(
        new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }),
      ),
    );
    this.receipts.settle(receiptHandle);
  }

  async deleteBatch(
    entries: ReadonlyArray<{ id: string; receiptHandle: string }>,
  ): Promise<BatchResult> {
    this.assertOpen();
    checkBatch(entries);
    const outcome = await runBatch(
      entries,
      (entry) => this.assertUnsettled(entry.receiptHandle),
      (valid) =>
        this.call('DeleteMessageBatch', () =>
          this.client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: valid.map(({ entry }) => ({
                Id: entry.id,
                ReceiptHandle: entry.receiptHandle,
              })),
            }),
          ),
        ),
    );
    for (const { entry } of outcome.successful) this.receipts.settle(entry.receiptHandle);
    return idsOnly(outcome);
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    this.assertOpen();
    const visibility = checkVisibility(seconds);
    this.assertUnsettled(receiptHandle);
    await this.call('ChangeMessageVisibility', () =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: visibility,
        }),
      ),
    );
    this.receipts.leaseFor(receiptHandle, visibility);
  }

  async changeVisibilityBatch(
    entries: ReadonlyArray<{ id: string; receiptHandle: string; visibilitySeconds: number }>,
  ): Promise<BatchResult> {
    this.assertOpen();
    checkBatch(entries);
    const outcome = await runBatch(
      entries,
      (entry) => {
        this.assertUnsettled(entry.receiptHandle);
        return checkVisibility(entry.visibilitySeconds);
      },
      (valid) =>
        this.call('ChangeMessageVisibilityBatch', () =>
          this.client.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: valid.map(({ entry, checked }) => ({
                Id: entry.id,
                ReceiptHandle: entry.receiptHandle,
                VisibilityTimeout: checked,
              })),
            }),
          ),
        ),
    );
    for (const { entry } of outcome.successful) {
      this.receipts.leaseFor(entry.receiptHandle, entry.visibilitySeconds);
    }
    return idsOnly(outcome);
  }

  /**
   * Sends a copy to the dead-letter queue with the reason, then deletes the original. The lease
   * is extended first: if it is already lost, nothing is copied and the call is refused.
   */
  async moveToDeadLetter(receiptHandle: string, reason: string): Promise<void> {
    this.assertOpen();
    this.assertUnsettled(receiptHandle);
    const held = this.receipts.get(receiptHandle);
    if (!held) {
      throw new QueueError(
        'ReceiptHandleIsInvalid',
        'moveToDeadLetter needs a message this queue object received and still holds: SQS cannot read a message by its receipt handle.',
        false,
      );
    }
    await this.changeVisibility(receiptHandle, DEAD_LETTERING_LEASE_SECONDS);
    await this.deadLetters.sendDeadLetter(held, reason);
    await this.call('DeleteMessage', () =>
      this.client.send(
        new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }),
      ),
    );
    this.receipts.settle(receiptHandle);
  }

  async stats(): Promise<QueueStats> {
    this.assertOpen();
    const depth = (url: string, name: string) =>
      queueDepth({ client: this.client, url, name, oldestMessageAge: this.oldestMessageAge?.read });
    const [main, deadLetter] = await Promise.all([
      depth(this.queueUrl, this.name),
      depth(this.deadLetterQueueUrl, `${this.name} dead-letter queue`),
    ]);
    return { ...main, deadLetter };
  }

  /**
   * Receives from the dead-letter queue with VisibilityTimeout 0, so the messages stay visible.
   * Each listing adds one to their ApproximateReceiveCount in the dead-letter queue (harmless:
   * it has no RedrivePolicy of its own); the receiveCount reported is the source queue's.
   */
  async listDeadLetters(options: { max?: number } = {}): Promise<DeadLetter[]> {
    this.assertOpen();
    return this.deadLetters.list(options.max ?? 100);
  }

  async redriveDeadLetters(options: { max?: number } = {}): Promise<{ moved: number }> {
    this.assertOpen();
    return { moved: await this.deadLetters.redrive(options.max) };
  }

  /**
   * For start-up: each setting that differs from the queues as they exist (sqs-verify.ts), or
   * nothing when they match. Needs sqs:GetQueueAttributes on both queues.
   */
  async findSettingMismatches(): Promise<SettingMismatch[]> {
    this.assertOpen();
    return findSettingMismatches({
      client: this.client,
      queueUrl: this.queueUrl,
      deadLetterQueueUrl: this.deadLetterQueueUrl,
      settings: this.settings,
    });
  }

  /** SQS removes messages past MessageRetentionPeriod itself: there is never anything to do. */
  async purgeExpired(): Promise<{ removed: number }> {
    this.assertOpen();
    return { removed: 0 };
  }

  /** Gives back at once what an abandoned long poll receives; close() waits for these. */
  private handBack(request: Promise<{ Messages?: Message[] }>): void {
    const done = request
      .then(async ({ Messages: messages = [] }) => {
        if (messages.length === 0) return;
        await this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: messages.map((message, i) => ({
              Id: String(i),
              ReceiptHandle: message.ReceiptHandle ?? '',
              VisibilityTimeout: 0,
            })),
          }),
        );
      })
      // Nothing to do: a message not given back reappears after its visibility timeout.
      .catch(() => undefined)
      .finally(() => this.handingBack.delete(done));
    this.handingBack.add(done);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // At most one long poll (20 s) away: a message received by an abandoned poll is given back
    // rather than left invisible for the visibility timeout.
    await Promise.all(this.handingBack);
    this.closing.abort();
    this.client.destroy();
    this.oldestMessageAge?.close?.();
  }

  private async call<T>(action: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw sqsErrorToQueueError(error, action);
    }
  }

  private assertUnsettled(receiptHandle: string): void {
    if (typeof receiptHandle !== 'string' || receiptHandle.length === 0) {
      throw receiptHandleInvalid();
    }
    if (this.receipts.isSettled(receiptHandle)) throw receiptHandleInvalid();
  }

  private assertOpen(): void {
    if (this.closed) throw new QueueError('QueueClosed', `Queue ${this.name} is closed.`, false);
  }
}

const ABANDONED = Symbol('abandoned');

/** A promise of ABANDONED once `signal` aborts; dispose removes the listener. */
function untilAborted(signal: AbortSignal) {
  let onAbort = () => {};
  const promise = new Promise<typeof ABANDONED>((resolve) => {
    onAbort = () => resolve(ABANDONED);
    if (signal.aborted) resolve(ABANDONED);
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
