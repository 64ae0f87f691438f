/**
 * What a user's quotas are measured on, read from the database on both engines, and the lock
 * that makes "check the quota, then take it" atomic across API processes.
 */
import { type Kysely, PostgresAdapter, sql, type Transaction } from 'kysely';
import type { Database, Timestamp } from './schema.js';

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

/** The user's usage now; uploads are counted per day from `dayStart`. */
export async function readUsage(db: Conn, userId: string, dayStart: Timestamp): Promise<Usage> {
  const [uploads, today, results, predictions, trainings] = await Promise.all([
    db
      .selectFrom('uploads')
      .select(sql<number>`cast(coalesce(sum(bytes), 0) as bigint)`.as('bytes'))
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .where('state', 'in', STORED_OR_STORING)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('uploads')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('user_id', '=', userId)
      .where('created_at', '>=', dayStart)
      .where('state', 'in', STORED_OR_STORING)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('predictions')
      .select(sql<number>`cast(coalesce(sum(result_bytes), 0) as bigint)`.as('bytes'))
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('predictions')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('user_id', '=', userId)
      .where('status', 'in', ['queued', 'running'])
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('models')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('user_id', '=', userId)
      .where('status', '=', 'training')
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow(),
  ]);
  const uploadBytes = Number(uploads.bytes);
  const resultBytes = Number(results.bytes);
  return {
    storedBytes: uploadBytes + resultBytes,
    uploadBytes,
    resultBytes,
    uploadsToday: Number(today.count),
    activePredictions: Number(predictions.count),
    activeTrainings: Number(trainings.count),
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
