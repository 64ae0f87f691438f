import { parseConfig } from '../../src/config/index.js';

/**
 * Per-environment sizing and safety settings. Everything that differs between staging and
 * production lives here, so a reviewer can compare the two side by side.
 */
export type EnvironmentName = 'staging' | 'prod';

export const environmentNames: readonly EnvironmentName[] = ['staging', 'prod'];

export interface EnvironmentSettings {
  readonly name: EnvironmentName;
  /** One NAT gateway per AZ in production so losing an AZ does not cut egress to the JWKS host. */
  readonly natGateways: number;
  readonly database: {
    /** RDS instance class, e.g. `t4g.micro`; see the cost estimate in infra/README.md. */
    readonly instanceType: string;
    readonly multiAz: boolean;
    readonly allocatedStorageGiB: number;
    readonly maxAllocatedStorageGiB: number;
    readonly backupRetentionDays: number;
    readonly deletionProtection: boolean;
  };
  readonly api: {
    readonly cpu: number;
    readonly memoryMiB: number;
    readonly minTasks: number;
    readonly maxTasks: number;
  };
  readonly worker: {
    readonly cpu: number;
    readonly memoryMiB: number;
    readonly maxTasks: number;
  };
  /** Days after which result objects are deleted (customers download results soon after). */
  readonly results: { readonly expireAfterDays: number };
  readonly logRetentionDays: number;
  /** Keep data (bucket, database snapshot, logs) when the stack is deleted. */
  readonly retainData: boolean;
}

const staging: EnvironmentSettings = {
  name: 'staging',
  natGateways: 1,
  database: {
    instanceType: 't4g.micro',
    multiAz: false,
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 50,
    backupRetentionDays: 7,
    deletionProtection: false,
  },
  api: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 2 },
  worker: { cpu: 1024, memoryMiB: 2048, maxTasks: 2 },
  results: { expireAfterDays: 90 },
  logRetentionDays: 30,
  retainData: false,
};

const prod: EnvironmentSettings = {
  name: 'prod',
  natGateways: 2,
  database: {
    instanceType: 't4g.small',
    multiAz: true,
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 200,
    backupRetentionDays: 14,
    deletionProtection: true,
  },
  api: { cpu: 512, memoryMiB: 1024, minTasks: 2, maxTasks: 6 },
  worker: { cpu: 1024, memoryMiB: 2048, maxTasks: 10 },
  results: { expireAfterDays: 365 },
  logRetentionDays: 90,
  retainData: true,
};

export function settingsFor(name: string): EnvironmentSettings {
  if (name === 'prod') return prod;
  if (name === 'staging') return staging;
  throw new Error(`Unknown environment "${name}": pass -c env=prod or -c env=staging`);
}

/**
 * The service's own defaults (src/config) are the one definition of the queue settings and the
 * alarm thresholds: the SQS queues get exactly what the embedded queue does, and CloudWatch
 * alarms where `/healthz` does. The template tests pin the values the issue asks for, so a
 * change of default shows up there.
 */
const serviceDefaults = parseConfig({});

/** Visibility, long poll, retention, DLQ retention, max receives, max message size. */
export const queueSettings = serviceDefaults.queue.settings;

/** ALARM_DLQ_DEPTH, ALARM_OLDEST_MESSAGE_AGE_S and ALARM_OUTBOX_PENDING defaults. */
export const alarmThresholds = {
  deadLetterDepth: serviceDefaults.alarms.deadLetterDepth,
  oldestMessageAgeSeconds: serviceDefaults.alarms.oldestMessageAgeSeconds,
  outboxPending: serviceDefaults.alarms.outboxPending,
} as const;
