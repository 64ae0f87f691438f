/**
 * Models users train: a row per model, `training` until its job stores the model file and marks
 * it `ready` (or `failed`); and each user's default model. A model is usable only when ready.
 */
import type { Kysely } from 'kysely';
import { type Database, nowIso, type UserModel } from './schema.js';

type Conn = Kysely<Database>;

export type NewUserModel = Pick<
  UserModel,
  | 'id'
  | 'user_id'
  | 'name'
  | 'upload_id'
  | 'label'
  | 'positive_value'
  | 'as_of'
  | 'tier_rule'
  | 'created_at'
>;

export async function insertModel(db: Conn, model: NewUserModel): Promise<UserModel> {
  const row: UserModel = {
    ...model,
    progress: null,
    status: 'training',
    attempts: 0,
    object_key: null,
    summary: null,
    error_code: null,
    error_message: null,
    started_at: null,
    completed_at: null,
    updated_at: model.created_at,
    deleted_at: null,
  };
  await db.insertInto('models').values(row).execute();
  return row;
}

/** The user's model, or undefined when it does not exist, is deleted, or is someone else's. */
export async function findModel(
  db: Conn,
  userId: string,
  id: string,
): Promise<UserModel | undefined> {
  return db
    .selectFrom('models')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** For the worker: the model whatever its owner or deletion, so it can judge the job. */
export async function getModelForJob(db: Conn, id: string): Promise<UserModel | undefined> {
  return db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The user's models, newest first (a user has tens, not thousands: no paging). */
export async function listModels(db: Conn, userId: string): Promise<UserModel[]> {
  return db
    .selectFrom('models')
    .selectAll()
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(500)
    .execute();
}

/** Claims a training attempt; false once the model is ready or failed (a duplicate delivery). */
export async function startTrainingAttempt(db: Conn, id: string): Promise<boolean> {
  const now = nowIso();
  const result = await db
    .updateTable('models')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      started_at: eb.fn.coalesce('started_at', eb.val(now)),
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('status', '=', 'training')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Records how far training is; nothing once the model is no longer training. */
export async function recordTrainingProgress(
  db: Conn,
  id: string,
  progress: unknown,
): Promise<void> {
  await db
    .updateTable('models')
    .set({ progress: JSON.stringify(progress), updated_at: nowIso() })
    .where('id', '=', id)
    .where('status', '=', 'training')
    .where('deleted_at', 'is', null)
    .execute();
}

/**
 * Marks the model ready with its stored file, unless another delivery ended it first or its owner
 * deleted it meanwhile; false then, and the caller removes the file it wrote.
 */
export async function completeModel(
  db: Conn,
  id: string,
  done: { objectKey: string; summary: unknown },
): Promise<boolean> {
  const now = nowIso();
  const result = await db
    .updateTable('models')
    .set({
      status: 'ready',
      object_key: done.objectKey,
      summary: JSON.stringify(done.summary),
      completed_at: now,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('status', '=', 'training')
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function failModel(
  db: Conn,
  id: string,
  failure: { code: string; message: string },
): Promise<boolean> {
  const now = nowIso();
  const result = await db
    .updateTable('models')
    .set({
      status: 'failed',
      error_code: failure.code,
      error_message: failure.message,
      completed_at: now,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('status', '=', 'training')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Soft delete, so a training job still queued can tell "deleted" from "forged". */
export async function softDeleteModel(
  db: Conn,
  userId: string,
  id: string,
): Promise<UserModel | undefined> {
  const model = await findModel(db, userId, id);
  if (!model) return undefined;
  await db
    .updateTable('models')
    .set({ deleted_at: nowIso(), updated_at: nowIso() })
    .where('id', '=', id)
    .execute();
  await db
    .updateTable('user_settings')
    .set({ default_model_id: null, updated_at: nowIso() })
    .where('user_id', '=', userId)
    .where('default_model_id', '=', id)
    .execute();
  return model;
}

export async function findDefaultModel(db: Conn, userId: string): Promise<string | null> {
  const row = await db
    .selectFrom('user_settings')
    .select('default_model_id')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.default_model_id ?? null;
}

export async function setDefaultModel(
  db: Conn,
  userId: string,
  modelId: string | null,
): Promise<void> {
  const now = nowIso();
  await db
    .insertInto('user_settings')
    .values({
      user_id: userId,
      default_model_id: modelId,
      table_columns: null,
      playbook: null,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({ default_model_id: modelId, updated_at: now }),
    )
    .execute();
}
