import { z } from 'zod';

/**
 * Per-user quotas and the per-user request rate, as the operator sets them. 0 means unlimited
 * (for the rate: no limit at all). Kept apart from index.ts so that the limits' variables, their
 * defaults and their reading live together.
 */
export interface QuotaConfig {
  /** Bytes a user may keep stored: uploads plus the results (and rows indexes) of predictions. */
  readonly storedBytes: number;
  /** Uploads a user may begin per UTC day (deleting one does not give it back). */
  readonly uploadsPerDay: number;
  /** Jobs a user may have waiting or running at once: queued + running predictions, trainings. */
  readonly activeJobs: number;
  /** Token bucket per user and API process: tokens added per second (0: no limit) and bucket size. */
  readonly rate: { readonly perSecond: number; readonly burst: number };
}

const GIB = 1024 ** 3;

const whole = (max: number, unlimited: string) => {
  const error = `must be a whole number from 0 to ${max}; 0 means ${unlimited}`;
  return z.coerce.number({ error }).int({ error }).min(0, { error }).max(max, { error });
};

/** The environment variables, named as the operator writes them (merged into index.ts's schema). */
export const quotaEnv = {
  QUOTA_STORED_BYTES: whole(2 ** 50, 'no limit on stored bytes').default(10 * GIB),
  QUOTA_UPLOADS_PER_DAY: whole(1_000_000, 'no limit on uploads a day').default(500),
  QUOTA_ACTIVE_JOBS: whole(1_000_000, 'no limit on queued and running jobs').default(100),
  RATE_LIMIT_PER_SECOND: z.coerce
    .number({ error: 'must be a number of requests per second from 0 to 100000; 0 turns it off' })
    .min(0, { error: 'must be from 0 to 100000; 0 turns the rate limit off' })
    .max(100_000, { error: 'must be from 0 to 100000; 0 turns the rate limit off' })
    .default(50),
  RATE_LIMIT_BURST: z.coerce
    .number({ error: 'must be a whole number of requests from 1 to 1000000' })
    .int({ error: 'must be a whole number of requests from 1 to 1000000' })
    .min(1, { error: 'must be a whole number of requests from 1 to 1000000' })
    .max(1_000_000, { error: 'must be a whole number of requests from 1 to 1000000' })
    .default(100),
};

type QuotaEnv = { [K in keyof typeof quotaEnv]: z.infer<(typeof quotaEnv)[K]> };

export function quotaConfig(e: QuotaEnv): QuotaConfig {
  return {
    storedBytes: e.QUOTA_STORED_BYTES,
    uploadsPerDay: e.QUOTA_UPLOADS_PER_DAY,
    activeJobs: e.QUOTA_ACTIVE_JOBS,
    rate: { perSecond: e.RATE_LIMIT_PER_SECOND, burst: e.RATE_LIMIT_BURST },
  };
}
