/**
 * A user's choices of column per model input for one upload and model (PUT
 * /v1/uploads/{id}/mapping). Read by the fit report and fixed into a prediction when it is made.
 */
import type { Kysely } from 'kysely';
import { type Database, nowIso } from './schema.js';

type Conn = Kysely<Database>;

export type ColumnOverrides = Record<string, string>;

export async function findColumnOverrides(
  db: Conn,
  userId: string,
  uploadId: string,
  modelId: string,
): Promise<ColumnOverrides> {
  const row = await db
    .selectFrom('column_mappings')
    .select('overrides')
    .where('upload_id', '=', uploadId)
    .where('model_id', '=', modelId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? (JSON.parse(row.overrides) as ColumnOverrides) : {};
}

/** Replaces the choices for this upload and model; an empty set removes the row. */
export async function saveColumnOverrides(
  db: Conn,
  key: { userId: string; uploadId: string; modelId: string },
  overrides: ColumnOverrides,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('column_mappings')
      .where('upload_id', '=', key.uploadId)
      .where('model_id', '=', key.modelId)
      .where('user_id', '=', key.userId)
      .execute();
    if (Object.keys(overrides).length === 0) return;
    await trx
      .insertInto('column_mappings')
      .values({
        upload_id: key.uploadId,
        model_id: key.modelId,
        user_id: key.userId,
        overrides: JSON.stringify(overrides),
        updated_at: nowIso(),
      })
      .execute();
  });
}
