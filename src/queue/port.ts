/**
 * The job queue port: Amazon SQS semantics (standard queue with a redrive policy), named without
 * any vendor type so that the worker and API code run unchanged on every adapter.
 */

/** Per-queue settings; the defaults are the production design's (see DEFAULT_QUEUE_SETTINGS). */
export interface QueueSettings {
  /** How long a received message stays invisible to other receivers (0..43,200 s). */
  readonly visibilityTimeoutSeconds: number;
  /** Long-poll wait used when a receive does not say (0..20 s). */
  readonly receiveWaitTimeSeconds: number;
  /** Messages older than this are removed, received or not (60 s..14 days). */
  readonly messageRetentionSeconds: number;
  /** Retention of the dead-letter queue, counted from the original send, as SQS does. */
  readonly deadLetterRetentionSeconds: number;
  /** Receives allowed before the next receive moves the message to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** Largest accepted message (body + attributes), in bytes (1,024..262,144). */
  readonly maxMessageBytes: number;
  /** Delay applied to a send that does not give one (0..900 s). */
  readonly delaySeconds: number;
  /**
   * Messages of one group that may be in flight at once (0: no cap). A group at its cap is
   * passed over by receives until one of its messages is deleted or becomes visible again;
   * messages sent without a group are never capped. Only where `capabilities.groupInFlightCap`.
   */
  readonly maxInFlightPerGroup: number;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = Object.freeze({
  visibilityTimeoutSeconds: 300,
  receiveWaitTimeSeconds: 20,
  messageRetentionSeconds: 4 * 24 * 3600,
  deadLetterRetentionSeconds: 14 * 24 * 3600,
  maxReceiveCount: 3,
  maxMessageBytes: 256 * 1024,
  delaySeconds: 0,
  maxInFlightPerGroup: 0,
});

/** Hard limits of the SQS API that every adapter enforces the same way. */
export const QUEUE_LIMITS = Object.freeze({
  maxBatchEntries: 10,
  maxReceiveMessages: 10,
  maxWaitSeconds: 20,
  maxDelaySeconds: 900,
  maxVisibilitySeconds: 43_200,
  maxBatchEntryIdLength: 80,
  /** SQS's MessageGroupId: 1-128 characters, letters, digits and punctuation. */
  maxGroupIdLength: 128,
});

/** Differences between backends, stated once instead of `if (kind === ...)` across the code. */
export interface QueueCapabilities {
  /** A delete or visibility change with a superseded receipt handle is refused with an error
   *  (SQS may instead accept a stale delete silently without deleting). */
  readonly rejectsStaleReceiptHandles: boolean;
  /** A receive waiting in this process wakes as soon as a send in this process commits. */
  readonly inProcessWakeup: boolean;
  /** `stats()` counts are exact at the moment of the call rather than approximate. */
  readonly exactStats: boolean;
  /**
   * Every receive takes from the group with the fewest messages in flight, the oldest message
   * breaking ties. Otherwise groups are a hint the server may use (SQS fair queues act on them
   * only when one group builds up a backlog, and statistically).
   */
  readonly fairGroupOrder: boolean;
  /** `settings.maxInFlightPerGroup` is enforced (a cap other than 0 is refused where it is not). */
  readonly groupInFlightCap: boolean;
}

export type MessageAttributes = Readonly<Record<string, string>>;

export interface SendMessageInput {
  readonly body: string;
  /** 0..900 s; the message is not receivable before then. */
  readonly delaySeconds?: number;
  readonly attributes?: MessageAttributes;
  /**
   * The message's group for fair scheduling (SQS's MessageGroupId on a standard queue): the
   * owner of the job. Receives share out work across groups instead of oldest first, so one
   * group's backlog does not hold up another group's messages. 1-128 characters from `!` to
   * `~` (printable ASCII without space). Absent: the message is in no group and is taken oldest
   * first among the other groupless ones, as if they were one group that is never capped.
   */
  readonly groupId?: string;
}

export interface SendBatchEntry extends SendMessageInput {
  /** Caller-chosen id, unique within the batch, used to report per-entry results. */
  readonly id: string;
}

export interface SentMessage {
  readonly messageId: string;
}

export interface ReceiveOptions {
  /** 1..10, default 1. */
  readonly maxMessages?: number;
  /** Long poll: 0..20 s, default the queue's receiveWaitTimeSeconds. */
  readonly waitSeconds?: number;
  /** Visibility timeout for these messages, default the queue's. */
  readonly visibilitySeconds?: number;
  /** Aborting ends a long poll early with whatever was received (usually nothing). */
  readonly signal?: AbortSignal;
}

export interface ReceivedMessage {
  /** Transport id; changes when a message is redriven. Never use it as an idempotency key. */
  readonly messageId: string;
  /** Valid for this receive only: a later receive of the same message supersedes it. */
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: MessageAttributes;
  /** ApproximateReceiveCount, including this receive. */
  readonly receiveCount: number;
  readonly sentAt: Date;
  readonly firstReceivedAt: Date;
}

export interface BatchEntryFailure {
  readonly id: string;
  readonly code: string;
  readonly message: string;
  /** True when the entry itself is wrong (retrying it unchanged fails again). */
  readonly senderFault: boolean;
}

export interface BatchResult<T extends object = object> {
  readonly successful: ReadonlyArray<{ readonly id: string } & T>;
  readonly failed: readonly BatchEntryFailure[];
}

export interface QueueDepth {
  /** Receivable now. */
  readonly visible: number;
  /** Received and not yet deleted or timed out. */
  readonly inFlight: number;
  /** Sent with a delay that has not passed yet. */
  readonly delayed: number;
  /** Age of the oldest message in the queue, in seconds; null when empty or unknown. */
  readonly oldestAgeSeconds: number | null;
  /** Why oldestAgeSeconds is null on a non-empty queue (e.g. a backend that cannot tell). */
  readonly oldestAgeUnknownReason?: string;
}

export interface QueueStats extends QueueDepth {
  readonly deadLetter: QueueDepth;
}

/** The reason every adapter records on a message dead-lettered for reaching maxReceiveCount. */
export const RECEIVE_LIMIT_REASON = 'receive limit reached';

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: MessageAttributes;
  readonly receiveCount: number;
  readonly sentAt: Date;
  /** Why it was dead-lettered: receive limit reached, or the reason given by moveToDeadLetter. */
  readonly reason: string;
}

/**
 * A difference between the configured settings and a queue made elsewhere (SQS queues are made
 * by infra/), found at start. `fatal`: the service's guarantees break (dead letters go nowhere or
 * where no worker reads them), so start-up stops; `warning`: it works, but not as configured.
 */
export interface SettingMismatch {
  readonly severity: 'fatal' | 'warning';
  /** What differs: the attribute, the queue's value and the expected one. */
  readonly problem: string;
  /** What to run or set, naming the variable. */
  readonly fix: string;
}

export interface JobQueue {
  readonly name: string;
  readonly settings: QueueSettings;
  readonly capabilities: QueueCapabilities;

  send(input: SendMessageInput): Promise<SentMessage>;
  sendBatch(entries: readonly SendBatchEntry[]): Promise<BatchResult<SentMessage>>;
  receive(options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  /** Acknowledge: the message is gone. Rejects a superseded handle (see capabilities). */
  delete(receiptHandle: string): Promise<void>;
  deleteBatch(
    entries: ReadonlyArray<{ readonly id: string; readonly receiptHandle: string }>,
  ): Promise<BatchResult>;
  /** Heartbeat: the message stays invisible for `seconds` from now; 0 releases it at once. */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
  changeVisibilityBatch(
    entries: ReadonlyArray<{
      readonly id: string;
      readonly receiptHandle: string;
      readonly visibilitySeconds: number;
    }>,
  ): Promise<BatchResult>;
  /** Moves a received message to the dead-letter queue at once (e.g. a forged job), with a reason. */
  moveToDeadLetter(receiptHandle: string, reason: string): Promise<void>;
  stats(): Promise<QueueStats>;
  /** Reads dead letters without consuming them, oldest first. */
  listDeadLetters(options?: { readonly max?: number }): Promise<DeadLetter[]>;
  /** Moves dead letters back to the source queue (all, or the oldest `max`), with new ids. */
  redriveDeadLetters(options?: { readonly max?: number }): Promise<{ readonly moved: number }>;
  /** Removes messages past their retention from the queue and its dead-letter queue. */
  purgeExpired(): Promise<{ readonly removed: number }>;
  /**
   * Compares the queue as it exists with the settings (start-up, worker processes: it may need
   * a permission an API-only role lacks). Absent where the adapter makes its own queue from the
   * settings (SQLite, PostgreSQL), so there is nothing to differ.
   */
  findSettingMismatches?(): Promise<SettingMismatch[]>;
  close(): Promise<void>;
}
