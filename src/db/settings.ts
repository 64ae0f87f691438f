/**
 * A user's settings beside the default model (which lives with the models in models.ts): which
 * of their own columns the customers table shows, and their playbook.
 */
import type { Kysely } from 'kysely';
import type { Playbook } from '../model/playbook.js';
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
    .values({
      user_id: userId,
      default_model_id: null,
      table_columns: value,
      playbook: null,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ table_columns: value, updated_at: now }))
    .execute();
}

/** The user's own playbook; null when they use the service's default. */
export async function findPlaybook(db: Conn, userId: string): Promise<Playbook | null> {
  const row = await db
    .selectFrom('user_settings')
    .select('playbook')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.playbook ? (JSON.parse(row.playbook) as Playbook) : null;
}

/** Stores the user's playbook; null goes back to the service's default. */
export async function setPlaybook(
  db: Conn,
  userId: string,
  playbook: Playbook | null,
): Promise<void> {
  const now = nowIso();
  const value = playbook === null ? null : JSON.stringify(playbook);
  await db
    .insertInto('user_settings')
    .values({
      user_id: userId,
      default_model_id: null,
      table_columns: null,
      playbook: value,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ playbook: value, updated_at: now }))
    .execute();
}
