/**
 * Queue errors carry an SQS-style code and say whether retrying the same call can succeed, so that
 * callers decide on `retryable`, never on the backend.
 */
export class QueueError extends Error {
  override name = 'QueueError';
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const invalidParameter = (message: string) =>
  new QueueError('InvalidParameterValue', message, false);

export const messageTooLarge = (bytes: number, limit: number) =>
  new QueueError(
    'MessageTooLarge',
    `Message is ${bytes.toLocaleString('en-US')} bytes; the queue accepts at most ${limit.toLocaleString('en-US')} bytes (${Math.floor(limit / 1024)} KiB). Put large payloads in the blob store and send their key instead.`,
    false,
  );

export const receiptHandleInvalid = () =>
  new QueueError(
    'ReceiptHandleIsInvalid',
    'The receipt handle is not valid for any message in flight: the message was deleted, or it was received again and only the newest receipt handle counts.',
    false,
  );

export const messageNotInFlight = () =>
  new QueueError(
    'MessageNotInflight',
    'The message is not in flight: its visibility timeout already expired. Receive it again to get a new receipt handle.',
    false,
  );
