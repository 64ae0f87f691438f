/**
 * Reads an error thrown by an AWS SDK v3 client (or by the HTTP layer under it) without importing
 * the SDK, so that the queue and blob adapters can decide `retryable` the same way.
 */

export type AwsFailureKind =
  /** The caller aborted the request (AbortSignal): not a failure of the service. */
  | 'aborted'
  /** The service asked us to slow down (throttling, request limits). */
  | 'throttled'
  /** No answer in time (socket or request timeout). */
  | 'timeout'
  /** The connection failed or broke (refused, reset, DNS). */
  | 'network'
  /** The service failed (5xx). */
  | 'server'
  /** The request was refused as it is (4xx): retrying it unchanged fails again. */
  | 'client';

export interface AwsFailure {
  readonly kind: AwsFailureKind;
  /** The service's error code (e.g. `ReceiptHandleIsInvalid`, `NoSuchKey`), or the errno. */
  readonly code: string;
  readonly message: string;
  readonly httpStatus: number | undefined;
}

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'KmsThrottled',
  'KMS.ThrottlingException',
  'OverLimit',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
]);

const TIMEOUT_CODES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'NetworkingError',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** Names of plain JavaScript errors: they say nothing about which service error it was. */
const GENERIC_NAMES = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

export function classifyAwsError(error: unknown): AwsFailure {
  const shape = (error && typeof error === 'object' ? error : {}) as SdkErrorShape;
  const status =
    typeof shape.$metadata?.httpStatusCode === 'number'
      ? shape.$metadata.httpStatusCode
      : undefined;
  // Node's network errors carry the errno in `code`; service errors carry theirs in `name` (the
  // modelled code) or `Code` (the legacy query code some services add).
  const errno = text(shape.code);
  const name = text(shape.name) ?? 'Error';
  const serviceCode = GENERIC_NAMES.has(name) ? text(shape.Code) : name;
  // SQS in query-compatible mode names errors by their legacy code, e.g.
  // `AWS.SimpleQueueService.NonExistentQueue`: the part after the prefix is the code.
  const code = (serviceCode ?? errno)?.replace(/^AWS\.SimpleQueueService\./, '');
  const message = text(shape.message) ?? String(error);
  const failure = (kind: AwsFailureKind, as = code ?? name): AwsFailure => ({
    kind,
    code: as,
    message,
    httpStatus: status,
  });

  if (name === 'AbortError') return failure('aborted', 'AbortError');
  if ((code && THROTTLING_CODES.has(code)) || status === 429) return failure('throttled');
  if ((code && TIMEOUT_CODES.has(code)) || TIMEOUT_CODES.has(name)) return failure('timeout');
  if ((errno && NETWORK_CODES.has(errno)) || NETWORK_CODES.has(name)) return failure('network');
  if (status !== undefined && status >= 500) return failure('server');
  if (shape.$fault === 'server') return failure('server');
  if (status !== undefined || shape.$fault === 'client') return failure('client');
  // No HTTP answer and no known errno: a checksum mismatch is corruption in transit (retry);
  // anything else is a bug on our side that retrying would only repeat.
  if (/checksum/i.test(message)) return failure('network', 'ChecksumMismatch');
  return failure('client');
}

/** True for failures where the same call can succeed later. */
export function isTransient(failure: AwsFailure): boolean {
  return (
    failure.kind === 'throttled' ||
    failure.kind === 'timeout' ||
    failure.kind === 'network' ||
    failure.kind === 'server'
  );
}

/** Codes that say the credentials themselves are unusable: missing, wrong or expired. */
const CREDENTIAL_CODES = new Set([
  'CredentialsProviderError',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
  'InvalidToken',
]);

/**
 * When `error` (or its cause) says the AWS credentials are unusable: one line saying so for
 * `service`, and where credentials come from. Undefined for any other failure.
 */
export function credentialProblem(error: unknown, service: string): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; depth++) {
    const failure = classifyAwsError(e);
    if (CREDENTIAL_CODES.has(failure.code)) {
      return `AWS credentials are unusable for ${service} (${failure.code}: ${failure.message}). They come from the SDK's standard chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the task or instance role; fix or provide them.`;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
