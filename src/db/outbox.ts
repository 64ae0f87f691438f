import type { ExpressionBuilder, Kysely } from 'kysely';
import { type Database, nowIso, type OutboxRow } from './schema.js';

type Conn = Kysely<Database>;

/**
 * A signed job for prediction or model `jobId`, sent by the relay once committed (and not before
 * `notBefore` when given: a webhook delivery's next attempt).
 */
export async function addToOutbox(
  db: Conn,
  jobId: string,
  body: string,
  notBefore?: string,
): Promise<void> {
  await db
    .insertInto('outbox')
    .values({
      job_id: jobId,
      body,
      created_at: nowIso(),
      attempts: 0,
      sent_at: null,
      last_error: null,
      ...(notBefore ? { not_before: notBefore } : {}),
    })
    .execute();
}

/** Rows scheduled for later are neither sent nor counted as a backlog until they are due. */
function isDue() {
  const now = nowIso();
  return (eb: ExpressionBuilder<Database, 'outbox'>) =>
    eb.or([eb('not_before', 'is', null), eb('not_before', '<=', now)]);
}

export async function pendingOutbox(db: Conn, limit: number): Promise<OutboxRow[]> {
  return db
    .selectFrom('outbox')
    .selectAll()
    .where('sent_at', 'is', null)
    .where(isDue())
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function markOutboxSent(db: Conn, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('outbox').set({ sent_at: nowIso() }).where('id', 'in', ids).execute();
}

export async function markOutboxFailed(
  db: Conn,
  ids: readonly number[],
  error: string,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('outbox')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error.slice(0, 1000) }))
    .where('id', 'in', ids)
    .execute();
}

export async function outboxBacklog(
  db: Conn,
): Promise<{ pending: number; oldestCreatedAt: string | null }> {
  const row = await db
    .selectFrom('outbox')
    .select((eb) => [
      eb.fn.countAll<number>().as('pending'),
      eb.fn
        // A scheduled row is waiting from when it came due, not from when it was written.
        .min(eb.fn.coalesce('not_before', 'created_at'))
        .as('oldest'),
    ])
    .where('sent_at', 'is', null)
    .where(isDue())
    .executeTakeFirstOrThrow();
  return { pending: Number(row.pending), oldestCreatedAt: (row.oldest as string | null) ?? null };
}

/** Sent rows are kept a while for audit, then removed. */
export async function pruneSentOutbox(db: Conn, olderThan: string): Promise<number> {
  const result = await db.deleteFrom('outbox').where('sent_at', '<', olderThan).executeTakeFirst();
  return Number(result.numDeletedRows);
}
