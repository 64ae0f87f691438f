/**
 * How port messages are written to and read from SQS: string attributes, and the one attribute
 * that carries what a dead letter must remember (SQS has no field for a reason, and a message
 * sent to the dead-letter queue by us gets a new id and send time).
 */
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { invalidParameter } from './errors.js';
import type { MessageAttributes, ReceivedMessage } from './port.js';

/** Reserved: a send may not use it, and receives never show it. */
export const DEAD_LETTER_ATTRIBUTE = 'ChurnlineDeadLetter';
/** SQS refuses more message attributes than this. */
const MAX_ATTRIBUTES = 10;
/** Longest reason kept, so the attribute stays small next to a large body. */
const MAX_REASON_LENGTH = 1000;

export const SYSTEM_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'ApproximateFirstReceiveTimestamp',
] as const;

/** What a message dead-lettered by moveToDeadLetter remembers of its life in the source queue. */
export interface DeadLetterEnvelope {
  readonly reason: string;
  readonly messageId: string;
  readonly sentAt: number;
  readonly receiveCount: number;
  /**
   * The message's own attributes when they leave no room for this one (SQS allows 10): then
   * they travel inside the envelope and are restored on every read.
   */
  readonly attributes?: MessageAttributes;
}

export function assertNoReservedAttribute(attributes: MessageAttributes | undefined): void {
  if (attributes && DEAD_LETTER_ATTRIBUTE in attributes) {
    throw invalidParameter(
      `Attribute name ${DEAD_LETTER_ATTRIBUTE} is reserved by the SQS adapter for dead-letter reasons.`,
    );
  }
}

export function toSqsAttributes(
  attributes: MessageAttributes | undefined,
): Record<string, MessageAttributeValue> | undefined {
  const entries = Object.entries(attributes ?? {});
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}

export interface ReadAttributes {
  readonly attributes: MessageAttributes;
  readonly envelope?: DeadLetterEnvelope;
}

/** The port's attributes of a received message, and the dead-letter envelope if it has one. */
export function readAttributes(message: Message): ReadAttributes {
  const attributes: Record<string, string> = {};
  let envelope: DeadLetterEnvelope | undefined;
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (name === DEAD_LETTER_ATTRIBUTE) {
      envelope = parseEnvelope(value.StringValue);
    } else if (value.StringValue !== undefined) {
      // String and Number types (and their custom subtypes) carry text; we never send Binary.
      attributes[name] = value.StringValue;
    }
  }
  if (envelope?.attributes) Object.assign(attributes, envelope.attributes);
  return envelope ? { attributes, envelope } : { attributes };
}

function parseEnvelope(json: string | undefined): DeadLetterEnvelope | undefined {
  if (json === undefined) return undefined;
  try {
    const value = JSON.parse(json) as Partial<DeadLetterEnvelope>;
    if (
      typeof value.reason === 'string' &&
      typeof value.messageId === 'string' &&
      typeof value.sentAt === 'number' &&
      typeof value.receiveCount === 'number'
    ) {
      return value as DeadLetterEnvelope;
    }
  } catch {
    // Not ours after all (someone else set the attribute): treat the message as a plain one.
  }
  return undefined;
}

/** The attributes of a message sent to the dead-letter queue: its own plus the envelope. */
export function deadLetterAttributes(
  own: MessageAttributes,
  envelope: Omit<DeadLetterEnvelope, 'attributes'>,
): Record<string, MessageAttributeValue> {
  const trimmed = {
    ...envelope,
    reason: envelope.reason.slice(0, MAX_REASON_LENGTH) || 'rejected',
  };
  const fits = Object.keys(own).length < MAX_ATTRIBUTES;
  const carried: DeadLetterEnvelope = fits ? trimmed : { ...trimmed, attributes: own };
  return {
    ...(fits ? toSqsAttributes(own) : {}),
    [DEAD_LETTER_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(carried) },
  };
}

/** A whole-number system attribute, or `fallback` when the server did not send it. */
export function systemNumber(message: Message, name: string, fallback: number): number {
  const raw = message.Attributes?.[name as keyof NonNullable<Message['Attributes']>];
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(value) ? value : fallback;
}

/** A received message as the port shows it. */
export function toReceivedMessage(message: Message): ReceivedMessage {
  const sentAt = systemNumber(message, 'SentTimestamp', Date.now());
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: readAttributes(message).attributes,
    receiveCount: systemNumber(message, 'ApproximateReceiveCount', 1),
    sentAt: new Date(sentAt),
    firstReceivedAt: new Date(systemNumber(message, 'ApproximateFirstReceiveTimestamp', sentAt)),
  };
}
