/**
 * A user's display settings: which of their own columns the customers table shows. (The default
 * model, also a setting, lives with the models in models.ts.)
 */
import type { Kysely } from 'kysely';
import { type Database, nowIso } from './schema.js';

type Conn = Kysely<Database>;

export async function findTableColumns(db: Conn, userId: string): Promise<string[]> {
  const row = await db
    .selectFrom('user_settings')
    .select('table_columns')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.table_columns ? (JSON.parse(row.table_columns) as string[]) : [];
}

export async function setTableColumns(db: Conn, userId: string, columns: string[]): Promise<void> {
  const now = nowIso();
  const value = JSON.stringify(columns);
  await db
    .insertInto('user_settings')
    .values({ user_id: userId, default_model_id: null, table_columns: value, updated_at: now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ table_columns: value, updated_at: now }))
    .execute();
}
