import { describe, expect, it } from 'vitest';
import { batchEntryFailure, sqsErrorToQueueError } from './sqs-errors.js';

/** An error shaped as the SDK throws it for a service answer (name, $fault, $metadata). */
function serviceError(name: string, status: number, message = name) {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

/** An error shaped as Node's HTTP layer throws it (errno in `code`, no HTTP status). */
function networkError(code: string) {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code, $metadata: {} });
}

describe('sqsErrorToQueueError', () => {
  it('retries throttling, 5xx, timeouts and network errors', () => {
    const transient = [
      serviceError('RequestThrottled', 403),
      serviceError('ThrottlingException', 400),
      serviceError('AWS.SimpleQueueService.RequestThrottled', 403),
      serviceError('OverLimit', 403),
      serviceError('KmsThrottled', 400),
      serviceError('InternalError', 500),
      serviceError('ServiceUnavailable', 503),
      serviceError('Whatever', 429),
      networkError('ECONNRESET'),
      networkError('ECONNREFUSED'),
      networkError('ETIMEDOUT'),
      networkError('EAI_AGAIN'),
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
    ];
    for (const error of transient) {
      expect(sqsErrorToQueueError(error, 'SendMessage').retryable, error.name).toBe(true);
    }
  });

  it('does not retry what SQS refuses as it is', () => {
    const cases: Array<[Error, string]> = [
      [serviceError('ReceiptHandleIsInvalid', 400), 'ReceiptHandleIsInvalid'],
      [serviceError('AWS.SimpleQueueService.MessageNotInflight', 400), 'MessageNotInflight'],
      [serviceError('InvalidParameterValue', 400), 'InvalidParameterValue'],
      [
        serviceError(
          'InvalidParameterValue',
          400,
          'One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.',
        ),
        'MessageTooLarge',
      ],
      [serviceError('AWS.SimpleQueueService.NonExistentQueue', 400), 'QueueDoesNotExist'],
      [serviceError('AccessDenied', 403), 'AccessDenied'],
      [serviceError('InvalidMessageContents', 400), 'InvalidParameterValue'],
    ];
    for (const [error, code] of cases) {
      expect(sqsErrorToQueueError(error, 'SendMessage')).toMatchObject({ code, retryable: false });
    }
  });

  it("maps SQS's answer to a visibility change on an expired or deleted message to MessageNotInflight", () => {
    const expired = serviceError(
      'InvalidParameterValue',
      400,
      'Value AQEB... for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.',
    );
    expect(sqsErrorToQueueError(expired, 'ChangeMessageVisibility')).toMatchObject({
      code: 'MessageNotInflight',
      retryable: false,
    });
    const malformed = serviceError(
      'InvalidParameterValue',
      400,
      'Value x for parameter ReceiptHandle is invalid. Reason: Invalid receipt handle.',
    );
    expect(sqsErrorToQueueError(malformed, 'DeleteMessage').code).toBe('ReceiptHandleIsInvalid');
  });

  it('keeps the SDK error as the cause and names the action', () => {
    const cause = serviceError('InternalError', 500);
    const mapped = sqsErrorToQueueError(cause, 'ReceiveMessage');
    expect(mapped.cause).toBe(cause);
    expect(mapped.message).toMatch(/^SQS ReceiveMessage failed \(InternalError\)/);
  });

  it('maps batch entry failures to port codes', () => {
    expect(
      batchEntryFailure({
        Id: 'a',
        Code: 'InvalidParameterValue',
        Message: 'Value x for parameter ReceiptHandle is invalid.',
        SenderFault: true,
      }),
    ).toEqual({
      id: 'a',
      code: 'ReceiptHandleIsInvalid',
      message: 'Value x for parameter ReceiptHandle is invalid.',
      senderFault: true,
    });
  });
});
