/**
 * Turns what Amazon SQS (or the network under it) answers into QueueErrors that say whether to
 * retry, so that callers never look at AWS error codes.
 */
import { classifyAwsError, isTransient } from '../aws/errors.js';
import { messageNotInFlight, QueueError, receiptHandleInvalid } from './errors.js';
import type { BatchEntryFailure } from './port.js';

/**
 * SQS answers a visibility change on an expired or deleted message with InvalidParameterValue
 * ("Value … for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not
 * available for visibility timeout change."), not with MessageNotInflight.
 */
const NOT_AVAILABLE_FOR_VISIBILITY = /not available for visibility timeout change/i;
const RECEIPT_HANDLE_PARAMETER = /ReceiptHandle/;
const TOO_LARGE = /(shorter than|too long|MessageTooLong|exceeds.*size)/i;

/** Service codes with a port meaning of their own. */
function portCode(code: string, message: string): string {
  if (code === 'ReceiptHandleIsInvalid' || code === 'InvalidIdFormat') {
    return 'ReceiptHandleIsInvalid';
  }
  if (code === 'MessageNotInflight') return 'MessageNotInflight';
  if (code === 'InvalidParameterValue' || code === 'InvalidParameterValueException') {
    if (NOT_AVAILABLE_FOR_VISIBILITY.test(message)) return 'MessageNotInflight';
    if (RECEIPT_HANDLE_PARAMETER.test(message)) return 'ReceiptHandleIsInvalid';
    if (TOO_LARGE.test(message)) return 'MessageTooLarge';
    return 'InvalidParameterValue';
  }
  if (code === 'MessageTooLong') return 'MessageTooLarge';
  if (code === 'NonExistentQueue') return 'QueueDoesNotExist';
  if (code === 'InvalidMessageContents') return 'InvalidParameterValue';
  return code;
}

/** `action` names the SQS call, so that a log line says what failed. */
export function sqsErrorToQueueError(error: unknown, action: string): QueueError {
  if (error instanceof QueueError) return error;
  const failure = classifyAwsError(error);
  const code = portCode(failure.code, failure.message);
  if (code === 'ReceiptHandleIsInvalid') {
    return withCause(receiptHandleInvalid(), error);
  }
  if (code === 'MessageNotInflight') return withCause(messageNotInFlight(), error);
  const retryable = isTransient(failure);
  const advice = retryable
    ? 'it is transient; the SDK already retried with backoff, try again later'
    : code === 'QueueDoesNotExist'
      ? 'check the queue URL and region in the configuration'
      : code === 'AccessDenied' || code === 'InvalidSecurity' || failure.httpStatus === 403
        ? 'the credentials in use lack the permission for this SQS action'
        : 'the request is refused as it is';
  return new QueueError(
    code,
    `SQS ${action} failed (${failure.code}): ${failure.message} (${advice}).`,
    retryable,
    { cause: error },
  );
}

function withCause(base: QueueError, cause: unknown): QueueError {
  return new QueueError(base.code, base.message, base.retryable, { cause });
}

/** A failed batch entry as SQS reports it, in the port's terms. */
export function batchEntryFailure(entry: {
  Id?: string | undefined;
  Code?: string | undefined;
  Message?: string | undefined;
  SenderFault?: boolean | undefined;
}): BatchEntryFailure {
  const message = entry.Message ?? '';
  return {
    id: entry.Id ?? '',
    code: portCode(entry.Code ?? 'InternalError', message),
    message,
    senderFault: entry.SenderFault ?? false,
  };
}

/** A locally refused batch entry (our shared validation) in the port's terms. */
export function localEntryFailure(id: string, error: unknown): BatchEntryFailure {
  if (error instanceof QueueError) {
    return { id, code: error.code, message: error.message, senderFault: !error.retryable };
  }
  return { id, code: 'InternalError', message: String(error), senderFault: false };
}
