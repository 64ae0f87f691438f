/**
 * Connection settings shared by the SQS and S3 adapters, in plain types so that the configuration
 * and the composition root never need an AWS SDK type.
 */

export interface StaticAwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsClientOptions {
  /** AWS region; absent: the SDK's own chain (AWS_REGION, AWS_DEFAULT_REGION, profile). */
  readonly region?: string;
  /** An SQS/S3-compatible server such as `http://127.0.0.1:4566`; absent: AWS's endpoints. */
  readonly endpoint?: string;
  /**
   * Fixed credentials, for compatible servers; absent: the standard chain (environment, profile,
   * SSO, web identity, ECS task role, EC2 instance role), which also refreshes expiring ones.
   */
  readonly credentials?: StaticAwsCredentials;
  /**
   * Attempts per call, the first included. Throttling, 5xx, timeouts and network errors are
   * retried by the SDK's standard strategy (exponential backoff with jitter, retry quota).
   */
  readonly maxAttempts?: number;
  /** How long to wait for a TCP connection before the attempt fails (retryable). */
  readonly connectionTimeoutMs?: number;
}

export const DEFAULT_MAX_ATTEMPTS = 4;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;

/** The client configuration both SDK clients accept (structurally), built from our options. */
export function sdkClientConfig(options: AwsClientOptions, requestTimeoutMs: number) {
  return {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      // A socket silent for this long fails the attempt; long polls must fit inside it.
      requestTimeout: requestTimeoutMs,
    },
  };
}
