/**
 * Per-user quotas, checked before work is accepted: stored bytes (uploads and results), uploads a
 * UTC day, and jobs queued or running. Each check runs in the transaction that takes what it
 * checks (the upload's row, the job's row), under the user's quota lock (src/db/quotas.ts), so
 * concurrent requests in any number of API processes are counted one after the other.
 *
 * Stored bytes are also held while an upload streams: it reserves its Content-Length (what is
 * left when less) before reading, so two uploads cannot both fill the same free space, and it is
 * cut off at what was left when it began. A chunked upload, whose size is unknown, reserves
 * nothing; its size is checked again when it is whole. Results are counted once written: a
 * prediction accepted with space left may take the user past the limit, and the next upload or
 * prediction is then refused.
 */
import type { Transaction } from 'kysely';
import type { QuotaConfig } from '../config/quotas.js';
import type { Db } from '../db/connect.js';
import { findQuotaOverrides, readUsage, type Usage, withUserQuotaLock } from '../db/quotas.js';
import type { Database } from '../db/schema.js';
import {
  beginUpload,
  findUpload,
  finishUpload,
  type StoredUpload,
  type UploadIntent,
} from '../db/uploads.js';
import type { SubmitTransaction } from '../jobs/submit.js';
import { ApiError, notFound } from './errors.js';
import type { RateLimitSettings } from './rate-limit.js';

/** At most this much of a multipart body is not the file (boundaries, part headers, fields). */
const MULTIPART_OVERHEAD_BYTES = 16 * 1024;

/** How soon to look again when active jobs are at their cap: a small job takes seconds. */
export const ACTIVE_JOBS_RETRY_AFTER_S = 30;

export interface UsageNow extends Usage {
  readonly dayStart: Date;
  readonly dayEnd: Date;
}

export interface UploadReservation {
  /** Bytes the upload may stream: the server's limit, or what is left of the quota when less. */
  readonly maxBytes: number;
  /** Whether `maxBytes` is the quota's (then going over it is a quota refusal). */
  readonly quotaBound: boolean;
  readonly reserved: number;
}

/** How long an API process keeps a user's rate limit before reading their overrides again. */
export const RATE_SETTINGS_TTL_MS = 60_000;
const RATE_SETTINGS_KEPT = 10_000;

type Conn = Db | Transaction<Database>;

export class Quotas {
  private readonly rates = new Map<string, { settings: RateLimitSettings; until: number }>();

  constructor(
    private readonly db: Db,
    /** The operator's defaults; a user's overrides in the database take precedence. */
    readonly defaults: QuotaConfig,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The user's limits: the defaults with the operator's overrides for this user, if any. */
  async limitsFor(db: Conn, userId: string): Promise<QuotaConfig> {
    const own = await findQuotaOverrides(db, userId);
    if (!own) return this.defaults;
    return {
      storedBytes: own.storedBytes ?? this.defaults.storedBytes,
      uploadsPerDay: own.uploadsPerDay ?? this.defaults.uploadsPerDay,
      activeJobs: own.activeJobs ?? this.defaults.activeJobs,
      rate: {
        perSecond: own.ratePerSecond ?? this.defaults.rate.perSecond,
        burst: own.rateBurst ?? this.defaults.rate.burst,
      },
    };
  }

  async usage(userId: string): Promise<{ usage: UsageNow; limits: QuotaConfig }> {
    const [usage, limits] = await Promise.all([
      this.usageIn(this.db, userId),
      this.limitsFor(this.db, userId),
    ]);
    return { usage, limits };
  }

  /**
   * The user's rate limit, read from the database at most once a minute per process (every
   * request needs it). While the database cannot answer, the default applies.
   */
  async rateFor(userId: string): Promise<RateLimitSettings> {
    const now = Date.now();
    const kept = this.rates.get(userId);
    if (kept && kept.until > now) return kept.settings;
    let settings: RateLimitSettings;
    try {
      settings = (await this.limitsFor(this.db, userId)).rate;
    } catch {
      return this.defaults.rate;
    }
    if (this.rates.size >= RATE_SETTINGS_KEPT) this.rates.clear();
    this.rates.set(userId, { settings, until: now + RATE_SETTINGS_TTL_MS });
    return settings;
  }

  /**
   * Checks the day's uploads and the stored bytes, then records the upload as begun with its
   * reservation, in one locked transaction. `contentLength` is the request's, when it has one.
   */
  async beginUpload(
    intent: UploadIntent,
    contentLength: number | undefined,
    uploadMaxBytes: number,
  ): Promise<UploadReservation> {
    return withUserQuotaLock(this.db, intent.user_id, async (trx) => {
      const { storedBytes, uploadsPerDay } = await this.limitsFor(trx, intent.user_id);
      const unlimited = { maxBytes: uploadMaxBytes, quotaBound: false, reserved: 0 };
      if (storedBytes === 0 && uploadsPerDay === 0) {
        // Nothing to count (the operator turned both off for this user).
        await beginUpload(trx, intent, 0);
        return unlimited;
      }
      const usage = await this.usageIn(trx, intent.user_id);
      if (uploadsPerDay > 0 && usage.uploadsToday >= uploadsPerDay) {
        throw uploadsPerDayError(uploadsPerDay, usage, this.clock());
      }
      let reservation: UploadReservation = unlimited;
      if (storedBytes > 0) {
        const left = storedBytes - usage.storedBytes;
        const fileAtLeast =
          contentLength === undefined ? 0 : Math.max(0, contentLength - MULTIPART_OVERHEAD_BYTES);
        if (left <= 0 || fileAtLeast > left) {
          throw storedBytesError(storedBytes, usage, { requested: contentLength });
        }
        reservation = {
          maxBytes: Math.min(uploadMaxBytes, left),
          quotaBound: left < uploadMaxBytes,
          reserved: contentLength === undefined ? 0 : Math.min(contentLength, left),
        };
      }
      await beginUpload(trx, intent, reservation.reserved);
      return reservation;
    });
  }

  /**
   * Marks the upload whole. Within its reservation it always fits; beyond it (a chunked body),
   * the bytes stored by everything else are counted again first. False when the sweep took the
   * upload for abandoned meanwhile (as finishUpload).
   */
  async finishUpload(
    intent: UploadIntent,
    reservation: UploadReservation,
    stored: StoredUpload,
  ): Promise<boolean> {
    return withUserQuotaLock(this.db, intent.user_id, async (trx) => {
      const limit = (await this.limitsFor(trx, intent.user_id)).storedBytes;
      if (limit > 0 && stored.bytes > reservation.reserved) {
        const usage = await this.usageIn(trx, intent.user_id);
        const others = usage.storedBytes - reservation.reserved;
        if (others + stored.bytes > limit) {
          throw storedBytesError(limit, usage, { requested: stored.bytes }, others);
        }
      }
      return finishUpload(trx, intent.id, stored);
    });
  }

  /**
   * The transaction a job (prediction or training) of `uploadId` is submitted in: the user's
   * active jobs must be under their cap, the stored bytes under theirs (a job stores results or a
   * model), and the upload still there (it could have been deleted since it was read).
   */
  jobTransaction(uploadId: string): SubmitTransaction {
    return (db, userId, work) =>
      withUserQuotaLock(db, userId, async (trx) => {
        const { activeJobs, storedBytes } = await this.limitsFor(trx, userId);
        if (activeJobs > 0 || storedBytes > 0) {
          const usage = await this.usageIn(trx, userId);
          const active = usage.activePredictions + usage.activeTrainings;
          if (activeJobs > 0 && active >= activeJobs) throw activeJobsError(activeJobs, active);
          if (storedBytes > 0 && usage.storedBytes >= storedBytes) {
            throw storedBytesError(storedBytes, usage, 'job');
          }
        }
        if (!(await findUpload(trx, userId, uploadId))) throw notFound('upload');
        return work(trx);
      });
  }

  /** The refusal for an upload cut off once it passed the `left` bytes the quota had. */
  async storedBytesRefusal(userId: string, left: number): Promise<ApiError> {
    const { usage, limits } = await this.usage(userId);
    return storedBytesError(limits.storedBytes, usage, { passed: left });
  }

  private async usageIn(db: Conn, userId: string): Promise<UsageNow> {
    const now = this.clock();
    const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const dayEnd = new Date(dayStart.getTime() + 86_400_000);
    const usage = await readUsage(db, userId, dayStart.toISOString());
    return { ...usage, dayStart, dayEnd };
  }
}

/** 1.2 GiB, 340 MiB, 12 KiB, 512 bytes: how the messages say sizes. */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 'bytes';
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  if (unit === 'bytes') return `${bytes} bytes`;
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value)} ${unit}`;
}

const FREE_SPACE =
  "Delete predictions or uploads you no longer need (DELETE /v1/predictions/{id}, DELETE /v1/uploads/{id}, or the dashboard's Usage page)";

/**
 * What was refused: a job, an upload of a known size, one cut off once past what was left, or
 * one of unknown size when nothing is left.
 */
type StoredBytesRefused = 'job' | { requested?: number } | { passed: number };

function storedBytesError(
  limit: number,
  usage: Usage,
  refused: StoredBytesRefused,
  usedByOthers = usage.storedBytes,
): ApiError {
  const holds = `Your account stores ${formatBytes(usedByOthers)} of its ${formatBytes(limit)} (uploads ${formatBytes(usage.uploadBytes)}, results ${formatBytes(usage.resultBytes)})`;
  const requested = refused !== 'job' && 'requested' in refused ? refused.requested : undefined;
  const why =
    refused === 'job'
      ? 'a prediction or training stores its results, so none is accepted while the account is full'
      : 'passed' in refused
        ? `this upload went past the ${formatBytes(refused.passed)} that were left and was stopped there`
        : requested !== undefined
          ? `this upload (${formatBytes(requested)}) does not fit in what is left`
          : 'there is no room left for an upload';
  return new ApiError(
    409,
    'stored_bytes_quota',
    `${holds}: ${why}. Nothing was stored. ${FREE_SPACE}, then try again.`,
    {},
    {
      quota: {
        name: 'stored_bytes',
        limit,
        used: usedByOthers,
        ...(requested !== undefined ? { requested } : {}),
      },
    },
  );
}

function uploadsPerDayError(limit: number, usage: UsageNow, now: Date): ApiError {
  const seconds = Math.max(1, Math.ceil((usage.dayEnd.getTime() - now.getTime()) / 1000));
  const resetsAt = usage.dayEnd.toISOString();
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.ceil((seconds % 3600) / 60);
  return new ApiError(
    429,
    'uploads_per_day_quota',
    `You have made ${usage.uploadsToday} uploads today, the most this account may make in a day (UTC). Uploads are accepted again from ${resetsAt} (in ${hours} h ${minutes} min); deleting uploads does not give any back. Nothing was stored.`,
    { 'retry-after': String(seconds) },
    { quota: { name: 'uploads_per_day', limit, used: usage.uploadsToday, resetsAt } },
  );
}

function activeJobsError(limit: number, active: number): ApiError {
  return new ApiError(
    429,
    'active_jobs_quota',
    `You have ${active} predictions and trainings queued or running, the most this account may have at once. Wait for some to finish, or cancel predictions you no longer need (POST /v1/predictions/{id}/cancel), then submit this again (nothing was queued).`,
    { 'retry-after': String(ACTIVE_JOBS_RETRY_AFTER_S) },
    { quota: { name: 'active_jobs', limit, used: active } },
  );
}
