import path from 'node:path';
import { z } from 'zod';
import { type QuotaConfig, quotaConfig, quotaEnv } from './quotas.js';

/** Thrown for a bad environment value; the message names the variable and how to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const int = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

/**
 * Every setting Churnline reads from the environment, with the production design's defaults.
 * Keys are the environment variable names so that an error can name the variable at fault.
 */
const envSchema = z.object({
  CHURNLINE_DATA_DIR: z.string().min(1).default('.churnline'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z
    .string()
    .regex(
      /^postgres(ql)?:\/\//,
      'must be a postgres:// URL (leave unset for SQLite in the data directory)',
    )
    .optional(),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  QUEUE: z.enum(['sqlite', 'postgres', 'sqs']).default('sqlite'),
  SQS_QUEUE_URL: z
    .url({ protocol: /^https?$/, error: 'must be the queue URL (https://sqs...)' })
    .optional(),
  SQS_DLQ_URL: z
    .url({ protocol: /^https?$/, error: 'must be the dead-letter queue URL' })
    .optional(),
  BLOBS: z.enum(['fs', 's3']).default('fs'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
    .optional(),
  S3_PREFIX: z
    .string()
    .regex(
      /^([A-Za-z0-9_.@-]+\/)*$/,
      'must be empty or whole path segments ending in "/", e.g. churnline/',
    )
    .default(''),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false'),
  S3_SSE: z.enum(['AES256', 'aws:kms']).default('AES256'),
  S3_SSE_KMS_KEY_ID: z.string().optional(),
  AWS_REGION: z.string().optional(),
  AWS_ENDPOINT_URL: z.url({ error: 'must be a URL' }).optional(),
  AWS_ENDPOINT_URL_SQS: z.url({ error: 'must be a URL' }).optional(),
  AWS_ENDPOINT_URL_S3: z.url({ error: 'must be a URL' }).optional(),
  AWS_ENDPOINT_URL_CLOUDWATCH: z.url({ error: 'must be a URL' }).optional(),
  SQS_OLDEST_AGE_SOURCE: z.enum(['none', 'cloudwatch']).default('none'),
  QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,80}$/, 'use 1-80 letters, digits, hyphens or underscores')
    .default('predictions'),
  QUEUE_VISIBILITY_TIMEOUT_S: int(0, 43_200).default(300),
  QUEUE_WAIT_TIME_S: int(0, 20).default(20),
  QUEUE_RETENTION_S: int(60, 1_209_600).default(345_600),
  QUEUE_DLQ_RETENTION_S: int(60, 1_209_600).default(1_209_600),
  QUEUE_MAX_RECEIVE_COUNT: int(1, 1000).default(3),
  QUEUE_MAX_MESSAGE_BYTES: int(1024, 262_144).default(262_144),
  QUEUE_POLL_INTERVAL_MS: int(5, 10_000).optional(),
  QUEUE_MAX_IN_FLIGHT_PER_GROUP: int(0, 100_000).default(0),
  ALARM_DLQ_DEPTH: int(0, 1_000_000).default(5),
  ALARM_OLDEST_MESSAGE_AGE_S: int(1, 1_209_600).default(1800),
  ALARM_OUTBOX_PENDING: int(0, 1_000_000).default(100),
  ALARM_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  MONITOR_INTERVAL_S: int(1, 3600).default(15),
  WORKER_CONCURRENCY: int(1, 64).default(2),
  SHUTDOWN_DEADLINE_S: int(0, 3600).default(30),
  UPLOAD_MAX_BYTES: int(1024, 10 * 1024 ** 3).default(5 * 1024 ** 3),
  SCORE_CHUNK_BYTES: int(0, 10 * 1024 ** 3)
    .refine((bytes) => bytes === 0 || bytes >= 1024 ** 2, {
      error: 'must be 0 (never split a file) or at least 1048576 (1 MiB)',
    })
    .default(32 * 1024 ** 2),
  JOB_SIGNING_KEYS: z.string().optional(),
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  AUTH_ISSUER: z.string().optional(),
  AUTH_AUDIENCE: z.string().optional(),
  AUTH_KEY_FILE: z.string().optional(),
  AUTH_AUDIENCE_CLAIM: z.enum(['aud', 'azp', 'client_id']).default('aud'),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: z
    .enum(['true', 'false'], {
      error:
        'must be true or false; true lets users send webhooks to loopback, private and link-local addresses (this machine, your network, cloud metadata): only for tests and closed networks',
    })
    .default('false'),
  WEBHOOK_ALLOW_HTTP: z
    .enum(['true', 'false'], {
      error: 'must be true or false; true accepts plain http:// webhook URLs besides https://',
    })
    .default('false'),
  ...quotaEnv,
});

export type Env = z.infer<typeof envSchema>;

export interface QueueSettingsConfig {
  readonly visibilityTimeoutSeconds: number;
  readonly receiveWaitTimeSeconds: number;
  readonly messageRetentionSeconds: number;
  readonly deadLetterRetentionSeconds: number;
  readonly maxReceiveCount: number;
  readonly maxMessageBytes: number;
  /** Jobs of one user running at once (0: no cap); SQLite and PostgreSQL queues only. */
  readonly maxInFlightPerGroup: number;
}

/** Region and endpoint; credentials always come from the AWS SDK's standard chain. */
export interface AwsConfig {
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
}

interface QueueCommon {
  readonly name: string;
  readonly pollIntervalMs: number;
  readonly settings: QueueSettingsConfig;
}

export type QueueConfig =
  | (QueueCommon & { readonly kind: 'sqlite'; readonly file: string })
  | (QueueCommon & { readonly kind: 'postgres'; readonly url: string })
  | (QueueCommon & {
      readonly kind: 'sqs';
      readonly queueUrl: string;
      readonly deadLetterQueueUrl: string;
      readonly aws: AwsConfig;
      /** Where the age of the oldest message comes from (SQS has no attribute for it). */
      readonly oldestAge:
        | { readonly kind: 'none' }
        | { readonly kind: 'cloudwatch'; readonly aws: AwsConfig };
    });

export interface Config {
  readonly dataDir: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: Env['LOG_LEVEL'];
  readonly queue: QueueConfig;
  readonly database:
    | { readonly kind: 'sqlite'; readonly file: string }
    | { readonly kind: 'postgres'; readonly url: string; readonly poolSize: number };
  readonly blobs:
    | { readonly kind: 'fs'; readonly root: string }
    | {
        readonly kind: 's3';
        readonly bucket: string;
        readonly prefix: string;
        readonly forcePathStyle: boolean;
        readonly serverSideEncryption:
          | { readonly kind: 'AES256' }
          | { readonly kind: 'aws:kms'; readonly keyId?: string };
        readonly aws: AwsConfig;
      };
  readonly alarms: {
    readonly deadLetterDepth: number;
    readonly oldestMessageAgeSeconds: number;
    readonly outboxPending: number;
    readonly webhookUrl: string | undefined;
  };
  readonly monitorIntervalSeconds: number;
  readonly worker: { readonly concurrency: number; readonly shutdownDeadlineSeconds: number };
  readonly uploads: { readonly maxBytes: number };
  /**
   * A file larger than `chunkBytes` is scored in chunks of about that size, by any workers in
   * parallel (src/jobs/chunks.ts); 0 scores every file in one job.
   */
  readonly scoring: { readonly chunkBytes: number };
  /** Per-user limits: stored bytes, uploads a day, active jobs, request rate (quotas.ts). */
  readonly quotas: QuotaConfig;
  /** Where users' webhooks may go (src/webhooks/target.ts). */
  readonly webhooks: { readonly allowPrivate: boolean; readonly allowHttp: boolean };
  /** JOB_SIGNING_KEYS as given; absent means a local key in the data directory. */
  readonly jobSigningKeys: string | undefined;
  readonly auth:
    | {
        readonly mode: 'local';
        /** AUTH_KEY_FILE: a key pair shared by several machines; absent: the data directory's key. */
        readonly keyFile?: string;
      }
    | {
        readonly mode: 'jwks';
        readonly jwksUrl: string;
        readonly issuer: string;
        readonly audience: string;
        /** aud (Auth0, Cognito ID tokens), azp (Clerk session tokens), client_id (Cognito access tokens). */
        readonly audienceClaim: 'aud' | 'azp' | 'client_id';
      };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Parses the environment into a frozen Config, or throws a ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined>, cwd = process.cwd()): Config {
  // An empty variable means "not set", as in most twelve-factor tools.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0]);
      const shown = env[variable] === undefined ? '' : ` (got ${JSON.stringify(env[variable])})`;
      return `${variable}${shown}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.QUEUE_DLQ_RETENTION_S < e.QUEUE_RETENTION_S) {
    throw new ConfigError(
      `Invalid configuration:\n  QUEUE_DLQ_RETENTION_S (got ${e.QUEUE_DLQ_RETENTION_S}): must be at least QUEUE_RETENTION_S (${e.QUEUE_RETENTION_S}), as in SQS, because a message keeps its original send time when it is dead-lettered`,
    );
  }
  if (e.AUTH_JWKS_URL && e.AUTH_KEY_FILE) {
    throw new ConfigError(
      'Invalid configuration:\n  AUTH_KEY_FILE and AUTH_JWKS_URL are both set: tokens come either from a key pair of your own (AUTH_KEY_FILE) or from your identity provider (AUTH_JWKS_URL); unset one',
    );
  }
  if (e.AUTH_JWKS_URL && (!e.AUTH_ISSUER || !e.AUTH_AUDIENCE)) {
    throw new ConfigError(
      `Invalid configuration:\n  AUTH_JWKS_URL is set, so AUTH_ISSUER and AUTH_AUDIENCE must be set too (your identity provider's issuer URL and this API's audience); missing: ${[!e.AUTH_ISSUER && 'AUTH_ISSUER', !e.AUTH_AUDIENCE && 'AUTH_AUDIENCE'].filter(Boolean).join(', ')}`,
    );
  }
  const missing = (variable: string, because: string, fix: string) =>
    new ConfigError(`Invalid configuration:\n  ${variable} is not set: ${because}; ${fix}`);
  if (e.QUEUE === 'postgres' && !e.DATABASE_URL) {
    throw missing(
      'DATABASE_URL',
      'QUEUE=postgres keeps jobs in the PostgreSQL database',
      'set DATABASE_URL=postgres://... or use QUEUE=sqlite',
    );
  }
  if (e.QUEUE === 'sqs' && (!e.SQS_QUEUE_URL || !e.SQS_DLQ_URL)) {
    throw missing(
      [!e.SQS_QUEUE_URL && 'SQS_QUEUE_URL', !e.SQS_DLQ_URL && 'SQS_DLQ_URL']
        .filter(Boolean)
        .join(' and '),
      'QUEUE=sqs needs the queue and its dead-letter queue',
      'set both to the queue URLs (the CDK app in infra/ outputs them)',
    );
  }
  if (e.BLOBS === 's3' && !e.S3_BUCKET) {
    throw missing(
      'S3_BUCKET',
      'BLOBS=s3 stores uploads and results in a bucket',
      'set S3_BUCKET to its name',
    );
  }
  if (e.S3_SSE_KMS_KEY_ID && e.S3_SSE !== 'aws:kms') {
    throw new ConfigError(
      'Invalid configuration:\n  S3_SSE_KMS_KEY_ID is set but S3_SSE is not aws:kms; set S3_SSE=aws:kms or remove the key id',
    );
  }
  if (e.SQS_OLDEST_AGE_SOURCE === 'cloudwatch' && e.QUEUE !== 'sqs') {
    throw new ConfigError(
      `Invalid configuration:\n  SQS_OLDEST_AGE_SOURCE=cloudwatch with QUEUE=${e.QUEUE}: only Amazon SQS needs CloudWatch for the age of the oldest message; remove SQS_OLDEST_AGE_SOURCE or set QUEUE=sqs`,
    );
  }
  if (e.QUEUE_MAX_IN_FLIGHT_PER_GROUP > 0 && e.QUEUE === 'sqs') {
    throw new ConfigError(
      `Invalid configuration:\n  QUEUE_MAX_IN_FLIGHT_PER_GROUP (got ${e.QUEUE_MAX_IN_FLIGHT_PER_GROUP}) with QUEUE=sqs: SQS fair queues share work out across users but have no cap per user; remove QUEUE_MAX_IN_FLIGHT_PER_GROUP or set it to 0`,
    );
  }
  if (e.DATABASE_URL && e.QUEUE === 'sqlite') {
    throw new ConfigError(
      'Invalid configuration:\n  QUEUE=sqlite with DATABASE_URL: the SQLite queue lives on one machine while PostgreSQL is for many; set QUEUE=postgres (or QUEUE=sqs)',
    );
  }
  const dataDir = path.resolve(cwd, e.CHURNLINE_DATA_DIR);
  const aws = (serviceEndpoint: string | undefined): AwsConfig => ({
    region: e.AWS_REGION,
    endpoint: serviceEndpoint ?? e.AWS_ENDPOINT_URL,
  });
  const queueCommon: QueueCommon = {
    name: e.QUEUE_NAME,
    // PostgreSQL wakes waiting receivers with NOTIFY, so its poll is only a fallback.
    pollIntervalMs: e.QUEUE_POLL_INTERVAL_MS ?? (e.QUEUE === 'postgres' ? 1000 : 50),
    settings: {
      visibilityTimeoutSeconds: e.QUEUE_VISIBILITY_TIMEOUT_S,
      receiveWaitTimeSeconds: e.QUEUE_WAIT_TIME_S,
      messageRetentionSeconds: e.QUEUE_RETENTION_S,
      deadLetterRetentionSeconds: e.QUEUE_DLQ_RETENTION_S,
      maxReceiveCount: e.QUEUE_MAX_RECEIVE_COUNT,
      maxMessageBytes: e.QUEUE_MAX_MESSAGE_BYTES,
      maxInFlightPerGroup: e.QUEUE_MAX_IN_FLIGHT_PER_GROUP,
    },
  };
  const queue: QueueConfig =
    e.QUEUE === 'sqs'
      ? {
          ...queueCommon,
          kind: 'sqs',
          queueUrl: e.SQS_QUEUE_URL as string,
          deadLetterQueueUrl: e.SQS_DLQ_URL as string,
          aws: aws(e.AWS_ENDPOINT_URL_SQS),
          oldestAge:
            e.SQS_OLDEST_AGE_SOURCE === 'cloudwatch'
              ? { kind: 'cloudwatch', aws: aws(e.AWS_ENDPOINT_URL_CLOUDWATCH) }
              : { kind: 'none' },
        }
      : e.QUEUE === 'postgres'
        ? { ...queueCommon, kind: 'postgres', url: e.DATABASE_URL as string }
        : // Its own file: the queue's short synchronous transactions never wait on an open
          // application transaction in the same process (SQLite has one writer per file).
          { ...queueCommon, kind: 'sqlite', file: path.join(dataDir, 'queue.db') };
  return deepFreeze({
    dataDir,
    http: { host: e.HOST, port: e.PORT },
    logLevel: e.LOG_LEVEL,
    queue,
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE }
      : { kind: 'sqlite', file: path.join(dataDir, 'churnline.db') },
    blobs:
      e.BLOBS === 's3'
        ? {
            kind: 's3',
            bucket: e.S3_BUCKET as string,
            prefix: e.S3_PREFIX,
            forcePathStyle: e.S3_FORCE_PATH_STYLE === 'true',
            serverSideEncryption:
              e.S3_SSE === 'aws:kms'
                ? {
                    kind: 'aws:kms',
                    ...(e.S3_SSE_KMS_KEY_ID ? { keyId: e.S3_SSE_KMS_KEY_ID } : {}),
                  }
                : { kind: 'AES256' },
            aws: aws(e.AWS_ENDPOINT_URL_S3),
          }
        : { kind: 'fs', root: path.join(dataDir, 'blobs') },
    alarms: {
      deadLetterDepth: e.ALARM_DLQ_DEPTH,
      oldestMessageAgeSeconds: e.ALARM_OLDEST_MESSAGE_AGE_S,
      outboxPending: e.ALARM_OUTBOX_PENDING,
      webhookUrl: e.ALARM_WEBHOOK_URL,
    },
    monitorIntervalSeconds: e.MONITOR_INTERVAL_S,
    worker: { concurrency: e.WORKER_CONCURRENCY, shutdownDeadlineSeconds: e.SHUTDOWN_DEADLINE_S },
    uploads: { maxBytes: e.UPLOAD_MAX_BYTES },
    scoring: { chunkBytes: e.SCORE_CHUNK_BYTES },
    quotas: quotaConfig(e),
    webhooks: {
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true',
      allowHttp: e.WEBHOOK_ALLOW_HTTP === 'true',
    },
    jobSigningKeys: e.JOB_SIGNING_KEYS,
    auth:
      e.AUTH_JWKS_URL && e.AUTH_ISSUER && e.AUTH_AUDIENCE
        ? {
            mode: 'jwks',
            jwksUrl: e.AUTH_JWKS_URL,
            issuer: e.AUTH_ISSUER,
            audience: e.AUTH_AUDIENCE,
            audienceClaim: e.AUTH_AUDIENCE_CLAIM,
          }
        : {
            mode: 'local',
            ...(e.AUTH_KEY_FILE ? { keyFile: path.resolve(cwd, e.AUTH_KEY_FILE) } : {}),
          },
  });
}
