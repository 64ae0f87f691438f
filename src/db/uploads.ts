import type { Kysely } from 'kysely';
import type { Database, NewUpload, Upload } from './schema.js';

type Conn = Kysely<Database>;

export async function insertUpload(db: Conn, upload: NewUpload): Promise<void> {
  await db.insertInto('uploads').values(upload).execute();
}

/** The user's upload, or undefined when it does not exist, is deleted, or is someone else's. */
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
    .executeTakeFirst();
}

export async function listUploads(db: Conn, userId: string, limit: number): Promise<Upload[]> {
  return db
    .selectFrom('uploads')
    .selectAll()
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
