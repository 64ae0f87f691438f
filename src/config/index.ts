import path from 'node:path';
import { z } from 'zod';

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
  QUEUE: z.enum(['sqlite']).default('sqlite'),
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
  QUEUE_POLL_INTERVAL_MS: int(5, 10_000).default(50),
  ALARM_DLQ_DEPTH: int(0, 1_000_000).default(5),
  ALARM_OLDEST_MESSAGE_AGE_S: int(1, 1_209_600).default(1800),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  readonly dataDir: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: Env['LOG_LEVEL'];
  readonly queue: {
    readonly kind: Env['QUEUE'];
    readonly name: string;
    readonly file: string;
    readonly pollIntervalMs: number;
    readonly settings: {
      readonly visibilityTimeoutSeconds: number;
      readonly receiveWaitTimeSeconds: number;
      readonly messageRetentionSeconds: number;
      readonly deadLetterRetentionSeconds: number;
      readonly maxReceiveCount: number;
      readonly maxMessageBytes: number;
    };
  };
  readonly alarms: { readonly deadLetterDepth: number; readonly oldestMessageAgeSeconds: number };
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
  const dataDir = path.resolve(cwd, e.CHURNLINE_DATA_DIR);
  return deepFreeze({
    dataDir,
    http: { host: e.HOST, port: e.PORT },
    logLevel: e.LOG_LEVEL,
    queue: {
      kind: e.QUEUE,
      name: e.QUEUE_NAME,
      file: path.join(dataDir, 'churnline.db'),
      pollIntervalMs: e.QUEUE_POLL_INTERVAL_MS,
      settings: {
        visibilityTimeoutSeconds: e.QUEUE_VISIBILITY_TIMEOUT_S,
        receiveWaitTimeSeconds: e.QUEUE_WAIT_TIME_S,
        messageRetentionSeconds: e.QUEUE_RETENTION_S,
        deadLetterRetentionSeconds: e.QUEUE_DLQ_RETENTION_S,
        maxReceiveCount: e.QUEUE_MAX_RECEIVE_COUNT,
        maxMessageBytes: e.QUEUE_MAX_MESSAGE_BYTES,
      },
    },
    alarms: {
      deadLetterDepth: e.ALARM_DLQ_DEPTH,
      oldestMessageAgeSeconds: e.ALARM_OLDEST_MESSAGE_AGE_S,
    },
  });
}
