import { describe, expect, it } from 'vitest';
import { BlobError } from './port.js';
import { s3ErrorToBlobError } from './s3-errors.js';

/** An error shaped as the SDK throws it for a service answer (name, $fault, $metadata). */
function serviceError(name: string, status: number) {
  return Object.assign(new Error(name), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

const mapped = (error: unknown) => s3ErrorToBlobError(error, 'users/u/uploads/x.csv', 'GetObject');

describe('s3ErrorToBlobError', () => {
  it('maps what S3 answers to BlobError codes that say whether to retry', () => {
    const cases: Array<[unknown, string, boolean]> = [
      [serviceError('NoSuchKey', 404), 'not_found', false],
      [serviceError('NotFound', 404), 'not_found', false],
      [serviceError('NoSuchBucket', 404), 'io', false],
      [serviceError('AccessDenied', 403), 'permission_denied', false],
      [serviceError('KMS.DisabledException', 400), 'permission_denied', false],
      [serviceError('EntityTooLarge', 400), 'too_large', false],
      [serviceError('KeyTooLongError', 400), 'invalid_key', false],
      [serviceError('MetadataTooLarge', 400), 'invalid_metadata', false],
      [serviceError('SlowDown', 503), 'busy', true],
      [serviceError('RequestTimeout', 400), 'timeout', true],
      [serviceError('InternalError', 500), 'io', true],
      [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'io', true],
      [Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'timeout', true],
    ];
    for (const [error, code, retryable] of cases) {
      const result = mapped(error);
      expect(result).toBeInstanceOf(BlobError);
      expect({ code: result.code, retryable: result.retryable }, String(error)).toEqual({
        code,
        retryable,
      });
      expect(result.cause).toBe(error);
    }
  });

  it('passes a BlobError through unchanged', () => {
    const error = new BlobError('too_large', 'over the limit', false);
    expect(mapped(error)).toBe(error);
  });
});
