import type { Kysely } from 'kysely';
import { type Database, type NewUpload, nowIso, type Timestamp, type Upload } from './schema.js';

type Conn = Kysely<Database>;

/** A whole upload in one step, for rows whose object is already stored (tests, imports). */
export async function insertUpload(db: Conn, upload: NewUpload): Promise<void> {
  await db.insertInto('uploads').values(upload).execute();
}

export interface UploadIntent {
  readonly id: string;
  readonly user_id: string;
  readonly filename: string;
  readonly object_key: string;
  readonly created_at: Timestamp;
}

/**
 * Records an upload before its object is written, so that a process that dies mid-upload leaves a
 * row the sweep finds rather than an object nothing points to. Until finishUpload records its
 * size, `bytes` holds what the upload reserved of the user's stored-bytes quota (0 when nothing
 * is reserved); no read path shows a row that is not `stored`.
 */
export async function beginUpload(
  db: Conn,
  intent: UploadIntent,
  reservedBytes = 0,
): Promise<void> {
  await db
    .insertInto('uploads')
    .values({
      ...intent,
      bytes: reservedBytes,
      sha256: '',
      row_count: 0,
      deleted_at: null,
      state: 'storing',
    })
    .execute();
}

/** What the upload route learnt of a file as it was stored. */
export interface StoredUpload {
  bytes: number;
  sha256: string;
  row_count: number;
  /** JSON record starts (CsvSniffer.splits); null or absent for a file too small to split. */
  splits?: string | null;
}

/**
 * Marks a begun upload whole. False when it is no longer `storing`: the sweep took it for
 * abandoned (an upload slower than the limit), and its object must not be kept.
 */

export async function finishUpload(db: Conn, id: string, stored: StoredUpload): Promise<boolean> {
  const result = await db
    .updateTable('uploads')
    .set({ ...stored, state: 'stored' })
    .where('id', '=', id)
    .where('state', '=', 'storing')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Removes the row of an upload that never became whole (refused, failed or abandoned). */
export async function deleteUnfinishedUpload(db: Conn, id: string): Promise<void> {
  await db.deleteFrom('uploads').where('id', '=', id).where('state', '<>', 'stored').execute();
}

/**
 * Claims uploads begun before `startedBefore` and still `storing` for removal. Claiming first
 * (rather than deleting the row, then the object) means a sweep that dies half-way leaves rows in
 * `removing` for the next sweep, never an object without a row; and the slow upload's
 * finishUpload then sees that it lost.
 */
export async function claimAbandonedUploads(db: Conn, startedBefore: Timestamp): Promise<number> {
  const result = await db
    .updateTable('uploads')
    .set({ state: 'removing' })
    .where('state', '=', 'storing')
    .where('created_at', '<', startedBefore)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Uploads claimed for removal, oldest first (those of a sweep that died included). */
export async function uploadsToRemove(
  db: Conn,
  limit: number,
): Promise<Array<Pick<Upload, 'id' | 'user_id'>>> {
  return db
    .selectFrom('uploads')
    .select(['id', 'user_id'])
    .where('state', '=', 'removing')
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * The user's upload, or undefined when it does not exist, is deleted, is someone else's or is not
 * whole yet.
 */
export async function findUpload(
  db: Conn,
  userId: string,
  id: string,
): Promise<Upload | undefined> {
  return db
    .selectFrom('uploads')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .where('state', '=', 'stored')
    .executeTakeFirst();
}

export async function listUploads(db: Conn, userId: string, limit: number): Promise<Upload[]> {
  return db
    .selectFrom('uploads')
    .selectAll()
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .where('state', '=', 'stored')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/**
 * Deletes a stored upload of the user's (its row stays, marked deleted, so that its predictions
 * keep their file name and the day's upload count stays as it was). Returns the upload, or
 * undefined when the user has no such upload.
 */
export async function softDeleteUpload(
  db: Conn,
  userId: string,
  id: string,
): Promise<Upload | undefined> {
  const found = await findUpload(db, userId, id);
  if (!found) return undefined;
  await db.updateTable('uploads').set({ deleted_at: nowIso() }).where('id', '=', id).execute();
  return found;
}
