/**
 * What a user's quotas are measured on, read from the database on both engines, and the lock
 * that makes "check the quota, then take it" atomic across API processes.
 */
import { type Kysely, PostgresAdapter, sql, type Transaction } from 'kysely';
import { type Database, nowIso, type Timestamp } from './schema.js';

type Conn = Kysely<Database>;

/** A user's current use of what quotas limit. */
export interface Usage {
  /** Uploads kept (or being stored: their reservation) plus results, in bytes. */
  readonly storedBytes: number;
  readonly uploadBytes: number;
  readonly resultBytes: number;
  /** Uploads begun since `dayStart` that were not refused, deleted ones included. */
  readonly uploadsToday: number;
  /** Predictions queued or running, and models training: jobs waiting for or holding a worker. */
  readonly activePredictions: number;
  readonly activeTrainings: number;
}

/**
 * Runs `work` in a transaction that holds the user's quota lock, so that two requests of the same
 * user (in any process) check and take a quota one after the other, never both on the same count.
 * PostgreSQL: a transaction-scoped advisory lock on the user, so other users never wait. SQLite
 * has one writer per file: a write statement at the start takes it (every connection then waits
 * its turn through busy_timeout), rather than failing later when a read snapshot turns stale.
 */
export async function withUserQuotaLock<T>(
  db: Conn,
  userId: string,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    if (isPostgres(db)) {
      await sql`select pg_advisory_xact_lock(hashtextextended(${`churnline_quota:${userId}`}, 0))`.execute(
        trx,
      );
    } else {
      await sql`update uploads set state = state where 0 = 1`.execute(trx);
    }
    return work(trx);
  });
}

function isPostgres(db: Conn): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

const STORED_OR_STORING = ['stored', 'storing'] as const;

/**
 * The user's usage now; uploads are counted per day from `dayStart`. One statement of five
 * subqueries (each on an index by user): one round trip, as the quota checks run on every upload
 * and submission.
 */
export async function readUsage(db: Conn, userId: string, dayStart: Timestamp): Promise<Usage> {
  const row = await db
    .selectNoFrom((eb) => [
      eb
        .selectFrom('uploads')
        .select(sql<number>`cast(coalesce(sum(bytes), 0) as bigint)`.as('v'))
        .where('user_id', '=', userId)
        .where('deleted_at', 'is', null)
        .where('state', 'in', STORED_OR_STORING)
        .as('upload_bytes'),
      eb
        .selectFrom('uploads')
        .select((inner) => inner.fn.countAll<number>().as('v'))
        .where('user_id', '=', userId)
        .where('created_at', '>=', dayStart)
        .where('state', 'in', STORED_OR_STORING)
        .as('uploads_today'),
      eb
        .selectFrom('predictions')
        .select(sql<number>`cast(coalesce(sum(result_bytes), 0) as bigint)`.as('v'))
        .where('user_id', '=', userId)
        .where('deleted_at', 'is', null)
        .as('result_bytes'),
      eb
        .selectFrom('predictions')
        .select((inner) => inner.fn.countAll<number>().as('v'))
        .where('user_id', '=', userId)
        .where('status', 'in', ['queued', 'running'])
        .where('deleted_at', 'is', null)
        .as('active_predictions'),
      eb
        .selectFrom('models')
        .select((inner) => inner.fn.countAll<number>().as('v'))
        .where('user_id', '=', userId)
        .where('status', '=', 'training')
        .where('deleted_at', 'is', null)
        .as('active_trainings'),
    ])
    .executeTakeFirstOrThrow();
  const uploadBytes = Number(row.upload_bytes ?? 0);
  const resultBytes = Number(row.result_bytes ?? 0);
  return {
    storedBytes: uploadBytes + resultBytes,
    uploadBytes,
    resultBytes,
    uploadsToday: Number(row.uploads_today ?? 0),
    activePredictions: Number(row.active_predictions ?? 0),
    activeTrainings: Number(row.active_trainings ?? 0),
  };
}

/** Queued or running predictions and trainings that read this upload (it must stay until they end). */
export async function jobsReadingUpload(db: Conn, uploadId: string): Promise<number> {
  const [predictions, trainings] = await Promise.all([
    db
      .selectFrom('predictions')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('upload_id', '=', uploadId)
      .where('status', 'in', ['queued', 'running'])
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('models')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('upload_id', '=', uploadId)
      .where('status', '=', 'training')
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow(),
  ]);
  return Number(predictions.count) + Number(trainings.count);
}

/** A user's own limits, each undefined where the configured default applies. */
export interface QuotaOverrides {
  readonly storedBytes?: number;
  readonly uploadsPerDay?: number;
  readonly activeJobs?: number;
  readonly ratePerSecond?: number;
  readonly rateBurst?: number;
}

/** A change of overrides: a number sets one, null goes back to the default, absent keeps it. */
export type QuotaOverridesChange = { [K in keyof QuotaOverrides]?: number | null };

const COLUMNS = {
  storedBytes: 'stored_bytes',
  uploadsPerDay: 'uploads_per_day',
  activeJobs: 'active_jobs',
  ratePerSecond: 'rate_per_second',
  rateBurst: 'rate_burst',
} as const;

/** The user's overrides, or undefined when the operator set none. */
export async function findQuotaOverrides(
  db: Conn,
  userId: string,
): Promise<QuotaOverrides | undefined> {
  const row = await db
    .selectFrom('user_quotas')
    .selectAll()
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) return undefined;
  const overrides: Record<string, number> = {};
  for (const [key, column] of Object.entries(COLUMNS)) {
    const value = row[column];
    if (value !== null) overrides[key] = Number(value);
  }
  return overrides;
}

/** Applies a change to the user's overrides (creating them), and returns them as they are now. */
export async function setQuotaOverrides(
  db: Conn,
  userId: string,
  change: QuotaOverridesChange,
): Promise<QuotaOverrides> {
  const set: Record<string, number | null> = {};
  for (const [key, column] of Object.entries(COLUMNS)) {
    const value = change[key as keyof QuotaOverridesChange];
    if (value !== undefined) set[column] = value;
  }
  const updatedAt = nowIso();
  await db
    .insertInto('user_quotas')
    .values({
      user_id: userId,
      stored_bytes: null,
      uploads_per_day: null,
      active_jobs: null,
      rate_per_second: null,
      rate_burst: null,
      ...set,
      updated_at: updatedAt,
    })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...set, updated_at: updatedAt }))
    .execute();
  return (await findQuotaOverrides(db, userId)) ?? {};
}

/** Removes all of the user's overrides: the configured defaults apply again. */
export async function clearQuotaOverrides(db: Conn, userId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('user_quotas')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
