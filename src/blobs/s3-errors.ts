/**
 * Turns what S3 (or the network under it) answers into BlobErrors that say whether to retry, so
 * that callers never look at AWS error codes.
 */
import { classifyAwsError, isTransient } from '../aws/errors.js';
import { BlobError, type BlobErrorCode } from './port.js';

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const PERMISSION = new Set([
  'AccessDenied',
  'Forbidden',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'AccountProblem',
  // A KMS key that is disabled, missing or not usable by our role: the operator has to fix it.
  'KMS.DisabledException',
  'KMS.NotFoundException',
  'KMS.KMSInvalidStateException',
  'KMSAccessDenied',
]);

/** `key` is the port's key (without the store's prefix), for a message the operator can act on. */
export function s3ErrorToBlobError(error: unknown, key: string, action: string): BlobError {
  if (error instanceof BlobError) return error;
  const failure = classifyAwsError(error);
  const where = JSON.stringify(key);
  const wrap = (code: BlobErrorCode, message: string, retryable: boolean) =>
    new BlobError(code, `${message} (S3 ${action}: ${failure.code})`, retryable, { cause: error });

  if (
    NOT_FOUND.has(failure.code) ||
    (failure.httpStatus === 404 && failure.code !== 'NoSuchBucket')
  ) {
    return wrap('not_found', `No object under ${where}.`, false);
  }
  if (failure.code === 'NoSuchBucket') {
    return wrap(
      'io',
      'The configured S3 bucket does not exist; check S3_BUCKET and the region.',
      false,
    );
  }
  if (PERMISSION.has(failure.code) || failure.httpStatus === 403) {
    return wrap(
      'permission_denied',
      `S3 refused access to ${where}: the credentials or the bucket's KMS key lack a permission.`,
      false,
    );
  }
  if (failure.code === 'InvalidRange' || failure.httpStatus === 416) {
    return wrap('invalid_range', `The range asked of ${where} starts past its end.`, false);
  }
  if (failure.code === 'EntityTooLarge') {
    return wrap('too_large', `The body for ${where} is larger than S3 accepts.`, false);
  }
  if (failure.code === 'KeyTooLongError') {
    return wrap(
      'invalid_key',
      `${where} with the store's prefix is longer than S3 accepts.`,
      false,
    );
  }
  if (failure.code === 'MetadataTooLarge' || failure.code === 'InvalidArgument') {
    return wrap(
      'invalid_metadata',
      `S3 refused the metadata of ${where}: ${failure.message}`,
      false,
    );
  }
  if (failure.kind === 'throttled') {
    return wrap('busy', `S3 asked to slow down at ${where}; try again.`, true);
  }
  if (failure.kind === 'timeout') return wrap('timeout', `S3 timed out at ${where}.`, true);
  return wrap('io', `S3 failed at ${where}: ${failure.message}`, isTransient(failure));
}
