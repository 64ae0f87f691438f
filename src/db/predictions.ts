import type { Kysely } from 'kysely';
import { deleteCustomerHistory } from './customer-history.js';
import type { CursorPosition } from './pagination.js';
import {
  type Database,
  type NewPrediction,
  nowIso,
  type Prediction,
  type PredictionStatus,
} from './schema.js';

type Conn = Kysely<Database>;

export const TERMINAL_STATUSES: readonly PredictionStatus[] = ['completed', 'failed', 'cancelled'];

export async function insertPrediction(db: Conn, prediction: NewPrediction): Promise<void> {
  await db.insertInto('predictions').values(prediction).execute();
}

/** The user's prediction, or undefined when it does not exist, is deleted, or is someone else's. */
export async function findPrediction(
  db: Conn,
  userId: string,
  id: string,
): Promise<Prediction | undefined> {
  return db
    .selectFrom('predictions')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** For the worker: the prediction whatever its owner or deletion, so it can judge the job. */
export async function getPredictionForJob(db: Conn, id: string): Promise<Prediction | undefined> {
  return db.selectFrom('predictions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listPredictions(
  db: Conn,
  userId: string,
  options: { status?: PredictionStatus; after?: CursorPosition; limit: number },
): Promise<Prediction[]> {
  let query = db
    .selectFrom('predictions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null);
  if (options.status) query = query.where('status', '=', options.status);
  const after = options.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)]),
      ]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
}

/**
 * Claims the prediction for an attempt: queued or running (a previous attempt died) becomes
 * running. Returns false when it is already terminal, so a duplicate delivery does nothing.
 */
export async function startAttempt(db: Conn, id: string): Promise<boolean> {
  const now = nowIso();
  const result = await db
    .updateTable('predictions')
    .set((eb) => ({
      status: 'running',
      attempts: eb('attempts', '+', 1),
      started_at: eb.fn.coalesce('started_at', eb.val(now)),
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface Completion {
  rowsScored: number;
  rowsFailed: number;
  summary: unknown;
  resultKey: string;
  /** The rows index written with the results, when there is one. */
  rowsIndexKey?: string | null;
  /** Bytes stored for it (results and rows index), counted in the user's quota. */
  resultBytes?: number;
}

/** Marks completed unless another delivery finished first; returns whether this call did it. */
export async function completePrediction(
  db: Conn,
  id: string,
  completion: Completion,
): Promise<boolean> {
  const now = nowIso();
  const result = await db
    .updateTable('predictions')
    .set({
      status: 'completed',
      rows_scored: completion.rowsScored,
      rows_failed: completion.rowsFailed,
      summary: JSON.stringify(completion.summary),
      result_key: completion.resultKey,
      rows_index_key: completion.rowsIndexKey ?? null,
      result_bytes: completion.resultBytes ?? null,
      error_code: null,
      error_message: null,
      completed_at: now,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('status', 'not in', TERMINAL_STATUSES)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Marks failed with a message safe to show the user, unless it already reached a terminal state. */
export async function failPrediction(
  db: Conn,
  id: string,
  failure: { code: string; message: string },
): Promise<boolean> {
  const now = nowIso();
  const result = await db
    .updateTable('predictions')
    .set({
      status: 'failed',
      error_code: failure.code,
      error_message: failure.message,
      completed_at: now,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('status', 'not in', TERMINAL_STATUSES)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function softDeletePrediction(
  db: Conn,
  userId: string,
  id: string,
): Promise<Prediction | undefined> {
  const found = await findPrediction(db, userId, id);
  if (!found) return undefined;
  const now = nowIso();
  await db
    .updateTable('predictions')
    .set({ deleted_at: now, updated_at: now })
    .where('id', '=', id)
    .execute();
  // Its customers leave the history with it (the rows are never read once it is deleted).
  await deleteCustomerHistory(db, id);
  return found;
}

/**
 * Records how many rows a running attempt has scored. False when the prediction is no longer
 * running for it (cancelled, deleted, or ended by another delivery): the attempt should stop.
 */
export async function recordScoringProgress(db: Conn, id: string, rows: number): Promise<boolean> {
  const result = await db
    .updateTable('predictions')
    .set({ rows_scored: rows, updated_at: nowIso() })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Cancels the user's queued or running prediction. A queued one's job is skipped when it
 * arrives; a running one's attempt stops at its next progress report and discards what it
 * wrote. Returns the prediction as it now is (or was, when it had already ended).
 */
export async function cancelPrediction(
  db: Conn,
  userId: string,
  id: string,
): Promise<{ cancelled: boolean; prediction: Prediction } | undefined> {
  const now = nowIso();
  const result = await db
    .updateTable('predictions')
    .set({
      status: 'cancelled',
      error_code: 'cancelled',
      error_message: 'You cancelled this prediction.',
      completed_at: now,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  const prediction = await findPrediction(db, userId, id);
  return prediction && { cancelled: Number(result.numUpdatedRows) === 1, prediction };
}
