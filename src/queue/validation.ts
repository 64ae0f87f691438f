import { invalidParameter, messageTooLarge, QueueError } from './errors.js';
import {
  QUEUE_LIMITS,
  type QueueSettings,
  type ReceiveOptions,
  type SendMessageInput,
} from './port.js';

// SQS accepts only these characters in a body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
// Built from a string so the source holds no control characters.
// biome-ignore lint/complexity/useRegexLiterals: a literal would need the control characters biome forbids
const FORBIDDEN_BODY_CHARS = new RegExp(
  '[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uFFFE\\uFFFF]|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]',
);
/** SQS's rule for MessageGroupId: 1-128 of a-z, A-Z, 0-9 and the punctuation !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~. */
const GROUP_ID = /^[!-~]{1,128}$/;
const ATTRIBUTE_NAME = /^(?!aws\.|amazon\.)[A-Za-z0-9_.-]{1,256}$/i;

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(`${name} must be a whole number from ${min} to ${max}; got ${value}.`);
  }
  return value;
}

/** Size as SQS counts it: the body plus each attribute's name, type ("String") and value. */
export function messageBytes(input: SendMessageInput): number {
  let bytes = Buffer.byteLength(input.body, 'utf8');
  for (const [name, value] of Object.entries(input.attributes ?? {})) {
    bytes += Buffer.byteLength(name, 'utf8') + 6 + Buffer.byteLength(value, 'utf8');
  }
  return bytes;
}

/** Validates one message to send; returns its delay in seconds. */
export function checkSend(input: SendMessageInput, settings: QueueSettings): number {
  if (typeof input.body !== 'string' || input.body.length === 0) {
    throw invalidParameter('Message body must be a non-empty string.');
  }
  if (FORBIDDEN_BODY_CHARS.test(input.body)) {
    throw invalidParameter(
      'Message body contains characters outside those SQS allows (control characters other than tab, LF and CR, or unpaired surrogates). Encode binary data as base64.',
    );
  }
  const attributes = input.attributes ?? {};
  if (Object.keys(attributes).length > 10) {
    throw invalidParameter('A message may carry at most 10 attributes.');
  }
  for (const [name, value] of Object.entries(attributes)) {
    if (!ATTRIBUTE_NAME.test(name)) {
      throw invalidParameter(
        `Attribute name ${JSON.stringify(name)} is invalid: use up to 256 letters, digits, "_", "-" or ".", not starting with "aws." or "amazon.".`,
      );
    }
    if (typeof value !== 'string' || value.length === 0) {
      throw invalidParameter(
        `Attribute ${JSON.stringify(name)} must have a non-empty string value.`,
      );
    }
  }
  if (input.groupId !== undefined && !GROUP_ID.test(input.groupId)) {
    throw invalidParameter(
      `MessageGroupId ${JSON.stringify(input.groupId.slice(0, 200))} is invalid: use 1-${QUEUE_LIMITS.maxGroupIdLength} letters, digits or punctuation (no spaces).`,
    );
  }
  const bytes = messageBytes(input);
  if (bytes > settings.maxMessageBytes) throw messageTooLarge(bytes, settings.maxMessageBytes);
  return integerIn(
    'DelaySeconds',
    input.delaySeconds ?? settings.delaySeconds,
    0,
    QUEUE_LIMITS.maxDelaySeconds,
  );
}

/** Whole-request checks of a batch, as SQS does them (these fail the request, not an entry). */
export function checkBatch(entries: ReadonlyArray<{ id: string }>): void {
  if (entries.length === 0) {
    throw new QueueError('EmptyBatchRequest', 'A batch needs at least one entry.', false);
  }
  if (entries.length > QUEUE_LIMITS.maxBatchEntries) {
    throw new QueueError(
      'TooManyEntriesInBatchRequest',
      `A batch holds at most ${QUEUE_LIMITS.maxBatchEntries} entries; got ${entries.length}. Split it.`,
      false,
    );
  }
  const seen = new Set<string>();
  for (const { id } of entries) {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
      throw new QueueError(
        'InvalidBatchEntryId',
        `Batch entry id ${JSON.stringify(id)} is invalid: use 1-80 letters, digits, hyphens or underscores.`,
        false,
      );
    }
    if (seen.has(id)) {
      throw new QueueError(
        'BatchEntryIdsNotDistinct',
        `Batch entry id ${JSON.stringify(id)} appears twice; ids must be unique within a batch.`,
        false,
      );
    }
    seen.add(id);
  }
}

/** The total size limit of a send batch (SQS: the sum of all entries, same limit as one message). */
export function checkBatchSize(
  entries: readonly SendMessageInput[],
  settings: QueueSettings,
): void {
  const total = entries.reduce((sum, entry) => sum + messageBytes(entry), 0);
  if (total > settings.maxMessageBytes) {
    throw new QueueError(
      'BatchRequestTooLong',
      `The batch totals ${total.toLocaleString('en-US')} bytes; a batch may total at most ${settings.maxMessageBytes.toLocaleString('en-US')} bytes. Send fewer or smaller messages per batch.`,
      false,
    );
  }
}

export function checkVisibility(seconds: number): number {
  return integerIn('VisibilityTimeout', seconds, 0, QUEUE_LIMITS.maxVisibilitySeconds);
}

export interface ResolvedReceive {
  maxMessages: number;
  waitSeconds: number;
  visibilitySeconds: number;
}

export function resolveReceive(options: ReceiveOptions, settings: QueueSettings): ResolvedReceive {
  return {
    maxMessages: integerIn(
      'MaxNumberOfMessages',
      options.maxMessages ?? 1,
      1,
      QUEUE_LIMITS.maxReceiveMessages,
    ),
    waitSeconds: integerIn(
      'WaitTimeSeconds',
      options.waitSeconds ?? settings.receiveWaitTimeSeconds,
      0,
      QUEUE_LIMITS.maxWaitSeconds,
    ),
    visibilitySeconds: checkVisibility(
      options.visibilitySeconds ?? settings.visibilityTimeoutSeconds,
    ),
  };
}

export function resolveSettings(
  overrides: Partial<QueueSettings> = {},
  base: QueueSettings,
): QueueSettings {
  const s = { ...base, ...overrides };
  integerIn(
    'visibilityTimeoutSeconds',
    s.visibilityTimeoutSeconds,
    0,
    QUEUE_LIMITS.maxVisibilitySeconds,
  );
  integerIn('receiveWaitTimeSeconds', s.receiveWaitTimeSeconds, 0, QUEUE_LIMITS.maxWaitSeconds);
  integerIn('messageRetentionSeconds', s.messageRetentionSeconds, 60, 1_209_600);
  integerIn('deadLetterRetentionSeconds', s.deadLetterRetentionSeconds, 60, 1_209_600);
  integerIn('maxReceiveCount', s.maxReceiveCount, 1, 1000);
  integerIn('maxMessageBytes', s.maxMessageBytes, 1024, 262_144);
  integerIn('delaySeconds', s.delaySeconds, 0, QUEUE_LIMITS.maxDelaySeconds);
  integerIn('maxInFlightPerGroup', s.maxInFlightPerGroup, 0, 100_000);
  return Object.freeze(s);
}
